/**
 * The one typed event stream of a run. The engine emits; sinks (journal, dashboard, plain/NDJSON/JUnit
 * reporters) subscribe. Every event carries the run id and a monotonic sequence number so that the journal
 * can be replayed into any sink. Documented for users in docs/events.md; NDJSON prints these objects as-is.
 */
import type { FieldChange, Outcome, RemotePhase, StartEvidence } from '../remote/protocol.js';
import type { TransportErrorClass } from '../transport/types.js';

/** Non-terminal per-host states, in order (see docs/events.md for the state machine). */
export type ActiveState = 'queued' | 'connecting' | 'snapshot' | 'backup' | 'applying' | 'restarting' | 'verifying' | 'rolling-back';

/**
 * Terminal per-host states. `unreachable`: nothing changed, never reached. `skipped`: not started (abort,
 * budget, exclusion). `unknown`: the connection dropped after the change may have begun; `resume`/`rollback`
 * settle it.
 */
export type TerminalState = Outcome | 'unreachable' | 'skipped' | 'unknown';

export type HostState = ActiveState | TerminalState;

export const TERMINAL_STATES: readonly TerminalState[] = [
  'changed',
  'unchanged',
  'drifted',
  'failed',
  'rolled-back',
  'rollback-failed',
  'unreachable',
  'skipped',
  'unknown',
];

export type RunMode = 'plan' | 'apply' | 'rollback';

export interface EventBase {
  runId: string;
  seq: number;
  /** UTC ISO-8601. */
  at: string;
}

export interface RunStartEvent extends EventBase {
  type: 'run-start';
  mode: RunMode;
  specFile?: string;
  /** apply of a saved plan: the plan digest (full sha256 hex, docs/cli.md), what a change ticket pins. */
  planDigest?: string;
  services: string[];
  hosts: string[];
  strategy: {
    concurrency: number;
    canary: string[];
    batches: number[];
    failureBudget: number;
    /** true: the canary is the safe default for a large run (no --canary, no --batches), not the operator's choice. */
    canaryDefault?: boolean;
  };
}
export interface BatchStartEvent extends EventBase {
  type: 'batch-start';
  /** 0 is the canary batch when there is one. */
  index: number;
  total: number;
  canary: boolean;
  hosts: string[];
}
export interface HostPhaseEvent extends EventBase {
  type: 'host-phase';
  host: string;
  state: ActiveState;
  /** Finer step reported by the remote engine, when known. */
  remotePhase?: RemotePhase;
  service?: string;
}
export interface HostLogEvent extends EventBase {
  type: 'host-log';
  host: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  text: string;
}
export interface HostDiffEvent extends EventBase {
  type: 'host-diff';
  host: string;
  service: string;
  configHash: string;
  changes: FieldChange[];
}
/**
 * What a service said when it failed to start or died during verify (exit codes and its last logged lines,
 * bounded and scrubbed of secrets); sent just before that host's `host-done`.
 */
export interface HostEvidenceEvent extends EventBase {
  type: 'host-evidence';
  host: string;
  service: string;
  evidence: StartEvidence;
}
export interface HostDoneEvent extends EventBase {
  type: 'host-done';
  host: string;
  outcome: TerminalState;
  /** Machine-readable reason (remote reason code, or the transport error class). */
  reason: { code: string; win32?: number; errorClass?: TransportErrorClass };
  message: string;
  attempts: number;
  timings: { startedAt?: string; endedAt: string; ms: number };
  service?: string;
}
export interface BudgetEvent extends EventBase {
  type: 'budget';
  used: number;
  limit: number;
  exceeded: boolean;
}
export interface RunPausedEvent extends EventBase {
  type: 'run-paused';
  reason: 'user' | 'on-failure' | 'budget';
  /** reason 'on-failure': the host whose failure asks for an answer (retry / resume = skip it / abort). */
  host?: string;
}
export interface RunResumedEvent extends EventBase {
  type: 'run-resumed';
}
export interface RunAbortEvent extends EventBase {
  type: 'run-abort';
  /** 'journal': the run's journal could not be written (e.g. its disk is full); see docs/events.md. */
  reason: 'user' | 'signal' | 'budget' | 'canary' | 'journal';
  /** 'finish': in-flight hosts finish; 'cancel': they are cancelled and roll back. */
  inFlight: 'finish' | 'cancel';
}
export interface RunDoneEvent extends EventBase {
  type: 'run-done';
  counts: Partial<Record<TerminalState, number>>;
  exitCode: number;
  ms: number;
}

export type FleetEvent =
  | RunStartEvent
  | BatchStartEvent
  | HostPhaseEvent
  | HostLogEvent
  | HostDiffEvent
  | HostEvidenceEvent
  | HostDoneEvent
  | BudgetEvent
  | RunPausedEvent
  | RunResumedEvent
  | RunAbortEvent
  | RunDoneEvent;

export type FleetEventType = FleetEvent['type'];

/** Commands the UI (or a signal handler) may send; the engine is never driven any other way. */
export type EngineCommand =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'abort'; inFlight: 'finish' | 'cancel'; reason?: 'user' | 'signal' | 'journal' }
  | { type: 'retry'; hosts: string[] }
  | { type: 'exclude'; host: string }
  | { type: 'rollback'; hosts: string[] };

/** Documented CLI exit codes (docs/cli.md). */
export const ExitCode = {
  ok: 0,
  usage: 1,
  hostsFailed: 2,
  aborted: 3,
  rollbackFailed: 4,
} as const;

/**
 * A running (or finished) fleet run as the UI and the CLI see it. Subscribe before the run starts to see every
 * event; `send` is the only way to steer it.
 */
export interface RunHandle {
  readonly runId: string;
  subscribe(listener: (event: FleetEvent) => void): () => void;
  send(command: EngineCommand): void;
  /** Resolves with the final event once every host has a recorded terminal state. */
  readonly done: Promise<RunDoneEvent>;
}
