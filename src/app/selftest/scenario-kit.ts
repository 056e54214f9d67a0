/**
 * What a selftest scenario is and what it may do on the host (the context runSelftest gives it), and the checks it
 * collects. Shared by the scenario modules (scenarios.ts, scenarios-process-account.ts).
 */
import type { RemoteResult } from '../../remote/protocol.js';
import type { ReadAnswer } from './host-script.js';

export type CaseStatus = 'passed' | 'failed' | 'not-run';

export interface SelftestCase {
  name: string;
  status: CaseStatus;
  /** Failed: what differed; not run: why. */
  message: string;
  /** Every check made, in order (for --junit system-out and the plain report on failure). */
  details: string[];
  ms: number;
}

/** What a scenario may do on the host. */
export interface ScenarioContext {
  service: string;
  /** The scratch service's binary path as created (`<exe> --port N`). */
  baseBinaryPath: string;
  port: number;
  program: 'scratch-service' | 'lab-svcprogram';
  /** plan, then apply with expectedHash (what `svcfleet apply` sends per service); `service` by default. */
  apply(fields: ApplyFields, target?: string): Promise<RemoteResult>;
  /** apply without a plan first (the hash from a snapshot): proves apply's own refusal when plan would refuse too. */
  applyUnplanned(fields: ApplyFields, target?: string): Promise<RemoteResult>;
  /** rollback to the backup the apply of `result` wrote on the host (what `svcfleet rollback` sends). */
  rollbackTo(result: RemoteResult, fields?: RollbackFields): Promise<RemoteResult>;
  read(): Promise<ReadAnswer>;
  /** The independent reader for another scratch service (one made by addDependent). */
  readService(name: string): Promise<ReadAnswer>;
  /**
   * A second scratch service on the same program and `port`, depending on the scratch service, created and started
   * (`<service>-dep`). runSelftest removes it at the end if the scenario did not (before the scratch service).
   */
  addDependent(port: number): Promise<{ name: string; binaryPath: string }>;
  removeService(name: string): Promise<void>;
  /** Grant (true) or remove a read entry for Users on the scratch service's own backup folder. */
  backupFolderAcl(grant: boolean): Promise<void>;
  /** A free TCP port on the host's loopback, for a second scratch service. */
  otherPort: number;
  /**
   * Two scratch services of type 0x20 in ONE process of the scratch program (`--services slow,other`), created and
   * started: `slow`'s stop handler takes `stopMs` (--stop-ms-service), `other` stops at once. runSelftest removes them
   * at the end if the scenario did not.
   */
  addShared(port: number): Promise<{ slow: string; other: string; binaryPath: string; stopMs: number }>;
  /** A scratch local user without "Log on as a service"; removed at the end if the scenario did not. */
  addUser(): Promise<{ account: string; password: string }>;
  /** The independent reading (LSA on Windows) of whether the scratch user exists and holds the right. */
  userRight(): Promise<{ exists: boolean; granted: boolean }>;
  /** LsaRemoveAccountRights(SeServiceLogonRight) for the scratch user; true when it held the right. */
  revokeUserRight(): Promise<boolean>;
  /** Revoke the right if held, remove the user's profile, delete the user. */
  removeUser(): Promise<void>;
}

type Request = import('../../remote/invocation.js').OutgoingRequest;
export type ApplyFields = Pick<Request, 'desired' | 'restart' | 'verify' | 'rollback' | 'timeouts' | 'dependents'>;
export type RollbackFields = Pick<Request, 'timeouts' | 'dependents' | 'restart' | 'verify'>;

/** Collects checks; a scenario fails when one of them failed. */
export class Checks {
  readonly details: string[] = [];
  readonly failures: string[] = [];
  that(ok: boolean, what: string, got?: unknown): boolean {
    const line = ok ? `ok: ${what}` : `FAILED: ${what}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    this.details.push(line);
    if (!ok) this.failures.push(line.slice('FAILED: '.length));
    return ok;
  }
  outcome(r: RemoteResult, want: string, step: string): boolean {
    return this.that(r.outcome === want, `${step}: the engine reports ${want}`, `${r.outcome}/${r.reason.code}: ${r.message}`);
  }
}

export interface Scenario {
  name: string;
  /** Returns a reason when the scenario cannot run on this host. */
  notRun?(ctx: ScenarioContext): string | undefined;
  run(ctx: ScenarioContext, check: Checks): Promise<void>;
}
