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
 * - Only connection errors before anything changed are retried (TransportError in the connect/auth phase, or a
 *   connection lost while the host is only read: the plan).
 * - A host whose apply was sent and whose connection then failed ends `unknown`, never `failed`: its state
 *   is not known; `resume` / `rollback` settle it from the journaled snapshot.
 * - Several services on one host change as a unit: when one fails, those already changed are restored.
 */
import type { FieldChange, RemoteResult, Snapshot } from '../remote/protocol.js';
import type { OutgoingRequest } from '../remote/invocation.js';
import { TransportError, type Session } from '../transport/types.js';
import type { TerminalState } from './events.js';
import { worstOutcome } from './outcome.js';
import { scrubFieldChanges } from './scrub.js';
import type { ServiceChange } from './types.js';
import {
  closeQuietly,
  emitEvidence,
  errClass,
  errMessage,
  HostRunner,
  type AppliedService,
  type HostAbortReason,
  type HostContext,
  type HostResult,
} from './host-runner.js';

export { isRetryableConnectError } from './host-runner.js';
export type { AppliedService, HostAbortReason, HostContext, HostHaltReason, HostResult } from './host-runner.js';

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
  const why = r.ctx.halted?.()?.abort ?? 'user';
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

/** Snapshot + diff of every service of the host (read-only), or the host's result when one cannot be read. */
async function planServices(r: HostRunner, session: Session, readOnly: AbortSignal): Promise<Planned[] | HostResult> {
  const { ctx } = r;
  const planned: Planned[] = [];
  for (const change of ctx.task.changes ?? []) {
    if (r.halted()) return haltedBeforeChange(r);
    r.phase('snapshot', undefined, change.service);
    const res = await r.call(session, 'plan', change.service, requestFields(change), readOnly);
    if (res.outcome === 'failed' || !res.snapshot) {
      return r.result('failed', res.reason, `${change.service}: ${res.message}`, change.service);
    }
    const diff = res.diff ?? [];
    // The remote engine never echoes a password; scrub anyway, since every sink sees this event.
    ctx.emit({ type: 'host-diff', host: ctx.task.host.name, service: change.service, configHash: res.snapshot.configHash, changes: scrubFieldChanges(diff) });
    planned.push({ change, snapshot: res.snapshot, diff, interrupted: res.interrupted !== undefined });
  }
  return planned;
}

async function changeFlow(r: HostRunner): Promise<HostResult> {
  // Until an apply request is sent, an abort of the run stops this host too (connect, backoff, plan are read-only).
  return changeSteps(r, r.readOnlySignal());
}

async function changeSteps(r: HostRunner, readOnly: AbortSignal): Promise<HostResult> {
  const { ctx } = r;
  const { task, signal } = ctx;
  let session: Session;
  try {
    session = await r.connect(readOnly, ctx.retries);
  } catch (err) {
    return connectFailure(r, err);
  }
  try {
    // 1. Read-only: snapshot + diff of every service first, so nothing changes on a host where any is unreadable.
    // A connection lost here is retried like a connect error (--retries): nothing that changes the host was sent.
    let read: Planned[] | HostResult;
    for (;;) {
      try {
        read = await planServices(r, session, readOnly);
        break;
      } catch (err) {
        let again: Session | undefined;
        try {
          again = await r.reconnectBeforeChange(err, readOnly);
        } catch (connectErr) {
          return connectFailure(r, connectErr);
        }
        if (!again) throw err;
        await closeQuietly(session);
        session = again;
      }
    }
    if (!Array.isArray(read)) return read;
    const planned = read;

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
