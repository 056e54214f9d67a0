/**
 * The shapes of a journaled run, as written by store.ts and read back by store.ts and replay.ts: the manifest,
 * the hosts of the run, the log records and the whole run as read. Types and one constant only, so that the
 * reader side (replay) and the writer side (store) both depend on this file and not on each other.
 */
import type { FleetEvent, RunMode, TerminalState } from '../engine/events.js';
import type { Snapshot } from '../remote/protocol.js';

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
}

export interface RunRecord {
  manifest: RunManifest;
  /** True when status says running but its controller is gone (crash, kill -9). */
  interrupted: boolean;
  spec: unknown;
  hosts: JournalHost[];
  events: FleetEvent[];
  /** host -> service -> the FIRST before-snapshot this run journaled (what rollback restores). */
  snapshots: Map<string, Map<string, Snapshot>>;
  /** Damaged lines skipped, and whether the file ended in a torn line (a crash mid-write). */
  damaged: number;
  tornTail: boolean;
  lastSeq: number;
}
