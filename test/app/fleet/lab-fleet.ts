/**
 * A fleet of emulated Windows hosts for the orchestrator's tests (src/lab/host.ts), one service each on its own
 * loopback port, with a native inventory file, and helpers to run the real CLI against it in-process (with a
 * shared warm pwsh pool: the local transport in pool mode) or as a child process.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { initLabHost, setLabFaults, stopLabHost, type LabFaultSpec } from '../../../src/lab/host.js';
import { freePorts } from '../../../src/lab/fleet/ports.js';
import { createLabRunner, type LabRunner } from '../../../src/lab/runner/index.js';
import { createLocalTransport } from '../../../src/lab/transport/index.js';
import type { LabHostState } from '../../../src/lab/scm/state.js';
import { createTransportRegistry } from '../../../src/transport/registry.js';
import type { Transport } from '../../../src/transport/types.js';
import type { EngineIO } from '../../../src/engine/types.js';
import type { AppContext } from '../../../src/app/context.js';
import { runCli } from '../../../src/cli/main.js';

export const SERVICE = 'AppSvc';
export const EXE = '"C:\\Program Files\\Svcfleet Lab\\app.exe"';

export function requirePwsh(): void {
  const path = process.env.PATH ?? '';
  if (!path.includes('.dotnet/tools')) process.env.PATH = `${path}:${process.env.HOME}/.dotnet/tools`;
}

export interface LabFleet {
  dir: string;
  inventory: string;
  journal: string;
  names: string[];
  ports: Map<string, number>;
  stateDir(name: string): string;
  /** The service's binary path as the emulated SCM holds it (host.json, read without touching it). */
  binaryPath(name: string): string;
  /** host.json as bytes (to prove a host was not touched). */
  raw(name: string): string;
  /** The service's process as the emulated SCM records it: its PID and the arguments it was started with. */
  process(name: string): { pid: number; args: string[] };
  /** The arguments of the process really answering on the host's port (the svcprogram's GET /args). */
  runningArgs(name: string): Promise<string[]>;
  /** Replace the host's armed faults (under the host lock, as the emulated SCM itself writes its state). */
  setFaults(name: string, faults: LabFaultSpec[]): void;
  /** The backup files the remote engine wrote on the host for the service (`%ProgramData%\svcfleet\backups`). */
  backups(name: string): string[];
  stop(): Promise<void>;
}

export interface FleetOptions {
  dir: string;
  count: number;
  prefix?: string;
  faults?: Record<string, LabFaultSpec[]>;
  /** Hosts listed in the inventory whose state directory does not exist (unreachable). */
  missing?: string[];
  /** Extra args in every service's binary path. */
  args?: string;
  /** Local accounts on every host (name -> password), for specs that change the service account. */
  accounts?: Record<string, string>;
}

export async function createLabFleet(o: FleetOptions): Promise<LabFleet> {
  requirePwsh();
  const prefix = o.prefix ?? 'lab';
  const names = Array.from({ length: o.count }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);
  const ports = new Map<string, number>();
  const free = await freePorts(o.count * 2);
  names.forEach((n, i) => ports.set(n, free[i * 2]!));
  mkdirSync(join(o.dir, 'hosts'), { recursive: true });
  const stateDir = (n: string): string => join(o.dir, 'hosts', n);
  const missing = new Set(o.missing ?? []);
  // Start them a few at a time: each is a real process.
  const queue = names.filter((n) => !missing.has(n));
  const workers = Array.from({ length: 8 }, async () => {
    for (let n = queue.shift(); n; n = queue.shift()) {
      await initLabHost({
        stateDir: stateDir(n),
        services: [{ name: SERVICE, binaryPath: `${EXE} --port ${ports.get(n)}${o.args ? ` ${o.args}` : ''}`, description: 'lab app' }],
        faults: o.faults?.[n] ?? [],
        startTimeoutMs: 3000,
        ...(o.accounts ? { accounts: o.accounts } : {}),
      });
    }
  });
  await Promise.all(workers);
  const lines = ['kind: svcfleet-inventory', 'version: 1', 'defaults:', '  transport: local', 'groups:', `  canary: { hosts: [${names[0]}] }`, 'hosts:'];
  for (const n of names) lines.push(`  ${n}: { address: 127.0.0.1, local: { stateDir: ${JSON.stringify(stateDir(n))} }, vars: { app_port: ${ports.get(n)} } }`);
  const inventory = join(o.dir, 'inventory.yaml');
  writeFileSync(inventory, `${lines.join('\n')}\n`);
  const read = (n: string): LabHostState => JSON.parse(readFileSync(join(stateDir(n), 'host.json'), 'utf8')) as LabHostState;
  return {
    dir: o.dir,
    inventory,
    journal: join(o.dir, 'journal'),
    names,
    ports,
    stateDir,
    binaryPath: (n) => read(n).services[SERVICE]!.binaryPath,
    raw: (n) => readFileSync(join(stateDir(n), 'host.json'), 'utf8'),
    process: (n) => {
      const st = read(n).services[SERVICE]!.status;
      return { pid: st.pid, args: st.args ?? [] };
    },
    runningArgs: async (n) => {
      const res = await fetch(`http://127.0.0.1:${ports.get(n)}/args`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as string[];
    },
    setFaults: (n, faults) => setLabFaults(stateDir(n), faults),
    backups: (n) => {
      const dir = join(stateDir(n), 'fs', 'ProgramData', 'svcfleet', 'backups', SERVICE);
      return existsSync(dir) ? readdirSync(dir).sort() : [];
    },
    stop: async () => {
      await Promise.all(names.filter((n) => !missing.has(n)).map((n) => stopLabHost(stateDir(n)).catch(() => undefined)));
    },
  };
}

export function writeSpec(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

/** A spec that sets one flag of the service's arguments, keeping the executable and the port. */
export function argSpec(flag: string, value: string, extra = ''): string {
  return `service: ${SERVICE}
set:
  args: { set: { ${JSON.stringify(`--${flag}`)}: ${JSON.stringify(value)} } }
verify: { running: true, port: '{{ app_port }}', timeoutSeconds: 8 }
${extra}`;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One shared warm pool for the in-process CLI runs of a test file. */
export function labTransport(size = 2): { transport: Transport; runner: LabRunner } {
  const runner = createLabRunner({ mode: 'pool', size });
  return { runner, transport: createLocalTransport({ labRunner: runner }) };
}

/**
 * Run the real CLI in this process (commander, config, inventory, spec, engine, journal, reporters), reaching
 * hosts through `via`: a transport (the lab), an EngineIO (the in-memory fake fleet), or nothing (commands that
 * must not connect).
 */
export async function cli(args: string[], via: Transport | EngineIO | undefined, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const app: AppContext = {
    env: { ...process.env, ...env },
    cwd: process.cwd(),
    // No prompt (stdin is not a terminal) and no signal handlers: this runs inside the test process.
    ...(via && 'openSession' in via ? { io: via } : via ? { transports: everyKind(via) } : {}),
    terminal: { stdout: { write: (c: string) => (stdout += c), isTTY: false }, stderr: { write: (c: string) => (stderr += c) } },
  };
  // commander prints its usage errors on process.stderr: catch those too.
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((c: string | Uint8Array) => {
    stderr += String(c);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runCli(['node', 'svcfleet', ...args], { app, stdout: app.terminal!.stdout, stderr: app.terminal!.stderr });
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = write;
  }
}

/** A registry (owned by the test, never disposed by a command) where every transport kind is `via`. */
function everyKind(via: Transport): ReturnType<typeof createTransportRegistry> {
  const registry = createTransportRegistry();
  for (const kind of ['ssh', 'winrm', 'pwsh', 'local']) registry.register(kind, () => via);
  return registry;
}

/** The built CLI (dist/) as a child process — what a user runs; used where the controller must be killed. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [join(import.meta.dirname, '../../../bin/svcfleet.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Every descendant process of `pid` that is a pwsh (the controller's warm pool workers), from /proc. */
export function pwshDescendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    let kids: number[] = [];
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        kids = kids.concat(readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
      }
    } catch {
      return;
    }
    for (const k of kids) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out.filter((p) => {
    try {
      return /pwsh/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/**
 * Wait until these processes are gone (or zombies). A killed controller's pool workers finish the op they were
 * running, as a real remote host does after its controller dies; waiting makes the host's state deterministic.
 */
export async function waitProcessesGone(pids: readonly number[], ms: number): Promise<void> {
  const gone = (p: number): boolean => {
    try {
      return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (pids.every(gone)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`processes still running after ${ms} ms: ${pids.filter((p) => !gone(p)).join(', ')}`);
}

/** The built CLI must be newer than the sources it runs (tests that spawn bin/svcfleet.js). */
export function requireBuiltCli(): void {
  const dist = join(import.meta.dirname, '../../../dist/app/apply.js');
  const src = join(import.meta.dirname, '../../../src/app/apply.ts');
  if (!existsSync(dist) || statSync(dist).mtimeMs < statSync(src).mtimeMs) {
    throw new Error('this test runs the built CLI: run `npm run build` first (npm test does it through scripts/setup.sh)');
  }
}
