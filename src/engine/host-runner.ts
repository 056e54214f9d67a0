/**
 * One host's connection and calls, shared by the flows of host-flow.ts: connecting with retries and backoff, the
 * remote calls (their events become the host's phases and log lines), the restore of applied services, and the
 * host's result. The rules the flows keep are in host-flow.ts.
 */
import { PROTOCOL_VERSION, type Operation, type RemoteEvent, type RemotePhase, type RemoteResult, type Snapshot } from '../remote/protocol.js';
import { newNonce, type OutgoingRequest } from '../remote/invocation.js';
import { TransportError, type Deadlines, type Session } from '../transport/types.js';
import type { ActiveState, HostDoneEvent, RunAbortEvent, RunMode, TerminalState } from './events.js';
import type { EventBody } from './bus.js';
import { worstOutcome } from './outcome.js';
import { boundEvidence } from './scrub.js';
import { Secret } from '../util/secret.js';
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
   * Fires on cancel, on the host deadline, or when the run is aborted (then its reason is a HostHaltReason): what
   * the read-only steps before any change listen to. Without it they listen to `signal`.
   */
  readOnly?: AbortSignal;
  /**
   * Why the run was aborted while this host ran, once it was. A host that has not sent an apply request yet
   * (connecting, in retry backoff, planning) stops there and ends `skipped`: an abort means no host starts
   * changing any more. Once a change was sent, the host finishes it.
   */
  halted?: () => HostHaltReason | undefined;
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

/**
 * A connection or remote process lost mid-command (ssh: the session or connection dropped; winrm: reset, closed).
 * Before the apply request nothing on the host is changed by the lost command, so it is safe to run it again.
 */
function lostBeforeChange(err: unknown): boolean {
  return err instanceof TransportError && err.phase === 'command' && err.errorClass === 'remote-failed';
}

export class HostRunner {
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
    return this.applied.length === 0 && this.ctx.halted?.() !== undefined;
  }

  /** For the read-only steps before any change (connect, backoff, plan): fires on cancel, deadline or halt. */
  readOnlySignal(): AbortSignal {
    return this.ctx.readOnly ?? this.ctx.signal;
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
        return await io.openSession(task.host, { signal, deadlines, onWarning: (m) => this.log('warn', m) });
      } catch (err) {
        if (signal.aborted || !isRetryableConnectError(err) || attempt > retries) throw err;
        await this.backoff(attempt, `connect attempt ${attempt} failed: ${errMessage(err)}`, signal);
      }
    }
  }

  /** Exponential backoff with full jitter: many hosts failing together do not retry in lock-step. */
  async backoff(attempt: number, why: string, signal: AbortSignal): Promise<void> {
    const cap = Math.min(10_000, this.ctx.retryBaseMs * 2 ** (attempt - 1));
    const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
    this.log('warn', `${why}; retrying in ${delay} ms`);
    await this.ctx.sleep(delay, signal);
  }

  /**
   * The connection was lost while only reading the host (before any apply request), e.g. its sshd restarted:
   * a new session, within what is left of the host's connect retries. Returns undefined when none are left.
   */
  async reconnectBeforeChange(err: unknown, signal: AbortSignal): Promise<Session | undefined> {
    const left = this.ctx.retries - this.attempts;
    if (left < 0 || signal.aborted || !lostBeforeChange(err)) return undefined;
    await this.backoff(this.attempts, `connection lost while reading the host, before any change was sent (${errMessage(err)})`, signal);
    return this.connect(signal, left);
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
export function emitEvidence(r: HostRunner, service: string, res: RemoteResult, change?: ServiceChange): void {
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

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function errClass(err: unknown): { errorClass?: TransportError['errorClass'] } {
  return err instanceof TransportError ? { errorClass: err.errorClass } : {};
}

export async function closeQuietly(session: Session | undefined): Promise<void> {
  if (!session) return;
  try {
    await session.close();
  } catch {
    // The session is already broken; closing is best effort.
  }
}
