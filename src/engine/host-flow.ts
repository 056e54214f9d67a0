/**
 * The per-host state machine. One call runs one host to a terminal state:
 *
 *   apply:    connect → `plan` op per service (read-only snapshot + diff) → before-snapshots made durable
 *             (fsync) → `apply` op per service with expectedHash = that snapshot's hash (the remote drift guard)
 *   plan:     connect → `plan` op per service
 *   rollback: connect → `rollback` op per service (journaled snapshot, or the host's own backup of a run)
 *
 * Safety rules this file exists to keep:
 * - No apply request leaves before the before-snapshot of that host is on disk (SnapshotStore resolves after fsync).
 * - Only connection errors before anything changed are retried (TransportError in the connect/auth phase).
 * - A host whose apply was sent and whose connection then failed ends `unknown`, never `failed`: its state
 *   is not known; `resume` / `rollback` settle it from the journaled snapshot.
 * - Several services on one host change as a unit: when one fails, those already changed are restored.
 */
import {
  PROTOCOL_VERSION,
  type FieldChange,
  type Operation,
  type RemoteEvent,
  type RemotePhase,
  type RemoteResult,
  type Snapshot,
} from '../remote/protocol.js';
import { newNonce, type OutgoingRequest } from '../remote/invocation.js';
import { TransportError, type Deadlines, type Session } from '../transport/types.js';
import type { ActiveState, HostDoneEvent, RunAbortEvent, RunMode, TerminalState } from './events.js';
import type { EventBody } from './bus.js';
import { worstOutcome } from './outcome.js';
import { boundEvidence, scrubFieldChanges } from './scrub.js';
import { Secret } from '../util/secret.js';
import { linkSignals, type LinkedSignal } from '../util/linked-signal.js';
import type { EngineIO, HostTask, ServiceChange, ServiceRestore, SnapshotStore } from './types.js';

/** Why a host's signal fired: the run was cancelled (second Ctrl-C, abort cancel) or its own deadline passed. */
export type HostAbortReason = { kind: 'cancel' } | { kind: 'deadline' };

/** Why a host's `halt` signal fired: the run was aborted (Ctrl-C, a signal, the dashboard, the failure budget). */
export interface HostHaltReason {
  kind: 'halt';
  abort: RunAbortEvent['reason'];
}

export interface HostContext {
  runId: string;
  mode: RunMode;
  task: HostTask;
  io: EngineIO;
  snapshots?: SnapshotStore;
  deadlines: Deadlines;
  retries: number;
  retryBaseMs: number;
  rollbackMs: number;
  /** Fires on cancel or on the host deadline; `signal.reason` is a HostAbortReason. */
  signal: AbortSignal;
  /** Epoch ms after which the host's deadline has passed (Infinity: none). */
  deadlineAt: number;
  /**
   * Fires when the run is aborted; `signal.reason` is a HostHaltReason. A host that has not sent an apply request
   * yet (connecting, in retry backoff, planning) stops there and ends `skipped`: an abort means no host starts
   * changing any more. Once a change was sent, the host finishes it.
   */
  halt?: AbortSignal;
  emit: (body: EventBody) => void;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A service whose apply request was sent, with the durable before-snapshot it can be restored to. */
export interface AppliedService {
  service: string;
  snapshot: Snapshot;
}

export interface HostResult {
  outcome: TerminalState;
  reason: HostDoneEvent['reason'];
  message: string;
  attempts: number;
  service?: string;
  /** Services whose apply was sent (changed or maybe changed), for a later rollback command. */
  applied: AppliedService[];
}

const PHASE_STATE: Record<RemotePhase, ActiveState | undefined> = {
  start: undefined,
  snapshot: 'snapshot',
  plan: 'snapshot',
  backup: 'backup',
  apply: 'applying',
  readback: 'applying',
  stop: 'restarting',
  'start-service': 'restarting',
  verify: 'verifying',
  rollback: 'rolling-back',
  'rollback-verify': 'rolling-back',
  done: undefined,
};

/** Connection errors worth another try: nothing reached the host, or it did not answer in time. */
export function isRetryableConnectError(err: unknown): boolean {
  // auth-failed / hostkey-unknown / hostkey-mismatch / tls-untrusted are not retried: they cannot heal by themselves, and
  // repeating a bad password is how accounts get locked out.
  return (
    err instanceof TransportError && (err.phase === 'connect' || err.phase === 'auth') && (err.errorClass === 'unreachable' || err.errorClass === 'timeout')
  );
}

class HostRunner {
  attempts = 0;
  #state: ActiveState | undefined;
  #remotePhase: RemotePhase | undefined;
  readonly applied: AppliedService[] = [];
  readonly #host: string;

  constructor(readonly ctx: HostContext) {
    this.#host = ctx.task.host.name;
  }

  /** The run was aborted and this host has sent no change yet: it must not send one. */
  halted(): boolean {
    return this.applied.length === 0 && this.ctx.halt?.aborted === true;
  }

  /**
   * For the read-only steps before any change (connect, backoff, plan): fires on cancel, deadline or halt.
   * Unlink it when the host is done (linked-signal.ts says why not AbortSignal.any).
   */
  beforeChangeSignal(): LinkedSignal {
    const { signal, halt } = this.ctx;
    return halt ? linkSignals([signal, halt]) : { signal, dispose: () => undefined };
  }

  phase(state: ActiveState, remotePhase?: RemotePhase, service?: string): void {
    if (state === this.#state && remotePhase === this.#remotePhase) return;
    this.#state = state;
    this.#remotePhase = remotePhase;
    this.ctx.emit({
      type: 'host-phase',
      host: this.#host,
      state,
      ...(remotePhase ? { remotePhase } : {}),
      ...(service ? { service } : {}),
    });
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', text: string): void {
    this.ctx.emit({ type: 'host-log', host: this.#host, level, text });
  }

  commandMs(): number {
    const left = this.ctx.deadlineAt - Date.now();
    return Math.max(1, Math.min(this.ctx.deadlines.commandMs, left));
  }

  async connect(signal: AbortSignal, retries: number): Promise<Session> {
    const { io, task, deadlines } = this.ctx;
    for (let attempt = 1; ; attempt++) {
      this.attempts++;
      this.phase('connecting');
      try {
        return await io.openSession(task.host, { signal, deadlines });
      } catch (err) {
        if (signal.aborted || !isRetryableConnectError(err) || attempt > retries) throw err;
        // Exponential backoff with full jitter: many hosts failing together do not retry in lock-step.
        const cap = Math.min(10_000, this.ctx.retryBaseMs * 2 ** (attempt - 1));
        const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
        this.log('warn', `connect attempt ${attempt} failed: ${errMessage(err)}; retrying in ${delay} ms`);
        await this.ctx.sleep(delay, signal);
      }
    }
  }

  async call(
    session: Session,
    op: Operation,
    service: string,
    fields: Partial<OutgoingRequest>,
    signal: AbortSignal,
    commandMs = this.commandMs(),
  ): Promise<RemoteResult> {
    const { io, runId } = this.ctx;
    const request: OutgoingRequest = {
      v: PROTOCOL_VERSION,
      op,
      nonce: io.newNonce ? io.newNonce() : newNonce(),
      runId,
      service,
      ...fields,
    };
    const onEvent = (ev: RemoteEvent): void => {
      const state = op === 'rollback' ? 'rolling-back' : PHASE_STATE[ev.phase];
      if (state) this.phase(state, ev.phase, service);
      if (ev.message) this.log(ev.level ?? 'info', ev.message);
    };
    return io.runRemote(session, request, { host: this.#host, signal, commandMs, onEvent });
  }

  /**
   * Restore services to their before-snapshots over a fresh session, outside the host's (fired) signal and
   * within the rollback budget. Used after a cancel or deadline, for the earlier services of a multi-service
   * host whose later service failed, and by the rollback command.
   */
  async restore(items: ServiceRestore[], session?: Session): Promise<HostResult> {
    const signal = AbortSignal.timeout(this.ctx.rollbackMs);
    let own: Session | undefined;
    try {
      if (!session) own = session = await this.connect(signal, this.ctx.retries);
    } catch (err) {
      return this.result(
        'unknown',
        { code: 'rollback-unreachable', ...errClass(err) },
        `could not reconnect to roll back: ${errMessage(err)}; the before-snapshot is journaled, run \`svcfleet rollback ${this.ctx.runId}\``,
      );
    }
    try {
      const outcomes: TerminalState[] = [];
      const messages: string[] = [];
      let reason: HostDoneEvent['reason'] = { code: 'ok' };
      let fromBackup = false;
      for (const item of items) {
        this.phase('rolling-back', undefined, item.service);
        const restore = item.snapshot ? { snapshot: item.snapshot } : { fromRunId: item.fromRunId ?? this.ctx.runId };
        // Say where the restored configuration came from in the controller's own words: the remote engine's
        // message only names a file path, and the journal's record of the rollback must say which source it used.
        const source = restore.fromRunId ? `from the host's own backup of run ${restore.fromRunId} (no journaled before-snapshot)` : '';
        let res: RemoteResult;
        try {
          // The apply's policy for running dependents holds for its restore too (a restore restarts the service).
          const dependents = this.ctx.task.changes?.find((c) => c.service === item.service)?.dependents;
          res = await this.call(session, 'rollback', item.service, { restore, ...(dependents ? { dependents } : {}) }, signal, this.ctx.rollbackMs);
        } catch (err) {
          outcomes.push('unknown');
          messages.push(`${item.service}: rollback interrupted: ${errMessage(err)}`);
          reason = { code: 'rollback-interrupted', ...errClass(err) };
          break;
        }
        const o = rollbackOutcome(res);
        if (o === 'rollback-failed') emitEvidence(this, item.service, res);
        outcomes.push(o);
        if (o === 'rollback-failed') reason = res.reason;
        if (o === 'rolled-back' && source) fromBackup = true;
        messages.push(`${item.service}: ${source ? `${source}: ` : ''}${res.message}`);
      }
      const outcome = worstOutcome(outcomes);
      const okCode = outcome === 'unchanged' ? 'already-restored' : fromBackup ? 'restored-from-host-backup' : 'restored';
      return this.result(outcome, outcome === 'rollback-failed' || outcome === 'unknown' ? reason : { code: okCode }, messages.join('; '));
    } finally {
      await closeQuietly(own);
    }
  }

  result(outcome: TerminalState, reason: HostDoneEvent['reason'], message: string, service?: string): HostResult {
    return { outcome, reason, message, attempts: this.attempts, applied: [...this.applied], ...(service ? { service } : {}) };
  }
}

/**
 * What the service said when it failed to start (exit codes, last logged lines) as a `host-evidence` event, cut to
 * the bounds and scrubbed of secrets here, whatever the host sent: the request's own password included.
 */
function emitEvidence(r: HostRunner, service: string, res: RemoteResult, change?: ServiceChange): void {
  if (!res.evidence) return;
  const pw = change?.desired?.account?.password;
  const secrets = pw === undefined ? [] : [pw instanceof Secret ? pw.reveal() : pw];
  r.ctx.emit({ type: 'host-evidence', host: r.ctx.task.host.name, service, evidence: boundEvidence(res.evidence, secrets) });
}

function rollbackOutcome(res: RemoteResult): TerminalState {
  if (res.outcome === 'rolled-back' || res.outcome === 'changed') return 'rolled-back';
  if (res.outcome === 'unchanged') return 'unchanged';
  return 'rollback-failed';
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errClass(err: unknown): { errorClass?: TransportError['errorClass'] } {
  return err instanceof TransportError ? { errorClass: err.errorClass } : {};
}

async function closeQuietly(session: Session | undefined): Promise<void> {
  if (!session) return;
  try {
    await session.close();
  } catch {
    // The session is already broken; closing is best effort.
  }
}

function diffSummary(changes: FieldChange[]): string {
  return changes.map((c) => c.field).join(', ');
}

interface Planned {
  change: ServiceChange;
  snapshot: Snapshot;
  diff: FieldChange[];
  /** An earlier apply died on the host mid-change: apply must run (and finish it) even with no diff. */
  interrupted: boolean;
}

/** Run one host of a plan/apply/rollback run to its terminal state. Never throws. */
export async function runHost(ctx: HostContext): Promise<HostResult> {
  const r = new HostRunner(ctx);
  try {
    if (ctx.mode === 'rollback') return await rollbackFlow(r);
    return await changeFlow(r);
  } catch (err) {
    // Last line of defence: a bug must still leave a recorded terminal state.
    const outcome: TerminalState = r.applied.length ? 'unknown' : 'failed';
    return r.result(outcome, { code: 'internal', ...errClass(err) }, `internal error: ${errMessage(err)}`);
  }
}

/** Restore a host that already finished (rollback command, batch rollback on budget). */
export async function restoreHost(ctx: HostContext, applied: AppliedService[]): Promise<HostResult> {
  const r = new HostRunner(ctx);
  try {
    return await r.restore(applied);
  } catch (err) {
    return r.result('unknown', { code: 'internal' }, `internal error: ${errMessage(err)}`);
  }
}

async function rollbackFlow(r: HostRunner): Promise<HostResult> {
  const { ctx } = r;
  const items = ctx.task.restores ?? [];
  if (items.length === 0) return r.result('unchanged', { code: 'nothing-to-restore' }, 'nothing to restore');
  let session: Session;
  try {
    session = await r.connect(ctx.signal, ctx.retries);
  } catch (err) {
    return connectFailure(r, err);
  }
  try {
    return await r.restore(items, session);
  } finally {
    await closeQuietly(session);
  }
}

function connectFailure(r: HostRunner, err: unknown): HostResult {
  const { signal } = r.ctx;
  if (r.halted() && !signal.aborted) return haltedBeforeChange(r);
  if (signal.aborted) {
    if ((signal.reason as HostAbortReason | undefined)?.kind === 'deadline') {
      return r.result('unreachable', { code: 'deadline', errorClass: 'timeout' }, 'host deadline passed while connecting; nothing changed');
    }
    return abortedBeforeChange(r);
  }
  return r.result('unreachable', { code: err instanceof TransportError ? err.reportCode : 'connect', ...errClass(err) }, errMessage(err));
}

/** The run was aborted while this host was still connecting, backing off or planning: it changes nothing. */
function haltedBeforeChange(r: HostRunner): HostResult {
  const why = (r.ctx.halt?.reason as HostHaltReason | undefined)?.abort ?? 'user';
  const text = {
    user: 'run aborted',
    signal: 'run interrupted',
    budget: 'failure budget exceeded',
    canary: 'a canary host failed',
    journal: "the run's journal cannot be written",
  }[why];
  // The same reason code as a host that never started, so `resume` treats both alike.
  return r.result('skipped', { code: `abort-${why}` }, `stopped before any change: ${text}; nothing changed`);
}

function abortedBeforeChange(r: HostRunner): HostResult {
  if (r.halted() && !r.ctx.signal.aborted) return haltedBeforeChange(r);
  const why = r.ctx.signal.reason as HostAbortReason | undefined;
  if (why?.kind === 'deadline') return r.result('failed', { code: 'deadline' }, 'host deadline passed before any change; nothing changed');
  return r.result('skipped', { code: 'cancelled' }, 'cancelled before any change; nothing changed');
}

async function changeFlow(r: HostRunner): Promise<HostResult> {
  // Until an apply request is sent, an abort of the run stops this host too (connect, backoff, plan are read-only).
  const linked = r.beforeChangeSignal();
  try {
    return await changeSteps(r, linked.signal);
  } finally {
    linked.dispose();
  }
}

async function changeSteps(r: HostRunner, readOnly: AbortSignal): Promise<HostResult> {
  const { ctx } = r;
  const { task, signal } = ctx;
  const changes = task.changes ?? [];
  let session: Session;
  try {
    session = await r.connect(readOnly, ctx.retries);
  } catch (err) {
    return connectFailure(r, err);
  }
  try {
    // 1. Read-only: snapshot + diff of every service first, so nothing changes on a host where any is unreadable.
    const planned: Planned[] = [];
    for (const change of changes) {
      if (r.halted()) return haltedBeforeChange(r);
      r.phase('snapshot', undefined, change.service);
      const res = await r.call(session, 'plan', change.service, requestFields(change), readOnly);
      if (res.outcome === 'failed' || !res.snapshot) {
        return r.result('failed', res.reason, `${change.service}: ${res.message}`, change.service);
      }
      const diff = res.diff ?? [];
      // The remote engine never echoes a password; scrub anyway, since every sink sees this event.
      ctx.emit({ type: 'host-diff', host: task.host.name, service: change.service, configHash: res.snapshot.configHash, changes: scrubFieldChanges(diff) });
      planned.push({ change, snapshot: res.snapshot, diff, interrupted: res.interrupted !== undefined });
    }

    // 2. Saved-plan drift guard, before anything is sent: the plan was made against other configurations.
    for (const p of planned) {
      const want = task.plannedHashes?.[p.change.service];
      if (want !== undefined && want !== p.snapshot.configHash) {
        return r.result(
          'drifted',
          { code: 'drift' },
          `${p.change.service}: configuration changed since the plan (hash ${short(want)} → ${short(p.snapshot.configHash)}); left alone`,
          p.change.service,
        );
      }
    }

    const toApply = planned.filter((p) => p.diff.length > 0 || p.change.restart === 'always' || p.interrupted);
    if (ctx.mode === 'plan') {
      if (toApply.length === 0) return r.result('unchanged', { code: 'no-change' }, 'no change needed');
      return r.result(
        'changed',
        { code: 'would-change' },
        `would change ${toApply.map((p) => `${p.change.service}: ${diffSummary(p.diff) || 'restart'}`).join('; ')}`,
      );
    }
    if (toApply.length === 0) {
      // resume/retry: an earlier attempt of this run may already have applied the change.
      const moved = planned.filter((p) => {
        const prior = task.priorSnapshots?.[p.change.service];
        return prior && prior.configHash !== p.snapshot.configHash;
      });
      if (moved.length)
        return r.result(
          'changed',
          { code: 'applied-earlier' },
          `already applied by an earlier attempt of this run (${moved.map((p) => p.change.service).join(', ')})`,
        );
      return r.result('unchanged', { code: 'no-change' }, 'already as specified');
    }

    // 3. Safety rule: the before-snapshots are durable before any apply request is sent.
    if (r.halted()) return haltedBeforeChange(r);
    if (!ctx.snapshots) throw new Error('apply needs a snapshot store (journal)');
    await ctx.snapshots.saveSnapshots(
      task.host.name,
      toApply.map((p) => ({ service: p.change.service, snapshot: p.snapshot })),
    );
    if (signal.aborted || r.halted()) return abortedBeforeChange(r);

    // 4. Apply, service by service; the remote engine restores a service whose change fails.
    let failing: { p: Planned; res: RemoteResult } | undefined;
    let changedCount = 0;
    for (const p of toApply) {
      r.applied.push({ service: p.change.service, snapshot: p.snapshot });
      const expectedHash = task.plannedHashes?.[p.change.service] ?? p.snapshot.configHash;
      const res = await r.call(session, 'apply', p.change.service, { ...requestFields(p.change), expectedHash }, signal);
      if (res.outcome === 'changed' || res.outcome === 'unchanged') {
        if (res.outcome === 'changed') changedCount++;
        continue;
      }
      failing = { p, res };
      emitEvidence(r, p.change.service, res, p.change);
      break;
    }
    if (!failing) {
      const names = toApply.map((p) => `${p.change.service}: ${diffSummary(p.diff) || 'restarted'}`).join('; ');
      return changedCount > 0 ? r.result('changed', { code: 'ok' }, names) : r.result('unchanged', { code: 'no-change' }, 'already as specified');
    }

    // 5. One service failed: its own rollback is the remote engine's; restore the ones changed before it.
    const { p, res } = failing;
    const failed = mapApplyFailure(res);
    const earlier = r.applied.slice(0, -1);
    if (failed === 'drifted') r.applied.pop(); // refused: nothing was changed on that service
    if (earlier.length === 0) return r.result(failed, res.reason, `${p.change.service}: ${res.message}`, p.change.service);
    const restored = await r.restore(earlier, session);
    const outcome = worstOutcome([failed === 'drifted' ? 'rolled-back' : failed, restored.outcome === 'unchanged' ? 'rolled-back' : restored.outcome]);
    return r.result(
      outcome,
      res.reason,
      `${p.change.service}: ${res.message}; restored ${earlier.map((e) => e.service).join(', ')}: ${restored.message}`,
      p.change.service,
    );
  } catch (err) {
    return await afterError(r, err);
  } finally {
    await closeQuietly(session);
  }
}

function mapApplyFailure(res: RemoteResult): TerminalState {
  switch (res.outcome) {
    case 'rolled-back':
    case 'rollback-failed':
    case 'drifted':
    case 'failed':
      return res.outcome;
    default:
      return 'failed';
  }
}

/** An op threw (transport error, cancel, deadline, unreadable output). Decide what is known about the host. */
async function afterError(r: HostRunner, err: unknown): Promise<HostResult> {
  const { signal } = r.ctx;
  if (r.applied.length === 0) {
    if (signal.aborted || r.halted()) return abortedBeforeChange(r);
    const phaseConnect = err instanceof TransportError && (err.phase === 'connect' || err.phase === 'auth');
    return r.result(
      phaseConnect ? 'unreachable' : 'failed',
      { code: err instanceof TransportError ? err.reportCode : 'error', ...errClass(err) },
      `${errMessage(err)}; nothing changed`,
    );
  }
  if (signal.aborted) {
    // We cut the remote process off (cancel or deadline): it may have stopped half-way, so restore it ourselves.
    const why = (signal.reason as HostAbortReason | undefined)?.kind === 'deadline' ? 'host deadline passed' : 'cancelled';
    r.log('warn', `${why} during apply; restoring the before-snapshot`);
    const res = await r.restore(r.applied);
    const outcome = res.outcome === 'unchanged' ? 'rolled-back' : res.outcome;
    return { ...res, outcome, message: `${why} during apply; ${res.message}` };
  }
  // The connection failed after the apply was sent: the remote engine may still finish (and restore on failure).
  // Racing it with a rollback could undo a good change or fight its own restore, so the outcome is unknown.
  return r.result(
    'unknown',
    { code: 'connection-lost', ...errClass(err) },
    `connection lost after the apply request was sent (${errMessage(err)}); the before-snapshot is journaled: run \`svcfleet resume ${r.ctx.runId}\` or \`svcfleet rollback ${r.ctx.runId}\``,
  );
}

function requestFields(change: ServiceChange): Partial<OutgoingRequest> {
  const out: Partial<OutgoingRequest> = {};
  if (change.desired) out.desired = change.desired;
  if (change.restart) out.restart = change.restart;
  if (change.verify) out.verify = change.verify;
  if (change.rollback) out.rollback = change.rollback;
  if (change.dependents) out.dependents = change.dependents;
  if (change.timeouts) out.timeouts = change.timeouts;
  return out;
}

function short(hash: string): string {
  return hash.slice(0, 12);
}
