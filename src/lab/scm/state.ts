/**
 * The on-disk state of one emulated Windows host: `<stateDir>/host.json`, shared with the PowerShell module
 * (parts/State.ps1 reads and writes the same file under the same lock). Also where the module's and the
 * service program's files live.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { statFields } from '../../util/proc-stat.js';

export type LabStartType = 'boot' | 'system' | 'auto' | 'demand' | 'disabled';
export type LabServiceState = 'stopped' | 'start-pending' | 'running' | 'stop-pending';
export type LabActionType = 'none' | 'restart' | 'reboot' | 'run';
export type LabRegistryKind = 'String' | 'ExpandString' | 'DWord' | 'QWord' | 'MultiString' | 'Binary';

export interface LabFailureState {
  /** Seconds; 4294967295 = INFINITE. */
  resetPeriod: number;
  rebootMessage: string;
  command: string;
  actions: { type: LabActionType; delayMs: number }[];
  nonCrashFailures: boolean;
}

export interface LabStatus {
  state: LabServiceState;
  pid: number;
  /** /proc starttime of `pid`, so that a recycled PID is never taken for the service. */
  procStart: number | null;
  win32ExitCode: number;
  serviceExitCode: number;
  startedAt?: number;
  /** START_PENDING past this (epoch ms) fails with 1053. */
  deadline?: number;
  /** Written by the process itself ("PID\n"): lets a start whose caller was killed before recording the PID be
   * completed (parts/Process.ps1, New-LabStartRecord). */
  pidFile?: string;
  readyFile?: string;
  exitFile?: string;
  stopRequested?: boolean;
  /** What the running process was started with: it keeps these until it restarts (docs/reference/windows-services.md#when-a-change-takes-effect). */
  args?: string[];
  environment?: string[];
  commandLine?: string;
  account?: string;
  /** The Windows path of the running image: a share-process service (0x20) joins a process of the same image. */
  image?: string;
  hang?: boolean;
  /** When the stop control was sent (epoch ms): a stopping service's checkpoint advances from here. */
  stopAt?: number;
  /** svcprogram --stop-ms: busy in its stop handler (still RUNNING) until then; other controls wait, then 1053. */
  busyUntil?: number;
  /** stuck-stop-pending: the checkpoint never advances. */
  hung?: boolean;
}

/** One failure of a service (its process ended without reporting SERVICE_STOPPED) and the action it queued. */
export interface LabFailureEntry {
  at: number;
  count: number;
  action: LabActionType;
  delayMs: number;
  /** When the action fired (parts/Process.ps1, Invoke-LabDueRecovery); null while queued or for `none`. */
  firedAt: number | null;
}

/** The SCM's failure bookkeeping for one service (docs/reference/windows-services.md "Failure count and repetition"). */
export interface LabRecoveryState {
  count: number;
  lastFailureAt: number;
  pending: { action: LabActionType; dueAt: number; count: number } | null;
  log: LabFailureEntry[];
}

/** An action the emulated SCM took on its own; reboot and run are only ever recorded. */
export interface LabRecoveryFired {
  at: number;
  service: string;
  action: LabActionType;
  /** restart: StartService's Win32 code (or "already <state>"). */
  result?: number | string;
  command?: string;
  message?: string;
}

export interface LabRegistryValue {
  kind: LabRegistryKind;
  value: string | number | string[] | number[];
}

export interface LabServiceRecord {
  name: string;
  displayName: string;
  description: string;
  binaryPath: string;
  /** SERVICE_TYPE bits: 0x10 own, 0x20 share, 0x100 interactive, 0x1 kernel driver. */
  serviceType: number;
  startType: LabStartType;
  delayedAutoStart: boolean;
  errorControl: number;
  account: string;
  /** SHA-256 (hex) of the configured password; never the password itself. */
  passwordSha256: string | null;
  /** Service names; group dependencies carry a leading '+'. */
  dependencies: string[];
  loadOrderGroup: string;
  tag: number;
  failure: LabFailureState;
  failureConfigured: boolean;
  /** Values written directly to the registry (and values with no SCM API, like Environment). */
  registry: Record<string, LabRegistryValue>;
  registryDeleted: string[];
  /** A built-in service without a process (Tcpip, RpcSs, ...). */
  virtual: boolean;
  stoppable: boolean;
  /** Its process is critical to Windows: the emulated IsProcessCritical says so (LabServiceSpec.criticalProcess). */
  criticalProcess?: boolean;
  status: LabStatus;
  recovery?: LabRecoveryState;
}

export type LabFaultKind =
  | 'access-denied'
  | 'no-such-service'
  | 'marked-for-delete'
  | 'start-timeout'
  | 'logon-failure'
  | 'crash-after-start'
  | 'stuck-stop-pending'
  | 'engine-dies'
  | 'session-drops'
  /** Sets off the host's connection fault of the lab fleet (sshd-restart, winrm-reset, link-stall) at this call. */
  | 'connection-fault';

export type LabFaultOp = 'query' | 'config' | 'start' | 'stop' | 'registry-read' | 'registry-write';

/** An injected fault. It fires on calls of `ops` (default per kind) against `service` (default any). */
export interface LabFaultSpec {
  kind: LabFaultKind;
  service?: string;
  ops?: LabFaultOp[];
  /** Only calls whose subject (the new values of a config change, the binary path being started) contain this. */
  contains?: string;
  /** Fire from the nth matching call on (default 1). */
  nth?: number;
  /** Fire at most this many times (default: unlimited). */
  times?: number;
  /** crash-after-start: ms after RUNNING (default 500). */
  afterMs?: number;
  /** engine-dies / session-drops / connection-fault: act before the call (default) or once it has taken effect (written). */
  when?: 'before' | 'after';
  /** engine-dies / session-drops / connection-fault: count only calls after the first call of this op (e.g. start: the restart). */
  since?: LabFaultOp;
}

export interface LabFault extends LabFaultSpec {
  calls: number;
  fired: number;
}

export interface LabHostState {
  format: 'svcfleet-lab-host';
  version: 1;
  createdAt: string;
  startTimeoutMs: number;
  /** Windows paths of the host's executables; every one runs the lab service program. */
  installedFiles: string[];
  /** serviceLogonRight: the account holds "Log on as a service" (SeServiceLogonRight); absent = true. */
  accounts: Record<string, { passwordSha256: string; serviceLogonRight?: boolean; sid?: string }>;
  /** SIDs (or names) left holding "Log on as a service" by accounts deleted while they held it (parts/Accounts.ps1). */
  logonRightOrphans?: string[];
  /** The RID of the next local user made by parts/Accounts.ps1 (never reused). */
  nextLocalRid?: number;
  faults: LabFault[];
  /** The emulated resource DLLs: `path,-id` (with `%VAR%` as in the indirect string) -> text. Indirect display names
   * and descriptions (`@path,-id`) resolve through these where Windows resolves them (parts/Registry.ps1). */
  resourceStrings?: Record<string, string>;
  /** icacls grants recorded per path. */
  acls: Record<string, unknown>;
  services: Record<string, LabServiceRecord>;
  /** Recovery actions the emulated SCM fired, in order (never anything real: a reboot is just this record). */
  recoveryFired?: LabRecoveryFired[];
}

/**
 * Files of the emulated SCM. They sit next to this module in both trees: src/lab/scm/ (tests run the sources)
 * and dist/lab/scm/ (the build copies them there, scripts/copy-assets.mjs), so nothing at run time reads src/.
 */
export const labScmFiles = (() => {
  const root = path.dirname(fileURLToPath(import.meta.url));
  return {
    dir: root,
    module: path.join(root, 'EmulatedScm.psm1'),
    /** The public commands; dot-sourced at global scope before the module is imported (see EmulatedScm.psm1). */
    wrappers: path.join(root, 'parts', 'Wrappers.ps1'),
    svcprogram: path.join(root, 'svcprogram.mjs'),
    poolWorker: path.join(root, 'pool-worker.ps1'),
    powershellShim: path.join(root, 'bin', 'powershell.exe'),
  };
})();

export function hostFile(stateDir: string): string {
  return path.join(stateDir, 'host.json');
}

export function readHostState(stateDir: string): LabHostState {
  const text = fs.readFileSync(hostFile(stateDir), 'utf8');
  const state = JSON.parse(text) as LabHostState;
  if (state.format !== 'svcfleet-lab-host') throw new Error(`${hostFile(stateDir)} is not an emulated host state file`);
  return state;
}

export function writeHostState(stateDir: string, state: LabHostState): void {
  const file = hostFile(stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
  fs.renameSync(tmp, file);
}

/** /proc starttime of a live, non-zombie process, else null. */
export function procStart(pid: number): number | null {
  if (!(pid > 0)) return null;
  const fields = statFields(pid);
  if (!fields || fields[3 - 3] === 'Z' || fields[3 - 3] === 'X') return null; // state: zombie or dead
  return Number(fields[22 - 3]); // starttime
}

export function processAlive(pid: number, start: number | null | undefined): boolean {
  const s = procStart(pid);
  if (s === null) return false;
  return start === null || start === undefined || s === start;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Run `fn` holding the host lock: `host.lock` created with O_EXCL and holding our PID; a lock whose owner is dead
 * (or that is older than 30 s, its owner written or not) is broken. The PowerShell side (Enter-LabLock) uses the same protocol.
 */
export function withHostLock<T>(stateDir: string, fn: () => T): T {
  const lock = path.join(stateDir, 'host.lock');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = '';
      let age = 0;
      try {
        owner = fs.readFileSync(lock, 'utf8').trim();
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch {
        continue;
      }
      // An empty lock's creator has not written its PID yet (seconds, on a loaded machine): only its age breaks it.
      const stale = (/^\d+$/.test(owner) && procStart(Number(owner)) === null) || age > 30_000;
      if (stale) {
        try {
          fs.unlinkSync(lock);
        } catch {
          /* someone else broke it */
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`svcfleet lab: timed out waiting for ${lock} (owner ${owner})`);
      sleepSync(5);
    }
  }
  try {
    return fn();
  } finally {
    try {
      fs.unlinkSync(lock);
    } catch {
      /* already gone */
    }
  }
}

/** Same grace as $script:LabSpawnGraceMs in parts/Process.ps1. */
const SPAWN_GRACE_MS = 5000;

function readSpawnedPid(file: string | undefined): number | null {
  if (!file) return null;
  try {
    const m = /^(\d+)\n/.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Fold what a service's process did since the last look into its status (the PowerShell module does the same in
 * Update-LabStatus): ready file -> RUNNING, process gone -> STOPPED (1067 when it was not asked to stop), START_PENDING
 * past the deadline -> killed, STOPPED with 1053.
 */
export function refreshStatus(svc: LabServiceRecord, now = Date.now()): void {
  const st = svc.status;
  if (svc.virtual || st.state === 'stopped') return;
  if (st.state === 'start-pending' && !(st.pid > 0)) {
    // A start whose caller was killed before it recorded the PID. Unlike Resolve-LabSpawnedPid this does not wait:
    // within the grace period the start simply stays pending.
    const pid = readSpawnedPid(st.pidFile);
    if (pid !== null) {
      st.pid = pid;
      st.procStart = procStart(pid);
    } else if (now - (st.startedAt ?? 0) <= SPAWN_GRACE_MS) {
      return;
    }
  }
  const alive = processAlive(st.pid, st.procStart);
  const stopped = (win32: number, died: boolean) => {
    let code = 0;
    try {
      if (st.exitFile) code = Number(fs.readFileSync(st.exitFile, 'utf8').trim()) || 0;
    } catch {
      /* no exit file: killed by a signal */
    }
    if (died && !st.stopRequested) {
      st.win32ExitCode = 1067;
      st.serviceExitCode = code;
    } else {
      st.win32ExitCode = win32;
      st.serviceExitCode = 0;
    }
    st.state = 'stopped';
    st.pid = 0;
    st.procStart = null;
    st.stopRequested = false;
  };
  if (st.state === 'start-pending') {
    if (!alive) stopped(0, true);
    else if (st.readyFile && fs.existsSync(st.readyFile)) st.state = 'running';
    else if (st.deadline !== undefined && now > st.deadline) {
      try {
        process.kill(st.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      stopped(1053, false);
    }
  } else if (st.state === 'running') {
    // One that took a stop control and exited through its handler (svcprogram --stop-ms) stopped cleanly.
    if (!alive) {
      if (st.stopRequested && st.exitFile && fs.existsSync(st.exitFile)) stopped(0, false);
      else {
        st.stopRequested = false;
        stopped(0, true);
        registerFailure(svc, now);
      }
    }
  } else if (st.state === 'stop-pending') {
    if (!alive) {
      // Exited through its stop handler (exit file written) or ended from outside: the latter is a failure.
      if (st.exitFile && fs.existsSync(st.exitFile)) stopped(0, false);
      else {
        st.stopRequested = false;
        stopped(0, true);
        registerFailure(svc, now);
      }
    }
  }
}

/**
 * Count a failure and queue its action, exactly as Register-LabServiceFailure in parts/Process.ps1 (which also
 * fires due actions; this side only queues them).
 */
export function registerFailure(svc: LabServiceRecord, now = Date.now()): void {
  const rec: LabRecoveryState = svc.recovery ?? { count: 0, lastFailureAt: 0, pending: null, log: [] };
  svc.recovery = rec;
  const reset = svc.failure.resetPeriod;
  if (rec.count > 0 && reset !== 4294967295 && now - rec.lastFailureAt > reset * 1000) rec.count = 0;
  rec.count += 1;
  rec.lastFailureAt = now;
  const actions = svc.failure.actions ?? [];
  const entry: LabFailureEntry = { at: now, count: rec.count, action: 'none', delayMs: 0, firedAt: null };
  if (actions.length) {
    const a = actions[Math.min(rec.count, actions.length) - 1]!;
    entry.action = a.type;
    entry.delayMs = a.delayMs;
    if (a.type !== 'none') rec.pending = { action: a.type, dueAt: now + a.delayMs, count: rec.count };
  }
  rec.log = [...(rec.log ?? []), entry];
}
