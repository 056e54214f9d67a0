/**
 * Emulated Windows hosts (lab): create one with its services registered and RUNNING as real processes, read its
 * state, stop it. The SCM behaviour itself lives in the PowerShell module src/lab/scm/EmulatedScm.psm1; this file
 * writes the same state format (src/lab/scm/state.ts) and starts services the same way the module does
 * (Start-LabProcess): `node svcprogram.mjs <args>` in its own session, log appended, ready file when listening.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { ErrorControl, FailureSettings, StartType } from '../remote/protocol.js';
import { imageOf, resolveImage } from '../util/windows-cmdline.js';
import {
  labScmFiles,
  processAlive,
  procStart,
  readHostState,
  refreshStatus,
  withHostLock,
  writeHostState,
  hostFile,
  type LabFault,
  type LabFaultSpec,
  type LabHostState,
  type LabServiceRecord,
  type LabServiceState,
} from './scm/state.js';

export type { LabFaultSpec, LabFaultKind, LabFaultOp, LabHostState, LabServiceRecord } from './scm/state.js';

export interface LabServiceSpec {
  name: string;
  /** The service's command line as Windows stores it, e.g. `"C:\Program Files\App\app.exe" --port 18001`. */
  binaryPath: string;
  displayName?: string;
  description?: string;
  /** Default 'auto'. */
  startType?: StartType;
  errorControl?: ErrorControl;
  /** Default LocalSystem. A non-built-in account must be listed in `accounts` with its password. */
  account?: string;
  password?: string;
  dependencies?: string[];
  loadOrderGroup?: string;
  /** SERVICE_TYPE bits (default 0x10, own process). */
  serviceType?: number;
  failure?: Partial<FailureSettings>;
  /** The per-service `Environment` REG_MULTI_SZ, as NAME -> value. */
  environment?: Record<string, string>;
  /** Extra installed files (Windows paths); the exe of `binaryPath` is always installed. */
  installedFiles?: string[];
  /** Start it during init (default: true unless disabled). */
  start?: boolean;
  /**
   * Its process is critical to Windows (a process that marked itself so, like csrss or wininit): the emulated
   * IsProcessCritical answers true for it (docs/reference/windows-services.md "Killing a service process").
   */
  criticalProcess?: boolean;
}

export interface InitLabHostOptions {
  stateDir: string;
  services: LabServiceSpec[];
  faults?: LabFaultSpec[];
  /** StartService timeout (START_PENDING longer than this fails with 1053). Default 30 000 ms, like Windows. */
  startTimeoutMs?: number;
  /** Local accounts and their passwords (for services that log on as a user). A plain password means the account
   * holds "Log on as a service"; `{ password, serviceLogonRight: false }` is an account without it. */
  accounts?: Record<string, string | { password: string; serviceLogonRight?: boolean }>;
  installedFiles?: string[];
  /** Strings of the emulated resource DLLs, `path,-id` -> text, for indirect display names and descriptions. */
  resourceStrings?: Record<string, string>;
  /** Replace an existing host in stateDir (its service processes are stopped first). Default: refuse. */
  replace?: boolean;
}

export interface LabServiceInfo {
  name: string;
  state: LabServiceState;
  pid: number;
  binaryPath: string;
  logFile: string;
}

export interface LabHostInfo {
  stateDir: string;
  services: LabServiceInfo[];
}

const NONE_FAILURE = { resetPeriod: 0, rebootMessage: '', command: '', actions: [], nonCrashFailures: false };
const SVCHOST = 'C:\\WINDOWS\\system32\\svchost.exe';

/** Built-in services that exist on every lab host and run without a process (for dependencies and gates). */
function builtinServices(): LabServiceRecord[] {
  const base = (name: string, displayName: string, binaryPath: string, extra: Partial<LabServiceRecord>): LabServiceRecord => ({
    name,
    displayName,
    description: '',
    binaryPath,
    serviceType: 0x20,
    startType: 'auto',
    delayedAutoStart: false,
    errorControl: 1,
    account: 'LocalSystem',
    passwordSha256: null,
    dependencies: [],
    loadOrderGroup: '',
    tag: 0,
    failure: { ...NONE_FAILURE, actions: [] },
    failureConfigured: false,
    registry: {},
    registryDeleted: [],
    virtual: true,
    stoppable: false,
    status: { state: 'running', pid: 0, procStart: null, win32ExitCode: 0, serviceExitCode: 0 },
    ...extra,
  });
  return [
    base('Tcpip', 'TCP/IP Protocol Driver', 'System32\\drivers\\tcpip.sys', { serviceType: 0x1, startType: 'boot', account: '', loadOrderGroup: 'PNP_TDI' }),
    base('RpcEptMapper', 'RPC Endpoint Mapper', `${SVCHOST} -k RPCSS -p`, { account: 'NT AUTHORITY\\NetworkService' }),
    base('DcomLaunch', 'DCOM Server Process Launcher', `${SVCHOST} -k DcomLaunch -p`, {}),
    base('RpcSs', 'Remote Procedure Call (RPC)', `${SVCHOST} -k rpcss -p`, {
      account: 'NT AUTHORITY\\NetworkService',
      dependencies: ['RpcEptMapper', 'DcomLaunch'],
    }),
    base('Dnscache', 'DNS Client', `${SVCHOST} -k NetworkService -p`, { account: 'NT AUTHORITY\\NetworkService', dependencies: ['Tcpip'] }),
    // Stored as on Windows: an indirect display name and a %SystemRoot% path (docs/reference/windows-services.md).
    base('EventLog', '@%SystemRoot%\\system32\\wevtsvc.dll,-200', '%SystemRoot%\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p', {
      account: 'NT AUTHORITY\\LocalService',
    }),
    base('SamSS', 'Security Accounts Manager', 'C:\\WINDOWS\\system32\\lsass.exe', { dependencies: ['RpcSs'] }),
    base('LanmanWorkstation', 'Workstation', `${SVCHOST} -k NetworkService -p`, {
      account: 'NT AUTHORITY\\NetworkService',
      dependencies: ['Tcpip'],
      stoppable: true,
    }),
    base('LanmanServer', 'Server', `${SVCHOST} -k netsvcs -p`, { dependencies: ['SamSS'], stoppable: true }),
    base('WinRM', 'Windows Remote Management (WS-Management)', `${SVCHOST} -k NetworkService -p`, {
      account: 'NT AUTHORITY\\NetworkService',
      delayedAutoStart: true,
      dependencies: ['RpcSs'],
      stoppable: true,
    }),
    // The failure actions of the worked example in docs/reference/windows-services.md#the-failureactions-registry-value: reset 900 s, restart/120000, restart/300000, none.
    base('WaaSMedicSvc', 'Windows Update Medic Service', `${SVCHOST} -k wusvcs -p`, {
      startType: 'demand',
      stoppable: true,
      failure: {
        resetPeriod: 900,
        rebootMessage: '',
        command: '',
        actions: [
          { type: 'restart', delayMs: 120000 },
          { type: 'restart', delayMs: 300000 },
          { type: 'none', delayMs: 0 },
        ],
        nonCrashFailures: false,
      },
      failureConfigured: true,
      status: { state: 'stopped', pid: 0, procStart: null, win32ExitCode: 0, serviceExitCode: 0 },
    }),
  ];
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function startTypeOf(t: StartType | undefined): { startType: LabServiceRecord['startType']; delayed: boolean } {
  if (t === 'delayed-auto') return { startType: 'auto', delayed: true };
  return { startType: t ?? 'auto', delayed: false };
}

const ERROR_CONTROL: Record<ErrorControl, number> = { ignore: 0, normal: 1, severe: 2, critical: 3 };

function recordOf(spec: LabServiceSpec): LabServiceRecord {
  const st = startTypeOf(spec.startType);
  const f = spec.failure ?? {};
  const registry: LabServiceRecord['registry'] = {};
  if (spec.environment) registry['Environment'] = { kind: 'MultiString', value: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`) };
  return {
    name: spec.name,
    displayName: spec.displayName ?? spec.name,
    description: spec.description ?? '',
    binaryPath: spec.binaryPath,
    serviceType: spec.serviceType ?? 0x10,
    startType: st.startType,
    delayedAutoStart: st.delayed,
    errorControl: ERROR_CONTROL[spec.errorControl ?? 'normal'],
    account: spec.account ?? 'LocalSystem',
    passwordSha256: spec.password !== undefined ? sha256(spec.password) : null,
    dependencies: spec.dependencies ?? [],
    loadOrderGroup: spec.loadOrderGroup ?? '',
    tag: 0,
    failure: {
      resetPeriod: f.resetPeriod === 'infinite' ? 4294967295 : (f.resetPeriod ?? 0),
      rebootMessage: f.rebootMessage ?? '',
      command: f.command ?? '',
      actions: (f.actions ?? []).map((a) => ({ type: a.type, delayMs: a.delayMs })),
      nonCrashFailures: f.nonCrashFailures ?? false,
    },
    failureConfigured: spec.failure !== undefined,
    registry,
    registryDeleted: [],
    virtual: false,
    stoppable: true,
    ...(spec.criticalProcess ? { criticalProcess: true } : {}),
    status: { state: 'stopped', pid: 0, procStart: null, win32ExitCode: 0, serviceExitCode: 0 },
  };
}

export function labLogFile(stateDir: string, service: string): string {
  return path.join(stateDir, 'logs', `${service.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`);
}

/**
 * Start one service's process exactly as the module's Start-LabProcess does (same argv, environment, log, ready
 * and exit files), leaving it START_PENDING. Caller holds the lock.
 */
/**
 * How long a service of a new host may take to report ready. A host's services were running before any test
 * begins (they started at boot), so their first start is not held to the host's SCM timeout, which tests set short
 * to reach a timeout quickly; a node process started on a busy machine can take seconds.
 */
const BOOT_START_MS = 30_000;

function launch(stateDir: string, state: LabHostState, svc: LabServiceRecord): void {
  const image = resolveImage(svc.binaryPath, state.installedFiles);
  if (!image) throw new Error(`svcfleet lab: the executable of ${svc.name}'s binary path is not an installed file: ${svc.binaryPath}`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The lab's controls never leak in from the caller; the crash flag in the service's own Environment is honoured
  // (as ps-scripts/selftest/ScratchService.cs reads it), the hang flag is a lab fault only.
  delete env['SVCFLEET_LAB_HANG'];
  delete env['SVCFLEET_LAB_CRASH_AFTER_MS'];
  const envValue = svc.registry['Environment'];
  const environment = envValue && envValue.kind === 'MultiString' ? (envValue.value as string[]) : [];
  for (const e of environment) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(stateDir, 'run'), { recursive: true });
  const stamp = Date.now();
  const base = path.join(stateDir, 'run', `${svc.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}`);
  const log = labLogFile(stateDir, svc.name);
  Object.assign(env, {
    SVCFLEET_LAB_LOG: log,
    SVCFLEET_LAB_READY_FILE: `${base}.ready`,
    SVCFLEET_LAB_EXIT_FILE: `${base}.exit`,
    SVCFLEET_LAB_SERVICE: svc.name,
  });
  delete env['SVCFLEET_LAB_HANG'];
  const fd = fs.openSync(log, 'a');
  try {
    const child = spawn(process.execPath, [labScmFiles.svcprogram, ...image.args], { detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    if (!child.pid) throw new Error(`svcfleet lab: could not start ${svc.name}`);
    svc.status = {
      state: 'start-pending',
      pid: child.pid,
      procStart: procStart(child.pid),
      win32ExitCode: 0,
      serviceExitCode: 0,
      startedAt: stamp,
      deadline: stamp + Math.max(state.startTimeoutMs, BOOT_START_MS),
      readyFile: `${base}.ready`,
      exitFile: `${base}.exit`,
      stopRequested: false,
      args: image.args,
      environment,
      commandLine: svc.binaryPath,
      account: svc.account,
      hang: false,
    };
  } finally {
    fs.closeSync(fd);
  }
}

function tail(file: string, lines = 10): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

function info(stateDir: string, state: LabHostState): LabHostInfo {
  return {
    stateDir,
    services: Object.values(state.services)
      .filter((s) => !s.virtual)
      .map((s) => ({ name: s.name, state: s.status.state, pid: s.status.pid, binaryPath: s.binaryPath, logFile: labLogFile(stateDir, s.name) })),
  };
}

/**
 * Create an emulated host in `stateDir` with `services` registered and (unless disabled or `start: false`)
 * RUNNING. Resolves once every started service listens; rejects with the service's log tail if one fails.
 */
export async function initLabHost(options: InitLabHostOptions): Promise<LabHostInfo> {
  const stateDir = path.resolve(options.stateDir);
  if (fs.existsSync(hostFile(stateDir))) {
    if (!options.replace) throw new Error(`svcfleet lab: ${stateDir} already holds an emulated host (replace it with --replace / replace: true)`);
    await stopLabHost(stateDir);
  }
  const names = new Set<string>();
  for (const s of options.services) {
    if (!s.name || /[\\/]/.test(s.name)) throw new Error(`svcfleet lab: invalid service name ${JSON.stringify(s.name)}`);
    if (names.has(s.name.toLowerCase())) throw new Error(`svcfleet lab: duplicate service ${s.name}`);
    names.add(s.name.toLowerCase());
  }
  const existed = fs.existsSync(stateDir);
  fs.mkdirSync(path.join(stateDir, 'fs', 'ProgramData'), { recursive: true });
  // A host that fails to come up is removed again: bad input changes nothing.
  const undo = async () => {
    await stopLabHost(stateDir);
    if (existed) fs.rmSync(hostFile(stateDir), { force: true });
    else fs.rmSync(stateDir, { recursive: true, force: true });
  };
  const services: Record<string, LabServiceRecord> = {};
  for (const b of builtinServices()) if (!names.has(b.name.toLowerCase())) services[b.name] = b;
  const installed = new Set<string>(options.installedFiles ?? []);
  for (const s of options.services) {
    services[s.name] = recordOf(s);
    installed.add(imageOf(s.binaryPath));
    for (const f of s.installedFiles ?? []) installed.add(f);
  }
  const state: LabHostState = {
    format: 'svcfleet-lab-host',
    version: 1,
    createdAt: new Date().toISOString(),
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    installedFiles: [...installed],
    accounts: Object.fromEntries(
      Object.entries(options.accounts ?? {}).map(([k, v]) =>
        typeof v === 'string'
          ? [k, { passwordSha256: sha256(v) }]
          : [k, { passwordSha256: sha256(v.password), serviceLogonRight: v.serviceLogonRight ?? true }],
      ),
    ),
    faults: armFaults(options.faults ?? []),
    acls: {},
    ...(options.resourceStrings ? { resourceStrings: { ...options.resourceStrings } } : {}),
    services,
  };
  writeHostState(stateDir, state);
  const toStart = options.services.filter((s) => s.start ?? s.startType !== 'disabled');
  try {
    withHostLock(stateDir, () => {
      const st = readHostState(stateDir);
      for (const s of toStart) launch(stateDir, st, st.services[s.name]!);
      writeHostState(stateDir, st);
    });
  } catch (err) {
    await undo();
    throw err;
  }
  const deadline = Date.now() + Math.max(state.startTimeoutMs, BOOT_START_MS) + 1000;
  for (;;) {
    const st = withHostLock(stateDir, () => {
      const cur = readHostState(stateDir);
      for (const s of toStart) refreshStatus(cur.services[s.name]!);
      writeHostState(stateDir, cur);
      return cur;
    });
    const pending = toStart.filter((s) => st.services[s.name]!.status.state === 'start-pending');
    const failed = toStart.filter((s) => st.services[s.name]!.status.state === 'stopped');
    if (failed.length) {
      const f = failed[0]!;
      const status = st.services[f.name]!.status;
      const log = tail(labLogFile(stateDir, f.name));
      await undo();
      throw new Error(`svcfleet lab: service ${f.name} did not start (WIN32_EXIT_CODE ${status.win32ExitCode}, exit ${status.serviceExitCode}):\n${log}`);
    }
    if (!pending.length) return info(stateDir, st);
    if (Date.now() > deadline) {
      await undo();
      throw new Error(`svcfleet lab: services still START_PENDING: ${pending.map((s) => s.name).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** The host's state with every service's status refreshed (for tests and tools). */
function armFaults(faults: readonly LabFaultSpec[]): LabFault[] {
  return faults.map((f): LabFault => ({ ...f, calls: 0, fired: 0 }));
}

/** Replace a host's armed faults (their trigger counts start again), under the host lock like every SCM write. */
export function setLabFaults(stateDir: string, faults: readonly LabFaultSpec[]): void {
  withHostLock(stateDir, () => {
    const st = readHostState(stateDir);
    st.faults = armFaults(faults);
    writeHostState(stateDir, st);
  });
}

export function readLabHost(stateDir: string): LabHostState {
  return withHostLock(stateDir, () => {
    const st = readHostState(stateDir);
    for (const s of Object.values(st.services)) refreshStatus(s);
    writeHostState(stateDir, st);
    return st;
  });
}

/**
 * Live processes started for this host's services, found by what every one of them carries in its environment (its
 * ready file under the host's run dir), not by the host's records: a record can lose its process (a start whose
 * caller died before it stored the PID and whose process came up after the grace period, a PID overwritten by a
 * later start), and such a process still writes its exit file and log into the state dir after a stop.
 */
function hostProcesses(stateDir: string): { pid: number; start: number | null }[] {
  const marker = Buffer.from(`\0SVCFLEET_LAB_READY_FILE=${path.join(path.resolve(stateDir), 'run')}${path.sep}`);
  const found: { pid: number; start: number | null }[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = Buffer.concat([Buffer.from([0]), fs.readFileSync(`/proc/${e}/environ`)]);
    } catch {
      continue; // gone, or not ours to read
    }
    if (environ.includes(marker)) found.push({ pid: Number(e), start: procStart(Number(e)) });
  }
  return found;
}

/**
 * Kill every service process of the host (TERM, then KILL after `graceMs`) and mark them STOPPED: the recorded ones,
 * and any other process started for the host (hostProcesses), so that nothing writes into the state dir afterwards.
 */
export async function stopLabHost(stateDir: string, graceMs = 2000): Promise<void> {
  if (!fs.existsSync(hostFile(stateDir))) return;
  const victims = withHostLock(stateDir, () => {
    const st = readHostState(stateDir);
    const list: { pid: number; start: number | null }[] = [];
    for (const s of Object.values(st.services)) {
      if (s.virtual) continue;
      refreshStatus(s); // completes a start whose caller died before recording the PID
      if (s.status.state !== 'stopped' && processAlive(s.status.pid, s.status.procStart)) {
        list.push({ pid: s.status.pid, start: s.status.procStart });
        try {
          process.kill(s.status.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      s.status.stopRequested = s.status.state !== 'stopped';
    }
    writeHostState(stateDir, st);
    for (const p of hostProcesses(stateDir)) {
      if (p.start === null || list.some((v) => v.pid === p.pid)) continue;
      list.push(p);
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    return list;
  });
  const until = Date.now() + graceMs;
  while (victims.some((v) => processAlive(v.pid, v.start)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  for (const v of victims)
    if (processAlive(v.pid, v.start)) {
      try {
        process.kill(v.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  while (victims.some((v) => processAlive(v.pid, v.start)) && Date.now() < until + 2000) await new Promise((r) => setTimeout(r, 20));
  withHostLock(stateDir, () => {
    const st = readHostState(stateDir);
    for (const s of Object.values(st.services)) {
      if (s.virtual) continue;
      s.status = { state: 'stopped', pid: 0, procStart: null, win32ExitCode: 0, serviceExitCode: 0 };
    }
    writeHostState(stateDir, st);
  });
}
