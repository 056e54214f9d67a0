/**
 * The demo's lab: N emulated Windows hosts in a temp dir, each running the lab service on its own loopback
 * port, a few with faults; the native inventory (transport `local`) and the sample hot-fix spec that
 * `svcfleet demo` applies to them. Everything lives under one directory, removed by `stop()`.
 *
 * Faults (with --faults default), placed away from the canary host so the canary passes:
 *  - access-denied:  the SCM refuses the config change (win32 5)              -> failed, nothing changed
 *  - crash:          the service crashes right after starting with the new
 *                    arguments (fault matches "--workers 4")                   -> verify fails -> rolled back
 *  - unreachable:    the inventory points at a host that does not exist        -> unreachable
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { stringify } from 'yaml';
import { initLabHost, stopLabHost, type LabFaultSpec } from '../host.js';
import { readHostState } from '../scm/state.js';
import { DEFAULT_LAB_SERVICE, LAB_ADDRESS, labHostNames } from '../fleet/fleet.js';
import { freePorts } from '../fleet/ports.js';

export type DemoFault = 'access-denied' | 'crash' | 'unreachable';

export interface DemoHost {
  name: string;
  stateDir: string;
  appPort: number;
  fault?: DemoFault;
}

export interface DemoLab {
  dir: string;
  hosts: DemoHost[];
  service: string;
  inventoryFile: string;
  specFile: string;
  stop(): Promise<void>;
  /**
   * Last resort for a process that exits without running `stop` (a third Ctrl-C hard-exits): kill every
   * service process now, synchronously, and remove the lab dir. For `process.on('exit')`.
   */
  killSync(): void;
}

export interface DemoLabOptions {
  hosts: number;
  faults: 'default' | 'none';
  /** Parent of the lab dir (default: the OS temp dir). */
  parent?: string;
  onProgress?: (message: string) => void;
}

/** The argument the hot-fix adds, and the one the crash fault keys on. */
export const HOTFIX_ARGS = { '--log-level': 'warn', '--workers': '4' } as const;

/** Where the faults go: spread over the fleet, never on the first host (the canary). */
export function demoFaults(count: number, faults: 'default' | 'none'): Map<number, DemoFault> {
  const out = new Map<number, DemoFault>();
  if (faults === 'none' || count < 4) return out;
  const at = (fraction: number) => Math.max(1, Math.min(count - 1, Math.round(count * fraction)));
  const plan: [number, DemoFault][] = [
    [at(0.17), 'access-denied'],
    [at(0.3), 'crash'],
    [at(0.52), 'unreachable'],
  ];
  for (const [i, f] of plan) if (!out.has(i)) out.set(i, f);
  return out;
}

function labFaults(fault: DemoFault | undefined): LabFaultSpec[] {
  switch (fault) {
    case 'access-denied':
      return [{ kind: 'access-denied', service: DEFAULT_LAB_SERVICE.name, ops: ['config'] }];
    case 'crash':
      // Only the hot-fixed command line crashes, so the rollback (old arguments) starts cleanly again.
      return [{ kind: 'crash-after-start', service: DEFAULT_LAB_SERVICE.name, contains: '--workers 4', afterMs: 400 }];
    default:
      return [];
  }
}

/** The sample hot-fix: new start arguments, a new description and new recovery (failure) actions. */
export function demoSpec(service: string): Record<string, unknown> {
  return {
    version: 1,
    service,
    set: {
      args: { set: { ...HOTFIX_ARGS } },
      description: 'MyGo service: hot-fix 4.2.1 (quieter logs, 4 workers)',
      failure: { resetPeriod: 86400, actions: ['restart/5000', 'restart/30000', 'restart/60000'] },
    },
    restart: 'if-needed',
    rollback: 'auto',
    // The port must answer, and the process must stay up (same PID) for 1 s: catches crash-after-start (400 ms).
    verify: { running: true, port: '{{ app_port }}', timeoutSeconds: 30, settleSeconds: 1 },
  };
}

export function demoInventory(hosts: readonly DemoHost[]): Record<string, unknown> {
  const canary = hosts[0]?.name;
  const byHost: Record<string, unknown> = {};
  for (const h of hosts) {
    byHost[h.name] = { address: LAB_ADDRESS, local: { stateDir: h.stateDir }, vars: { app_port: h.appPort } };
  }
  const half = Math.ceil(hosts.length / 2);
  return {
    kind: 'svcfleet-inventory',
    version: 1,
    defaults: { transport: 'local' },
    vars: { site: 'demo' },
    groups: {
      east: { hosts: hosts.slice(0, half).map((h) => h.name) },
      west: { hosts: hosts.slice(half).map((h) => h.name) },
      ...(canary ? { canary: { hosts: [canary] } } : {}),
    },
    hosts: byHost,
  };
}

export async function startDemoLab(o: DemoLabOptions): Promise<DemoLab> {
  const say = o.onProgress ?? (() => undefined);
  const dir = await mkdtemp(join(o.parent ?? tmpdir(), 'svcfleet-demo-'));
  const names = labHostNames(o.hosts);
  const faults = demoFaults(o.hosts, o.faults);
  const started: string[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    // Every service process of every host is killed before the directory goes.
    await Promise.all(started.map((d) => stopLabHost(d).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
    stopped = true;
  };
  const killSync = (): void => {
    if (stopped) return;
    for (const d of started) {
      try {
        for (const svc of Object.values(readHostState(d).services)) {
          if (!svc.virtual && svc.status.pid > 0) {
            try {
              process.kill(svc.status.pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }
        }
      } catch {
        /* host never written */
      }
    }
    rmSync(dir, { recursive: true, force: true });
    stopped = true;
  };
  try {
    const ports = await freePorts(names.length, LAB_ADDRESS);
    const hosts: DemoHost[] = names.map((name, i) => {
      const h: DemoHost = { name, stateDir: join(dir, 'hosts', name), appPort: ports[i]! };
      const f = faults.get(i);
      if (f) h.fault = f;
      return h;
    });
    say(`starting ${hosts.length} emulated Windows hosts in ${dir}`);
    const limit = pLimit(8);
    await Promise.all(
      hosts.map((h) =>
        limit(async () => {
          // An unreachable host is one that was never created: the inventory points at nothing.
          if (h.fault === 'unreachable') return;
          started.push(h.stateDir);
          await initLabHost({
            stateDir: h.stateDir,
            services: [
              {
                name: DEFAULT_LAB_SERVICE.name,
                binaryPath: DEFAULT_LAB_SERVICE.binaryPath(h.appPort),
                description: 'MyGo service',
                failure: { resetPeriod: 0, actions: [{ type: 'restart', delayMs: 60000 }] },
              },
            ],
            faults: labFaults(h.fault),
          });
        }),
      ),
    );
    const inventoryFile = join(dir, 'inventory.yml');
    const specFile = join(dir, 'hotfix.yml');
    await writeFile(inventoryFile, `# svcfleet demo lab (removed when the demo ends)\n${stringify(demoInventory(hosts))}`);
    await writeFile(specFile, `# svcfleet demo: the sample hot-fix\n${stringify(demoSpec(DEFAULT_LAB_SERVICE.name))}`);
    return { dir, hosts, service: DEFAULT_LAB_SERVICE.name, inventoryFile, specFile, stop, killSync };
  } catch (err) {
    await stop();
    throw err;
  }
}
