/**
 * What a journaled run says about each host, for `show`, `resume`, `retry` and `rollback`. The per-host facts
 * are the shared RunState folded from the journaled events (src/state/run-state.ts); the before-snapshots come
 * from the journal's synced snapshot records.
 */
import type { TerminalState } from '../engine/events.js';
import { INTERRUPTED_SKIP_REASONS } from '../engine/outcome.js';
import type { ServiceRestore } from '../engine/types.js';
import { isTerminal, reduceEvents, type RunState } from '../state/run-state.js';
import type { RunRecord } from './record.js';

export interface HostReplay {
  name: string;
  /** The last recorded outcome; undefined when the controller stopped before the host finished. */
  outcome?: TerminalState;
  /** The reason code recorded with that outcome. */
  reason?: string;
  /** Services with a journaled before-snapshot: an apply request was (or may have been) sent for them. */
  snapshotServices: string[];
}

export interface RunReplay {
  state: RunState;
  hosts: HostReplay[];
}

export function replayRun(record: RunRecord): RunReplay {
  const state = reduceEvents(record.events);
  const hosts = record.hosts.map((h): HostReplay => {
    const hs = state.hosts.get(h.name);
    const st = hs?.state;
    return {
      name: h.name,
      ...(st && isTerminal(st) ? { outcome: st, ...(hs?.result ? { reason: hs.result.reason.code } : {}) } : {}),
      snapshotServices: [...(record.snapshots.get(h.name)?.keys() ?? [])],
    };
  });
  return { state, hosts };
}

export interface ResumeSelection {
  /** The hosts `resume` finishes. */
  hosts: string[];
  /**
   * Hosts left `skipped` because the run stopped itself (failure budget, failed canary) or a person excluded
   * them: resumed only when named with --hosts, because resuming them by default would undo that safety stop.
   */
  held: { name: string; reason: string }[];
}

/**
 * resume: hosts without a terminal outcome (the controller died), hosts left unknown, and hosts that never
 * started because a person interrupted the run (skipped: Ctrl-C, abort). Hosts skipped by the run's own safety
 * stops or excluded by a person are held back unless `selected` (--hosts) names them.
 */
export function hostsToResume(replay: RunReplay, selected?: readonly string[]): ResumeSelection {
  const named = selected ? new Set(selected) : undefined;
  const hosts: string[] = [];
  const held: ResumeSelection['held'] = [];
  for (const h of replay.hosts) {
    if (named && !named.has(h.name)) continue;
    if (h.outcome === undefined || h.outcome === 'unknown') hosts.push(h.name);
    else if (h.outcome === 'skipped' && (named || INTERRUPTED_SKIP_REASONS.has(h.reason ?? ''))) hosts.push(h.name);
    else if (h.outcome === 'skipped') held.push({ name: h.name, reason: h.reason ?? 'skipped' });
  }
  return { hosts, held };
}

/** retry --failed: hosts that ended failed, rolled-back, unreachable or unknown (rollback-failed needs `rollback`). */
export const RETRY_OUTCOMES: readonly TerminalState[] = ['failed', 'rolled-back', 'unreachable', 'unknown'];

export function hostsToRetry(replay: RunReplay): string[] {
  return replay.hosts.filter((h) => h.outcome !== undefined && RETRY_OUTCOMES.includes(h.outcome)).map((h) => h.name);
}

/** Host states that mean an apply request had been sent (the remote engine backs up before any change). */
const SENT_STATES: ReadonlySet<string> = new Set(['backup', 'applying', 'restarting', 'verifying', 'rolling-back']);

export interface RollbackTargets {
  /** host -> what to restore. */
  targets: Map<string, ServiceRestore[]>;
  /** Selected hosts left out: the journal shows they ended without any apply request being sent. */
  untouched: string[];
}

/**
 * rollback: what to restore per host. By default every host with a journaled before-snapshot (an apply was or
 * may have been sent), whatever it ended as: restoring a host already at its snapshot is a no-op, and a host
 * the controller lost track of (kill -9) has no outcome at all. `selected` (from --hosts) may add hosts without
 * a snapshot: for those the host's own backup of this run is used (restore.fromRunId) — unless the journal
 * shows the host ended without an apply request ever being sent (unchanged, skipped, unreachable, drifted...):
 * such a host has no backup of the run to restore from, and asking for one would fail as `rollback-failed`.
 */
export function rollbackTargets(record: RunRecord, selected?: readonly string[]): RollbackTargets {
  const targets = new Map<string, ServiceRestore[]>();
  const untouched: string[] = [];
  const names = selected ?? record.hosts.map((h) => h.name).filter((n) => record.snapshots.has(n));
  const services = servicesOf(record);
  const ended = new Map(replayRun(record).hosts.map((h) => [h.name, h.outcome]));
  const sent = new Set<string>();
  for (const e of record.events) if (e.type === 'host-phase' && SENT_STATES.has(e.state)) sent.add(e.host);
  for (const name of names) {
    const snaps = record.snapshots.get(name);
    if (snaps?.size) {
      targets.set(
        name,
        [...snaps.entries()].map(([service, snapshot]) => ({ service, snapshot })),
      );
    } else if (ended.get(name) !== undefined && ended.get(name) !== 'unknown' && !sent.has(name)) {
      untouched.push(name);
    } else {
      targets.set(
        name,
        services.map((service) => ({ service, fromRunId: record.manifest.runId })),
      );
    }
  }
  return { targets, untouched };
}

/** Services the run changes (from its first run-start, else the journaled hosts' changes). */
export function servicesOf(record: RunRecord): string[] {
  const start = record.events.find((e) => e.type === 'run-start');
  if (start && start.type === 'run-start' && start.services.length) return start.services;
  const set = new Set<string>();
  for (const h of record.hosts) for (const c of (h.changes ?? []) as { service?: string }[]) if (c.service) set.add(c.service);
  return [...set];
}

/** A host that a rollback run of this run worked on, and how that ended. */
export interface RolledBackHost {
  rollbackRunId: string;
  /** The rollback run's outcome for the host; undefined when that run stopped before the host finished. */
  outcome?: TerminalState;
}

/**
 * Hosts that later rollback runs (`rollbacks`: runs whose parent is this run) took back. `resume` and `retry`
 * leave them alone whatever the rollback's outcome: someone decided to undo the change there, and continuing
 * the run must not quietly redo it. The latest rollback run wins when several covered the same host.
 */
export function hostsRolledBack(rollbacks: readonly RunRecord[]): Map<string, RolledBackHost> {
  const out = new Map<string, RolledBackHost>();
  const byAge = [...rollbacks].sort((a, b) => (a.manifest.runId < b.manifest.runId ? -1 : 1));
  for (const rb of byAge) {
    for (const h of replayRun(rb).hosts) out.set(h.name, { rollbackRunId: rb.manifest.runId, ...(h.outcome ? { outcome: h.outcome } : {}) });
  }
  return out;
}
