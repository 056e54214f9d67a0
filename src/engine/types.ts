/**
 * What the engine is given: the per-host work, the rollout strategy, and the I/O it may use (open a session,
 * run one remote op, make snapshots durable). Everything is injected, so the scheduler is tested with an
 * in-memory transport and runs for real on the lab fleet, SSH or WinRM without a change.
 */
import type { HostSpec } from '../inventory/types.js';
import type { OutgoingRequest, ServiceChange } from '../remote/invocation.js';
import type { RemoteEvent, RemoteResult, Snapshot } from '../remote/protocol.js';
import type { Deadlines, OpenOptions, Session } from '../transport/types.js';
import type { RunMode } from './events.js';
import type { Strategy } from '../config/strategy.js';

/**
 * One service's wanted change on one host. Defined in remote/invocation.ts, below the spec that renders it and
 * the engine that runs it; re-exported here because it is part of what the engine is given.
 */
export type { ServiceChange };

/** What `rollback` restores for one service: a journaled snapshot, or the host's own backup of a run. */
export interface ServiceRestore {
  service: string;
  snapshot?: Snapshot;
  fromRunId?: string;
}

export interface HostTask {
  host: HostSpec;
  /** plan / apply: the services to change, in order. */
  changes?: ServiceChange[];
  /** apply of a saved plan: service -> configHash the plan saw. A different current hash ends the host `drifted`. */
  plannedHashes?: Record<string, string>;
  /** rollback: what to restore, per service. */
  restores?: ServiceRestore[];
  /**
   * resume/retry: the first before-snapshot this run journaled for the host. When the host now shows no diff
   * but its hash moved away from this snapshot, an earlier attempt applied the change: the outcome is `changed`.
   */
  priorSnapshots?: Record<string, Snapshot>;
}

export interface RemoteCallOptions {
  /** Named in errors. */
  host?: string;
  signal?: AbortSignal;
  commandMs: number;
  onEvent?: (event: RemoteEvent) => void;
}

/** The engine's only ways to reach a host. */
export interface EngineIO {
  openSession(host: HostSpec, options: OpenOptions): Promise<Session>;
  /** Run one remote op over a session: build the invocation, parse the frames, return the one result. */
  runRemote(session: Session, request: OutgoingRequest, options: RemoteCallOptions): Promise<RemoteResult>;
  /** Per-call nonce (default: remote/invocation.ts newNonce). */
  newNonce?(): string;
}

/** Durable storage of before-snapshots: `save` resolves only once the records are on disk (fsync). */
export interface SnapshotStore {
  saveSnapshots(host: string, snapshots: { service: string; snapshot: Snapshot }[]): Promise<void>;
}

export interface RunOptions {
  /** Default: a fresh time-ordered id (journal/ids.ts). */
  runId?: string;
  mode: RunMode;
  tasks: HostTask[];
  strategy?: Partial<Strategy>;
  io: EngineIO;
  /** Required for apply (the before-snapshot must be durable before the apply request is sent). */
  snapshots?: SnapshotStore;
  deadlines?: Partial<Deadlines>;
  /** Budget for a controller-driven rollback after a cancel or a host deadline, ms (default 180 s). */
  rollbackMs?: number;
  specFile?: string;
  /** apply of a saved plan: its digest, in run-start. */
  planDigest?: string;
  /** Continue a journaled run's sequence (resume / retry append to the same run). */
  seqStart?: number;
  /** Called when a sink throws; the run goes on (default: one line on stderr). */
  onSinkError?: (err: unknown) => void;
  /** For tests: replace timers' sleep (backoff). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}
