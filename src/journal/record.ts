/**
 * The shapes of a journaled run, as written by store.ts and read back by store.ts and replay.ts: the manifest,
 * the hosts of the run, the log records and the whole run as read. Types and one constant only, so that the
 * reader side (replay) and the writer side (store) both depend on this file and not on each other.
 */
import type { Size } from '../config/strategy.js';
import type { FleetEvent, RunMode, TerminalState } from '../engine/events.js';
import type { Snapshot } from '../remote/protocol.js';
import type { SecretRef } from '../util/secret-ref.js';

export const MANIFEST_FORMAT = 'svcfleet-run';

export interface RunManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  runId: string;
  mode: RunMode;
  createdAt: string;
  updatedAt: string;
  /** `running` while a controller works on it; a dead controller's run reads back as interrupted. */
  status: 'running' | 'done';
  pid: number;
  hostname: string;
  /** How many times a controller started on this run (1 + resumes/retries). */
  segments: number;
  hostCount: number;
  specFile?: string;
  /** The inventory as loaded (for display). */
  inventorySource?: string;
  /** The inventory sources to read again for resume/retry/rollback (absolute paths, or host lists). */
  inventorySources?: string[];
  limit?: string;
  planFile?: string;
  /** rollback runs: the run being rolled back. */
  parentRunId?: string;
  counts?: Partial<Record<TerminalState, number>>;
  exitCode?: number;
}

/** A host as the journal keeps it: enough to show, resume and roll back, never a secret. */
export interface JournalHost {
  name: string;
  groups: string[];
  vars: Record<string, unknown>;
  connection: Record<string, unknown>;
  changes?: unknown[];
  plannedHashes?: Record<string, string>;
}

export type JournalRecord = { r: 'event'; e: FleetEvent } | { r: 'snapshot'; host: string; service: string; at: string; snapshot: Snapshot };

/** Where a run came from, as the manifest records it. */
type RunOrigin = Pick<RunManifest, 'runId' | 'mode' | 'specFile' | 'inventorySource' | 'inventorySources' | 'limit' | 'planFile' | 'parentRunId'>;

export interface RunInit extends RunOrigin {
  spec?: unknown;
  hosts: JournalHost[];
  /** What the run applies and how it rolls out (inputs.json); written before any host is contacted. */
  inputs?: RunInputs;
}

/**
 * The settings that shape a rollout, as the run resolved them (flags over environment over config file over
 * defaults). `resume`, `retry` and `rollback` of the run use these, not whatever the configuration says today.
 */
export interface RolloutSettings {
  concurrency: number;
  handshakeConcurrency: number;
  failureBudget: Size;
  /** The canary entries as given (counts, percentages or host patterns)... */
  canary: string[];
  /** ...and the hosts they selected in this run. */
  canaryHosts: string[];
  batches: Size[];
  unreachableCountsAsFailure: boolean;
  rollbackBatchOnBudget: boolean;
  onFailure: 'continue' | 'ask';
  retries: { count: number; backoffMs: number; maxBackoffMs: number };
  deadlines: { connectMs: number; authMs: number; commandMs: number; hostMs: number };
}

/**
 * One service request of one host as the run rendered it, never holding a secret: the account password is
 * `passwordRef` (where it comes from, resolved again by whoever runs the request), and secret-looking
 * environment values are sealed (filled again from the spec only while its digest is unchanged).
 */
export type JournaledRequest = Record<string, unknown> & { service: string; passwordRef?: SecretRef };

/** Where a run's change came from: a spec file, or a saved plan (and the spec the plan names). */
export type RunSource = { kind: 'spec'; file: string; digest: string } | { kind: 'plan'; file: string; digest: string; spec: { file: string; digest: string } };

/** The reviewed inputs of a run (inputs.json), so that continuing or undoing it does exactly what ran. */
export interface RunInputs {
  format: 'svcfleet-run-inputs';
  version: 1;
  source?: RunSource;
  /** Every host of the run, in run order, and how it was selected. */
  selection: { hosts: string[]; inventory: string[]; limit?: string };
  rollout: RolloutSettings;
  /** apply runs: host -> its requests, in spec order. */
  requests?: Record<string, JournaledRequest[]>;
  /** apply runs from a plan: host -> service -> the configuration hash the plan saw (the drift guard). */
  plannedHashes?: Record<string, Record<string, string>>;
}

export interface RunRecord {
  manifest: RunManifest;
  /** True when status says running but its controller is gone (crash, kill -9). */
  interrupted: boolean;
  spec: unknown;
  hosts: JournalHost[];
  /** Undefined for runs journaled before svcfleet recorded them (or when inputs.json is unreadable). */
  inputs?: RunInputs;
  /** inputs.json exists but did not read back: the run cannot be continued as reviewed. */
  inputsDamaged?: boolean;
  events: FleetEvent[];
  /** host -> service -> the FIRST before-snapshot this run journaled (what rollback restores). */
  snapshots: Map<string, Map<string, Snapshot>>;
  /** Damaged lines skipped, and whether the file ended in a torn line (a crash mid-write). */
  damaged: number;
  tornTail: boolean;
  lastSeq: number;
}
