/**
 * Pure queries over a RunState: counts per bar bucket, progress and ETA, problems grouped by reason, the host
 * table's order. They take the current time and a host-range folder as parameters, so they stay pure; what
 * they return is data, and the report layer (report/run-text.ts) turns it into text.
 */
import type { RunMode, TerminalState } from '../engine/events.js';
// The default folder. Host ranges are a util-level helper that still lives in the report folder; this is the
// only import of the state layer that points up, and it goes once hostrange.ts moves to util.
import { foldHosts } from '../util/hostrange.js';
import {
  ALL_STATES,
  ATTENTION_STATES,
  bucketOf,
  groupKeyOf,
  isTerminal,
  STATE_BUCKETS,
  type HostError,
  type HostRunState,
  type RunState,
  type StateBucket,
} from './run-state.js';

export function bucketCounts(s: RunState): Record<StateBucket, number> {
  const out = {} as Record<StateBucket, number>;
  for (const b of STATE_BUCKETS) out[b] = 0;
  for (const st of ALL_STATES) out[bucketOf(st)] += s.counts[st];
  return out;
}

export interface Progress {
  total: number;
  finished: number;
  running: number;
  queued: number;
  elapsedMs: number;
  /** Finished hosts per minute since the run started; undefined until a host finishes. */
  hostsPerMinute?: number;
  /** Milliseconds left at the current rate; undefined while no host has finished or when paused. */
  etaMs?: number;
}

export function progress(s: RunState, now: number): Progress {
  const total = s.hostOrder.length;
  const end = s.endedAt ?? now;
  const elapsedMs = s.startedAt === undefined ? 0 : Math.max(0, end - s.startedAt);
  const b = bucketCounts(s);
  const p: Progress = { total, finished: s.finished, running: b.running, queued: b.queued, elapsedMs };
  if (s.finished > 0 && elapsedMs > 0) {
    p.hostsPerMinute = (s.finished * 60_000) / elapsedMs;
    if (s.done) p.etaMs = 0;
    else if (!s.paused) p.etaMs = ((total - s.finished) * elapsedMs) / s.finished;
  }
  return p;
}

/** Folds host names into ranges ("web[01-37]"); src/util/hostrange.ts provides one. */
export type HostFolder = (hosts: readonly string[]) => string;

export interface ErrorGroup {
  outcome: TerminalState;
  /** How the outcome reads in this run (outcomeLabel); defaults to the outcome itself. */
  label?: string;
  error: HostError;
  hosts: string[];
  folded: string;
  count: number;
}

const OUTCOME_RANK: Record<TerminalState, number> = {
  'rollback-failed': 0,
  failed: 1,
  'rolled-back': 2,
  unknown: 3,
  unreachable: 4,
  drifted: 5,
  skipped: 6,
  changed: 7,
  unchanged: 8,
};

function sortGroups(groups: ErrorGroup[]): ErrorGroup[] {
  return groups.sort((a, b) => OUTCOME_RANK[a.outcome] - OUTCOME_RANK[b.outcome] || b.count - a.count || a.folded.localeCompare(b.folded));
}

/** Hosts currently in a problem state, grouped by identical outcome + reason + message; worst first. */
export function errorGroups(s: RunState, fold: HostFolder = foldHosts): ErrorGroup[] {
  const out: ErrorGroup[] = [];
  for (const g of s.errorIndex.values()) {
    const hosts = [...g.hosts];
    let folded: string;
    if (fold === foldHosts) {
      if (g.folded?.rev !== g.rev) g.folded = { rev: g.rev, text: fold(hosts) };
      folded = g.folded.text;
    } else folded = fold(hosts);
    out.push({ outcome: g.outcome, error: g.error, hosts, folded, count: hosts.length });
  }
  return sortGroups(out);
}

/** Every finished host grouped by outcome + reason + message (the summary's "grouped outcomes"). */
export function outcomeGroups(s: RunState, fold: HostFolder = foldHosts): ErrorGroup[] {
  const map = new Map<string, { outcome: TerminalState; error: HostError; hosts: string[] }>();
  for (const name of s.hostOrder) {
    const h = s.hosts.get(name)!;
    if (!isTerminal(h.state)) continue;
    // Successes group by outcome alone (their messages are per-host detail); problems and skips by reason.
    const error: HostError =
      h.groupKey !== undefined
        ? s.errorIndex.get(h.groupKey)!.error
        : h.state === 'skipped'
          ? { code: h.result?.reason.code ?? 'skipped', message: h.result?.message ?? '' }
          : { code: 'ok', message: '' };
    const key = groupKeyOf(h.state, error);
    let g = map.get(key);
    if (!g) map.set(key, (g = { outcome: h.state, error, hosts: [] }));
    g.hosts.push(name);
  }
  return sortGroups([...map.values()].map((g) => ({ ...g, label: outcomeLabel(g.outcome, s.mode), folded: fold(g.hosts), count: g.hosts.length })));
}

/** A plan changes nothing: its `changed` hosts are hosts that would change. */
export function outcomeLabel(state: string, mode: RunMode | undefined): string {
  return mode === 'plan' && state === 'changed' ? 'would change' : state;
}

/** Host-table order: attention first, then running (longest-running first), then queued, then the rest. */
export function orderedHosts(s: RunState): HostRunState[] {
  const attention: HostRunState[][] = ATTENTION_STATES.map(() => []);
  const running: HostRunState[] = [];
  const queued: HostRunState[] = [];
  const rest: HostRunState[] = [];
  for (const name of s.hostOrder) {
    const h = s.hosts.get(name)!;
    const ai = ATTENTION_STATES.indexOf(h.state as TerminalState);
    if (ai >= 0) attention[ai]!.push(h);
    else if (h.state === 'queued') queued.push(h);
    else if (!isTerminal(h.state)) running.push(h);
    else rest.push(h);
  }
  running.sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  return [...attention.flat(), ...running, ...queued, ...rest];
}

export function hostElapsedMs(h: HostRunState, now: number): number | undefined {
  if (h.startedAt === undefined) return undefined;
  if (isTerminal(h.state)) return h.ms ?? (h.endedAt !== undefined ? h.endedAt - h.startedAt : undefined);
  return Math.max(0, now - h.startedAt);
}

/** Hosts a `retry --failed` would pick up. */
export function retryableHosts(s: RunState): string[] {
  return s.hostOrder.filter((n) => {
    const st = s.hosts.get(n)!.state;
    return st === 'failed' || st === 'rolled-back' || st === 'unreachable' || st === 'unknown';
  });
}
