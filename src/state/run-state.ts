/**
 * RunState: everything known about a run, folded from its FleetEvent stream. The dashboard, the plain / NDJSON
 * reporters and a journal replay fold the same events with this reducer and read the same queries
 * (queries.ts), so whatever the dashboard shows is also in the other outputs. How the state reads as text lives
 * in the report layer (report/run-text.ts); this module knows no output format.
 *
 * `applyEvent` is deterministic and does no I/O and reads no clock: the state is a function of the events
 * alone, so a journal replay rebuilds it exactly. It updates the state IN PLACE and bumps `version`, because a
 * copy per event would cost O(hosts) and a 1,000-host run emits tens of thousands of events; every event costs
 * O(1) (plus O(batch size) for `batch-start`, once per batch). Memory per host is bounded: the log tail and the
 * phase timeline are rings of fixed size, and long log lines are cut.
 */
import type { FieldChange, RemotePhase, StartEvidence } from '../remote/protocol.js';
import type { TransportErrorClass } from '../transport/types.js';
import type { FleetEvent, HostDoneEvent, HostState, RunMode, TerminalState } from '../engine/events.js';
import { TERMINAL_STATES } from '../engine/events.js';
import { failureShape } from './failure-shape.js';

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
const PROBLEM_STATES = new Set<TerminalState>(['rollback-failed', 'failed', 'rolled-back', 'unknown', 'unreachable', 'drifted']);

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
  /** What the service said at its last failed start (exit codes, last logged lines); kept as history on a retry. */
  evidence?: StartEvidence;
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
  /**
   * Phase-timeline entries kept per host. 0 keeps none: the reporters (plain, NDJSON summary, JUnit) never show
   * a timeline, and at ~100 bytes per entry, ~11 entries per host, it was the largest part of their state.
   */
  timeline: number;
}

/** For a state that feeds reports only: everything but the per-host phase timeline (the dashboard's). */
export const REPORT_LIMITS: Partial<RunLimits> = { timeline: 0 };

export const DEFAULT_LIMITS: RunLimits = { logLines: 50, logLineChars: 400, timeline: 64 };

export interface RunState {
  /** Bumped once per applied event; views re-derive when it changes. */
  version: number;
  lastSeq: number;
  runId?: string;
  mode?: RunMode;
  specFile?: string;
  services: string[];
  strategy?: { concurrency: number; canary: string[]; batches: number[]; failureBudget: number; canaryDefault?: boolean };
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
  aborting?: { reason: 'user' | 'signal' | 'budget' | 'canary' | 'journal'; inFlight: 'finish' | 'cancel'; at: string };
  /** The most recent host that ended in a failure state; what `--on-failure ask` asks about. */
  lastFailedHost?: string;
  startedAt?: number;
  /** Epoch ms of run-done. */
  endedAt?: number;
  done?: { exitCode: number; counts: Partial<Record<TerminalState, number>>; ms: number };
  errorIndex: Map<string, ErrorGroupState>;
  limits: RunLimits;
}

/** Every host state, active ones first; the queries count over it. */
export const ALL_STATES: readonly HostState[] = [
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
  if (s.limits.timeline <= 0) return; // a state for a view that shows no timeline keeps none
  const last = h.timeline[h.timeline.length - 1];
  if (last && last.state === entry.state && last.remotePhase === entry.remotePhase) return;
  h.timelineDropped += pushBounded(h.timeline, entry, s.limits.timeline);
}

/** Failures group by outcome, reason and the message's shape (PIDs, ports, URLs, run ids … left out: failure-shape.ts). */
export function groupKeyOf(outcome: TerminalState, e: HostError): string {
  return JSON.stringify([outcome, e.code, e.win32 ?? null, e.errorClass ?? null, failureShape(e.message)]);
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
        ...(e.strategy.canaryDefault ? { canaryDefault: true } : {}),
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
    case 'host-evidence': {
      ensureHost(s, e.host).evidence = e.evidence;
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
