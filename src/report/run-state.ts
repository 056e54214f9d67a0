/**
 * RunState: everything known about a run, folded from its FleetEvent stream. The dashboard and the plain /
 * NDJSON reporters read the same RunState (and the same selectors below), so whatever the dashboard shows is
 * also in the other outputs.
 *
 * `applyEvent` is deterministic and does no I/O and reads no clock: the state is a function of the events
 * alone, so a journal replay rebuilds it exactly. It updates the state IN PLACE and bumps `version`, because a
 * copy per event would cost O(hosts) and a 1,000-host run emits tens of thousands of events; every event costs
 * O(1) (plus O(batch size) for `batch-start`, once per batch). Memory per host is bounded: the log tail and the
 * phase timeline are rings of fixed size, and long log lines are cut.
 *
 * Selectors (`progress`, `errorGroups`, `outcomeGroups`, `orderedHosts`, `nextCommands`) take the current
 * time and a host-range folder as parameters, so they stay pure too.
 */
import type { FieldChange, RemotePhase } from '../remote/protocol.js';
import type { TransportErrorClass } from '../transport/types.js';
import type {
  ActiveState,
  FleetEvent,
  HostDoneEvent,
  HostState,
  RunMode,
  TerminalState,
} from '../engine/events.js';
import { TERMINAL_STATES } from '../engine/events.js';
import { INTERRUPTED_SKIP_REASONS } from '../engine/outcome.js';
import { foldHosts } from '../util/hostrange.js';

/** Per-host states in the order the progress bar and the summary list them. */
export const STATE_BUCKETS = [
  'queued',
  'running',
  'changed',
  'unchanged',
  'failed',
  'rolled-back',
  'rollback-failed',
  'unreachable',
  'drifted',
  'skipped',
  'unknown',
] as const;
export type StateBucket = (typeof STATE_BUCKETS)[number];

/** Every active state except `queued` counts as running in the progress bar. */
export function bucketOf(state: HostState): StateBucket {
  if (state === 'queued') return 'queued';
  return isTerminal(state) ? state : 'running';
}

const TERMINAL = new Set<string>(TERMINAL_STATES);
export function isTerminal(state: HostState): state is TerminalState {
  return TERMINAL.has(state);
}

/** Terminal states that need a person to look (sorted first in the host table, listed as error groups). */
export const ATTENTION_STATES: readonly TerminalState[] = ['rollback-failed', 'failed', 'rolled-back', 'unknown'];
/** Terminal states that are problems and are grouped by reason; `skipped` is grouped only in the summary. */
const PROBLEM_STATES = new Set<TerminalState>([
  'rollback-failed',
  'failed',
  'rolled-back',
  'unknown',
  'unreachable',
  'drifted',
]);

export interface HostError {
  code: string;
  win32?: number;
  errorClass?: TransportErrorClass;
  message: string;
}

export interface LogLine {
  at: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  text: string;
}

export interface TimelineEntry {
  at: string;
  state: HostState;
  remotePhase?: RemotePhase;
}

export interface HostRunState {
  name: string;
  state: HostState;
  remotePhase?: RemotePhase;
  service?: string;
  /** Epoch ms when the current attempt left `queued`; reset when a retry starts. */
  startedAt?: number;
  /** Epoch ms of the last terminal state. */
  endedAt?: number;
  /** Duration the engine reported with the last terminal state. */
  ms?: number;
  attempts: number;
  /** Batch index (0 is the canary when there is one). */
  batch?: number;
  canary: boolean;
  configHash?: string;
  changes: FieldChange[];
  /** Oldest first; at most `limits.logLines` lines, each at most `limits.logLineChars` characters. */
  log: LogLine[];
  /** Lines dropped from the front of `log` because of the bound. */
  logDropped: number;
  /** Oldest first; at most `limits.timeline` entries. */
  timeline: TimelineEntry[];
  timelineDropped: number;
  /** The last outcome's reason and message (kept after a retry starts, as history). */
  result?: { outcome: TerminalState; reason: HostDoneEvent['reason']; message: string };
  /** The last failure of this host; kept as history when a retry starts. */
  lastError?: HostError;
  /** Key into `errorIndex` while the host is in a problem state. */
  groupKey?: string;
}

export interface ErrorGroupState {
  key: string;
  outcome: TerminalState;
  error: HostError;
  hosts: Set<string>;
  /** Bumped when `hosts` changes; keys the cached folded range (folding is O(hosts), done per frame). */
  rev: number;
  folded?: { rev: number; text: string };
}

export interface RunLimits {
  logLines: number;
  logLineChars: number;
  timeline: number;
}

export const DEFAULT_LIMITS: RunLimits = { logLines: 50, logLineChars: 400, timeline: 64 };

export interface RunState {
  /** Bumped once per applied event; views re-derive when it changes. */
  version: number;
  lastSeq: number;
  runId?: string;
  mode?: RunMode;
  specFile?: string;
  services: string[];
  strategy?: { concurrency: number; canary: string[]; batches: number[]; failureBudget: number };
  /** Hosts in the order run-start listed them (plus any host first seen later). */
  hostOrder: string[];
  hosts: Map<string, HostRunState>;
  counts: Record<HostState, number>;
  /** Hosts in a terminal state. */
  finished: number;
  budget: { used: number; limit: number; exceeded: boolean };
  batch?: { index: number; total: number; canary: boolean; size: number };
  /** `host`: with reason 'on-failure', the host whose failure waits for an answer (retry / skip / abort). */
  paused?: { reason: 'user' | 'on-failure' | 'budget'; at: string; seq: number; host?: string };
  aborting?: { reason: 'user' | 'signal' | 'budget' | 'canary'; inFlight: 'finish' | 'cancel'; at: string };
  /** The most recent host that ended in a failure state; what `--on-failure ask` asks about. */
  lastFailedHost?: string;
  startedAt?: number;
  /** Epoch ms of run-done. */
  endedAt?: number;
  done?: { exitCode: number; counts: Partial<Record<TerminalState, number>>; ms: number };
  errorIndex: Map<string, ErrorGroupState>;
  limits: RunLimits;
}

const ALL_STATES: HostState[] = [
  'queued',
  'connecting',
  'snapshot',
  'backup',
  'applying',
  'restarting',
  'verifying',
  'rolling-back',
  ...TERMINAL_STATES,
];

export function createRunState(limits: Partial<RunLimits> = {}): RunState {
  const counts = {} as Record<HostState, number>;
  for (const s of ALL_STATES) counts[s] = 0;
  return {
    version: 0,
    lastSeq: -1,
    services: [],
    hostOrder: [],
    hosts: new Map(),
    counts,
    finished: 0,
    budget: { used: 0, limit: 0, exceeded: false },
    errorIndex: new Map(),
    limits: { ...DEFAULT_LIMITS, ...limits },
  };
}

/** Fold a whole stream (a journal replay, a test fixture). */
export function reduceEvents(events: Iterable<FleetEvent>, limits?: Partial<RunLimits>): RunState {
  const state = createRunState(limits);
  for (const e of events) applyEvent(state, e);
  return state;
}

function ensureHost(s: RunState, name: string): HostRunState {
  let h = s.hosts.get(name);
  if (!h) {
    h = {
      name,
      state: 'queued',
      attempts: 0,
      canary: false,
      changes: [],
      log: [],
      logDropped: 0,
      timeline: [],
      timelineDropped: 0,
    };
    s.hosts.set(name, h);
    s.hostOrder.push(name);
    s.counts.queued++;
  }
  return h;
}

function setHostState(s: RunState, h: HostRunState, next: HostState): void {
  if (h.state === next) return;
  s.counts[h.state]--;
  s.counts[next]++;
  const wasDone = isTerminal(h.state);
  const isDone = isTerminal(next);
  if (wasDone && !isDone) s.finished--;
  if (!wasDone && isDone) s.finished++;
  h.state = next;
}

function leaveGroup(s: RunState, h: HostRunState): void {
  if (h.groupKey === undefined) return;
  const g = s.errorIndex.get(h.groupKey);
  if (g) {
    g.hosts.delete(h.name);
    g.rev++;
    if (g.hosts.size === 0) s.errorIndex.delete(h.groupKey);
  }
  h.groupKey = undefined;
}

/** Ring-style push: keeps the newest `max` items; returns how many were dropped. */
function pushBounded<T>(list: T[], item: T, max: number): number {
  list.push(item);
  if (list.length > max) {
    list.shift(); // max is small (≤ a few hundred), so shift stays cheap
    return 1;
  }
  return 0;
}

function addTimeline(s: RunState, h: HostRunState, entry: TimelineEntry): void {
  const last = h.timeline[h.timeline.length - 1];
  if (last && last.state === entry.state && last.remotePhase === entry.remotePhase) return;
  h.timelineDropped += pushBounded(h.timeline, entry, s.limits.timeline);
}

export function groupKeyOf(outcome: TerminalState, e: HostError): string {
  return JSON.stringify([outcome, e.code, e.win32 ?? null, e.errorClass ?? null, e.message]);
}

/** Apply one event to `state` (in place) and return it. Events with a seq already seen are ignored. */
export function applyEvent(s: RunState, e: FleetEvent): RunState {
  // One RunState per run: events of another run, and replays of events already applied, are ignored.
  if (s.runId !== undefined && e.runId !== s.runId) return s;
  if (e.seq <= s.lastSeq) return s;
  s.runId = e.runId;
  s.lastSeq = e.seq;
  s.version++;
  // A sink that subscribed late (no run-start) still gets a clock: the first event it saw.
  if (s.startedAt === undefined) s.startedAt = Date.parse(e.at);
  switch (e.type) {
    case 'run-start': {
      s.runId = e.runId;
      s.mode = e.mode;
      s.specFile = e.specFile;
      s.services = [...e.services];
      s.strategy = {
        concurrency: e.strategy.concurrency,
        canary: [...e.strategy.canary],
        batches: [...e.strategy.batches],
        failureBudget: e.strategy.failureBudget,
      };
      s.budget = { used: 0, limit: e.strategy.failureBudget, exceeded: false };
      s.startedAt = Date.parse(e.at);
      for (const name of e.hosts) ensureHost(s, name);
      for (const name of e.strategy.canary) ensureHost(s, name).canary = true;
      break;
    }
    case 'batch-start': {
      s.batch = { index: e.index, total: e.total, canary: e.canary, size: e.hosts.length };
      for (const name of e.hosts) {
        const h = ensureHost(s, name);
        h.batch = e.index;
        if (e.canary) h.canary = true;
      }
      break;
    }
    case 'host-phase': {
      const h = ensureHost(s, e.host);
      const at = Date.parse(e.at);
      if (isTerminal(h.state) || h.state === 'queued') {
        // A new attempt (first start or a retry): the previous outcome stops counting as current.
        leaveGroup(s, h);
        if (e.state !== 'queued') {
          h.startedAt = at;
          h.endedAt = undefined;
          h.ms = undefined;
        }
      }
      setHostState(s, h, e.state);
      h.remotePhase = e.remotePhase;
      if (e.service !== undefined) h.service = e.service;
      addTimeline(s, h, { at: e.at, state: e.state, remotePhase: e.remotePhase });
      break;
    }
    case 'host-log': {
      const h = ensureHost(s, e.host);
      const max = s.limits.logLineChars;
      const text = e.text.length > max ? `${e.text.slice(0, max - 1)}…` : e.text;
      h.logDropped += pushBounded(h.log, { at: e.at, level: e.level, text }, s.limits.logLines);
      break;
    }
    case 'host-diff': {
      const h = ensureHost(s, e.host);
      h.service = e.service;
      h.configHash = e.configHash;
      h.changes = e.changes;
      break;
    }
    case 'host-done': {
      const h = ensureHost(s, e.host);
      leaveGroup(s, h);
      setHostState(s, h, e.outcome);
      h.remotePhase = undefined;
      h.attempts = e.attempts;
      if (e.service !== undefined) h.service = e.service;
      h.endedAt = Date.parse(e.timings.endedAt);
      if (e.timings.startedAt !== undefined) h.startedAt = Date.parse(e.timings.startedAt);
      h.ms = e.timings.ms;
      h.result = { outcome: e.outcome, reason: e.reason, message: e.message };
      addTimeline(s, h, { at: e.timings.endedAt, state: e.outcome });
      if (PROBLEM_STATES.has(e.outcome)) {
        const err: HostError = { code: e.reason.code, message: e.message };
        if (e.reason.win32 !== undefined) err.win32 = e.reason.win32;
        if (e.reason.errorClass !== undefined) err.errorClass = e.reason.errorClass;
        h.lastError = err;
        const key = groupKeyOf(e.outcome, err);
        let g = s.errorIndex.get(key);
        if (!g) {
          g = { key, outcome: e.outcome, error: err, hosts: new Set(), rev: 0 };
          s.errorIndex.set(key, g);
        }
        g.hosts.add(h.name);
        g.rev++;
        h.groupKey = key;
        if (e.outcome !== 'unreachable' && e.outcome !== 'drifted') s.lastFailedHost = h.name;
      }
      break;
    }
    case 'budget':
      s.budget = { used: e.used, limit: e.limit, exceeded: e.exceeded };
      break;
    case 'run-paused':
      s.paused = { reason: e.reason, at: e.at, seq: e.seq };
      if (e.host !== undefined) s.paused.host = e.host;
      break;
    case 'run-resumed':
      s.paused = undefined;
      break;
    case 'run-abort':
      s.aborting = { reason: e.reason, inFlight: e.inFlight, at: e.at };
      s.paused = undefined;
      break;
    case 'run-done':
      s.done = { exitCode: e.exitCode, counts: { ...e.counts }, ms: e.ms };
      s.endedAt = Date.parse(e.at);
      s.paused = undefined;
      break;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Selectors (pure; `now` is epoch ms)

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

/** Folds host names into ranges ("web[01-37]"); the report layer's hostrange module provides one. */
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
  return groups.sort(
    (a, b) => OUTCOME_RANK[a.outcome] - OUTCOME_RANK[b.outcome] || b.count - a.count || a.folded.localeCompare(b.folded),
  );
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
  return sortGroups(
    [...map.values()].map((g) => ({ ...g, label: outcomeLabel(g.outcome, s.mode), folded: fold(g.hosts), count: g.hosts.length })),
  );
}

/**
 * The machine-readable part of a reason, without repeats: "win32 5", "verify-port", "timeout, auth-failed".
 * `outcome` is left out when the code only repeats it (an `unreachable` host with code `unreachable`).
 */
export function reasonText(e: { code: string; win32?: number; errorClass?: string }, outcome?: string): string {
  const parts: string[] = [];
  if (e.code && e.code !== 'ok' && e.code !== outcome && !(e.code === 'win32' && e.win32 !== undefined)) parts.push(e.code);
  if (e.win32 !== undefined) parts.push(`win32 ${e.win32}`);
  if (e.errorClass !== undefined && e.errorClass !== e.code && e.errorClass !== outcome) parts.push(e.errorClass);
  return parts.join(', ');
}

/** One line per group, the same text in every output: "web[01-37]: failed: access denied [win32 5] (37)". */
export function formatGroup(g: ErrorGroup): string {
  const msg = g.error.message ? `: ${g.error.message}` : '';
  const why = reasonText(g.error, g.outcome);
  return `${g.folded}: ${g.label ?? g.outcome}${msg}${why ? ` [${why}]` : ''} (${g.count})`;
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

/** The next useful commands after a run, for the summary (dashboard and plain output alike). */
export function nextCommands(s: RunState): string[] {
  if (!s.runId) return [];
  const cmds = [`svcfleet show ${s.runId}`];
  // A plan changed nothing, so there is nothing to roll back or retry; a rollback run is retried by rolling back again.
  if (s.mode !== 'apply' && s.mode !== undefined) return cmds;
  const b = bucketCounts(s);
  if (b.changed > 0 || b['rollback-failed'] > 0 || b.unknown > 0) cmds.push(`svcfleet rollback ${s.runId}`);
  if (retryableHosts(s).length > 0) cmds.push(`svcfleet retry ${s.runId} --failed`);
  const interrupted = s.hostOrder.some((n) => {
    const h = s.hosts.get(n)!;
    return !isTerminal(h.state) || (h.state === 'skipped' && INTERRUPTED_SKIP_REASONS.has(h.result?.reason.code ?? ''));
  });
  if (interrupted) cmds.push(`svcfleet resume ${s.runId}`);
  return cmds;
}

/** "1m 05s", "12s", "1h 02m": compact durations for headers and tables. */
export function formatDuration(ms: number): string {
  const t = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** What each documented exit code means (docs/cli.md), for summaries. */
export function exitCodeLabel(code: number): string {
  switch (code) {
    case 0:
      return 'every host ok';
    case 1:
      return 'usage or input error';
    case 2:
      return 'some hosts failed or were rolled back';
    case 3:
      return 'aborted';
    case 4:
      return 'a rollback failed';
    default:
      return 'internal error';
  }
}

/** "changed 36 · failed 1 · unreachable 1" over the non-empty buckets, in bar order. */
export function countsLine(s: RunState): string {
  const b = bucketCounts(s);
  return STATE_BUCKETS.filter((k) => b[k] > 0)
    .map((k) => `${outcomeLabel(k, s.mode)} ${b[k]}`)
    .join(' · ');
}

/** One line of live progress for non-TTY outputs: the same facts as the dashboard's header and bar. */
export function progressLine(s: RunState, now: number): string {
  const p = progress(s, now);
  const parts = [`${p.finished}/${p.total} done`, countsLine(s)];
  if (s.batch) parts.push(`batch ${s.batch.index + 1}/${s.batch.total}${s.batch.canary ? ' (canary)' : ''}`);
  parts.push(`budget ${s.budget.used}/${s.budget.limit}`);
  parts.push(`elapsed ${formatDuration(p.elapsedMs)}`);
  if (p.hostsPerMinute !== undefined) parts.push(`${p.hostsPerMinute.toFixed(1)} hosts/min`);
  if (p.etaMs !== undefined && !s.done) parts.push(`ETA ${formatDuration(p.etaMs)}`);
  if (s.paused) parts.push(`PAUSED (${s.paused.reason})`);
  if (s.aborting) parts.push(`ABORTING (in-flight: ${s.aborting.inFlight})`);
  return parts.join(' | ');
}

export interface RunSummary {
  title: string;
  counts: string;
  groups: ErrorGroup[];
  next: string[];
}

/** The end-of-run summary every output prints: title, counts, grouped outcomes, next commands. */
export function runSummary(s: RunState, now: number, fold: HostFolder = foldHosts): RunSummary {
  const p = progress(s, now);
  const id = s.runId ?? '(unknown run)';
  const how = s.done
    ? `finished in ${formatDuration(s.done.ms)}: exit ${s.done.exitCode} (${exitCodeLabel(s.done.exitCode)})`
    : `still going after ${formatDuration(p.elapsedMs)}`;
  const aborted = s.aborting ? `, aborted (${s.aborting.reason})` : '';
  return {
    title: `Run ${id} (${s.mode ?? 'apply'}) ${how}${aborted}`,
    counts: `${p.total} hosts: ${countsLine(s)}`,
    groups: outcomeGroups(s, fold),
    next: nextCommands(s),
  };
}

export function summaryLines(s: RunState, now: number, fold: HostFolder = foldHosts): string[] {
  const sum = runSummary(s, now, fold);
  const lines = [sum.title, sum.counts, 'Outcomes:', ...sum.groups.map((g) => `  ${formatGroup(g)}`)];
  if (sum.next.length) lines.push('Next:', ...sum.next.map((c) => `  ${c}`));
  return lines;
}
