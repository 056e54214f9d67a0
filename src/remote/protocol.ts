/**
 * The wire contract between the controller and the remote engine (ps-scripts/).
 *
 * The controller sends the same static bootstrap every time (as -EncodedCommand) and writes one UTF-8 JSON
 * `Payload` to the remote process's stdin. Every value here is data: the remote engine never splices a request
 * value into script text. The remote engine answers with framed lines on stdout (see `remote/frames.ts`):
 * zero or more `RemoteEvent`s, then exactly one `RemoteResult`.
 *
 * Documented for users in docs/remote-protocol.md. Bump PROTOCOL_VERSION on any incompatible change.
 */

export const PROTOCOL_VERSION = 1 as const;

export type StartType = 'boot' | 'system' | 'auto' | 'delayed-auto' | 'demand' | 'disabled';
export type ErrorControl = 'ignore' | 'normal' | 'severe' | 'critical';
export type FailureActionType = 'none' | 'restart' | 'reboot' | 'run';
export type RestartPolicy = 'never' | 'if-needed' | 'always';
export type RollbackPolicy = 'auto' | 'never';

export interface FailureAction {
  type: FailureActionType;
  delayMs: number;
}

export interface FailureSettings {
  /** Seconds, or 'infinite' (stored as 0xFFFFFFFF by Windows). */
  resetPeriod: number | 'infinite';
  rebootMessage: string;
  command: string;
  actions: FailureAction[];
  /** FailureActionsOnNonCrashFailures (`sc.exe failureflag <svc> 0|1`). */
  nonCrashFailures: boolean;
}

/** The full, restorable configuration of one service, read locale-independently (CIM + registry). */
export interface ServiceConfig {
  name: string;
  displayName: string;
  binaryPath: string;
  startType: StartType;
  errorControl: ErrorControl;
  /** Raw SERVICE_TYPE bits, e.g. 0x10 own process; restored as-is. */
  serviceType: number;
  /** ObjectName; never a password. */
  account: string;
  description: string;
  /** Service dependencies by name; group dependencies carry a leading '+' (SC_GROUP_IDENTIFIER). */
  dependencies: string[];
  loadOrderGroup: string;
  failure: FailureSettings;
  /** The per-service `Environment` REG_MULTI_SZ as NAME -> value (insertion order kept); null when absent. */
  environment: Record<string, string> | null;
}

export type ServiceState = 'stopped' | 'start-pending' | 'stop-pending' | 'running' | 'continue-pending' | 'pause-pending' | 'paused';

export interface Finding {
  /** e.g. 'unquoted-path' (CWE-428). */
  code: string;
  message: string;
}

export interface Snapshot {
  config: ServiceConfig;
  /** Stable hash of `config` (not of state/pid): the drift guard compares it. */
  configHash: string;
  state: ServiceState;
  pid: number | null;
  /** UTC ISO-8601. */
  takenAt: string;
  findings: Finding[];
}

/** Edit the arguments of a binary path while keeping its executable. Applied after `binaryPath`, if both are given. */
export interface ArgsEdit {
  /** `--name value` (or `--name=value` when the current path uses that form); `true` = a bare flag. Appended when absent. */
  set?: Record<string, string | true>;
  /** Flags to remove, with their values. */
  remove?: string[];
}

/** The account part of DesiredConfig; P is how the password is held (a string on the wire). */
export interface AccountSetting<P> {
  name: string;
  password?: P;
  passwordAtApply?: boolean;
  rotatePassword?: boolean;
  rollbackPassword?: 'none';
  grantLogonRight?: boolean;
}

/** What the change spec wants; only the listed fields change. */
export interface DesiredConfig {
  binaryPath?: string;
  args?: ArgsEdit;
  startType?: StartType;
  errorControl?: ErrorControl;
  displayName?: string;
  description?: string;
  /**
   * password: travels only in an apply request; it is never echoed, logged, backed up or put in an event. It is
   * written only with a new account or when rotatePassword is true (Windows never reveals the stored one, so it
   * cannot be compared). passwordAtApply (plan): apply will carry the password, so a plan needs none.
   * rollbackPassword 'none': the caller accepts that a rollback to a password account cannot restore its password.
   * grantLogonRight: apply may grant the account "Log on as a service" when it lacks it.
   */
  account?: AccountSetting<string>;
  dependencies?: string[];
  loadOrderGroup?: string;
  failure?: Partial<FailureSettings>;
  /** Replaces the whole `Environment` value; null removes it. */
  environment?: Record<string, string> | null;
}

export interface VerifySpec {
  /** Require state RUNNING (default true when the service was running before). */
  running?: boolean;
  /** A TCP port on the target's loopback that must accept connections. */
  port?: number;
  /** Overall budget for reaching the gates, seconds (default 60). */
  timeoutSeconds?: number;
  /** After RUNNING, how long the service must stay up with the same PID (catches crash-after-start), seconds. */
  settleSeconds?: number;
  /** 'running': every service dependency must be RUNNING. */
  dependencies?: 'running' | 'ignore';
  /** Optional HTTP check, GET from the target itself. */
  http?: { url: string; status?: number };
}

export type Operation = 'snapshot' | 'plan' | 'apply' | 'rollback';

/**
 * What a restart does about services that depend on this one and run (Windows refuses to stop it while they do,
 * 1051): 'refuse' (default) changes nothing; 'stop-and-restart' stops them first and starts them again after.
 */
export type DependentsPolicy = 'refuse' | 'stop-and-restart';

export interface RemoteRequest {
  v: typeof PROTOCOL_VERSION;
  op: Operation;
  /** Per-call random nonce; every framed line carries it. */
  nonce: string;
  runId: string;
  service: string;
  desired?: DesiredConfig;
  /** apply: refuse with outcome `drifted`, changing nothing, when the current config hash differs. */
  expectedHash?: string;
  restart?: RestartPolicy;
  verify?: VerifySpec;
  rollback?: RollbackPolicy;
  dependents?: DependentsPolicy;
  /** rollback: restore this snapshot, or the host's own backup written by run `fromRunId`. */
  restore?: { snapshot?: Snapshot; fromRunId?: string };
  timeouts?: { stopSeconds?: number; startSeconds?: number };
  /** How many backups the host keeps per service (apply and rollback prune the oldest; default 10). */
  backups?: { keep?: number };
}

/** Exactly what goes to the remote process's stdin, as UTF-8 JSON. `script` is a static ps-scripts file. */
export interface Payload {
  script: string;
  /** ps-scripts/native.ps1, static: the engine loads it only for a request that needs native code. */
  native: string;
  request: RemoteRequest;
}

export type Outcome = 'unchanged' | 'changed' | 'rolled-back' | 'rollback-failed' | 'failed' | 'drifted';

/**
 * The only values an `account.password` FieldChange carries: why a password is written ('(set)': with a new
 * account; '(rotate)': account.rotatePassword). The password itself never appears in a diff.
 */
export const PASSWORD_CHANGE_VALUES: readonly string[] = ['(set)', '(rotate)'];

export interface FieldChange {
  /** Dotted field name, e.g. 'binaryPath', 'failure.actions', 'environment'. */
  field: string;
  before: unknown;
  after: unknown;
  /** Per the take-effect table (docs/reference/windows-services.md#when-a-change-takes-effect): does this change need a restart to take effect? */
  restartNeeded: boolean;
}

export type RemotePhase =
  | 'start'
  | 'snapshot'
  | 'plan'
  | 'backup'
  | 'apply'
  | 'readback'
  | 'stop'
  | 'start-service'
  | 'verify'
  | 'rollback'
  | 'rollback-verify'
  | 'done';

export interface RemoteEvent {
  kind: 'event';
  phase: RemotePhase;
  /** UTC ISO-8601. */
  at: string;
  level?: 'info' | 'warn' | 'error';
  message?: string;
  data?: Record<string, unknown>;
}

/** One line logged about a service: an event-log entry (docs/reference/windows-services.md "Start-failure evidence"). */
export interface EvidenceLine {
  /** UTC ISO-8601. */
  at: string;
  /** 'System/Service Control Manager', or 'Application/<source>'. */
  source: string;
  /** The event id (0 for a line of the lab service program's own output). */
  id: number;
  text: string;
}

/**
 * What a service said when it failed to start or died during verify: its SERVICE_STATUS exit codes
 * (dwWin32ExitCode; dwServiceSpecificExitCode, meaningful when the Win32 code is 1066) and the last lines logged
 * about it since the start. At most 20 lines and 4 KB of text (the engine cuts; the controller checks again).
 */
export interface StartEvidence {
  service: string;
  win32ExitCode: number | null;
  serviceExitCode: number | null;
  lines: EvidenceLine[];
  /** Older lines were left out to stay within the bounds. */
  truncated: boolean;
}

export interface RemoteResult {
  kind: 'result';
  op: Operation;
  outcome: Outcome;
  /** Machine-readable: e.g. 'ok', 'win32', 'verify-port', 'drift', 'bad-request', 'unquoted-path'. */
  reason: { code: string; win32?: number };
  message: string;
  /** The before-snapshot (snapshot/plan/apply) or the snapshot restored (rollback). */
  snapshot?: Snapshot;
  /** Read back after apply or rollback. */
  after?: Snapshot;
  diff?: FieldChange[];
  restartNeeded?: boolean;
  restarted?: boolean;
  /** Running services that depend on this one, in stop order, when a restart would have to stop them. */
  runningDependents?: string[];
  /** Host path of the backup written before any change. */
  backupPath?: string;
  /**
   * plan/apply: an earlier apply of the service (run `runId`) died at `step` and left its transaction record on the
   * host; an apply finishes it against that apply's backup (docs/remote-protocol.md "The transaction record").
   */
  interrupted?: { runId: string; step: string };
  /** Present when an apply failed and a rollback was attempted. */
  rollback?: { ok: boolean; message: string; reason?: { code: string; win32?: number } };
  /** Present when the service failed to start or died during verify (the first such failure of the call). */
  evidence?: StartEvidence;
}

export type RemoteFrame = RemoteEvent | RemoteResult;
