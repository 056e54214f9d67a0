/**
 * A small world in which the documentation's command lines run as written: a temp dir (the working directory)
 * holding the files the examples name, emulated Windows hosts named like the examples' hosts, and the real CLI run
 * in process with every wire transport (ssh, winrm, pwsh) routed to those emulated hosts by host name — so an
 * example's INI inventory of `web01 … web06` reaches lab hosts without editing the example.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../../src/app/context.js';
import { runCli } from '../../src/cli/main.js';
import { initLabHost, stopLabHost } from '../../src/lab/host.js';
import { registerLabCommands } from '../../src/lab/cli/index.js';
import { releasePorts, reservePorts } from '../../src/lab/fleet/ports.js';
import { createLabRunner, type LabRunner } from '../../src/lab/runner/index.js';
import { createLocalTransport } from '../../src/lab/transport/index.js';
import { createTransportRegistry } from '../../src/transport/registry.js';
import type { Transport } from '../../src/transport/types.js';

export const DOC_SERVICE = 'MyGoService';

export interface DocWorld {
  dir: string;
  ports: Map<string, number>;
  stateDir(host: string): string;
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Every wire transport kind opens the emulated host of the same name under `hostsDir`. */
function routedToLab(local: Transport, hostsDir: string): Transport {
  return {
    kind: 'local',
    open: (host, settings, open) => local.open(host, { ...settings, transport: 'local', local: { stateDir: join(hostsDir, host) } }, open),
    dispose: async () => undefined,
  };
}

export async function createDocWorld(dir: string, hosts: string[]): Promise<DocWorld> {
  const hostsDir = join(dir, '.hosts');
  mkdirSync(hostsDir, { recursive: true });
  const reserved = await reservePorts(hosts.length);
  const ports = new Map(hosts.map((h, i) => [h, reserved[i]!]));
  const runner: LabRunner = createLabRunner({ mode: 'pool', size: 2 });
  const local = createLocalTransport({ labRunner: runner });
  await Promise.all(
    hosts.map((h) =>
      initLabHost({
        stateDir: join(hostsDir, h),
        services: [{ name: DOC_SERVICE, binaryPath: `"C:\\Program Files\\MyGo\\myapp.exe" --port ${ports.get(h)}`, description: 'lab app' }],
        startTimeoutMs: 5000,
      }),
    ),
  );
  const via = routedToLab(local, hostsDir);
  return {
    dir,
    ports,
    stateDir: (h) => join(hostsDir, h),
    async run(args, env = {}) {
      let stdout = '';
      let stderr = '';
      const registry = createTransportRegistry();
      for (const kind of ['ssh', 'winrm', 'pwsh', 'local']) registry.register(kind, () => via);
      const app: AppContext = {
        env: { ...process.env, XDG_STATE_HOME: join(dir, '.state'), HOME: dir, ...env },
        cwd: dir,
        transports: registry,
        terminal: { stdout: { write: (c: string) => (stdout += c), isTTY: false }, stderr: { write: (c: string) => (stderr += c) } },
      };
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((c: string | Uint8Array) => {
        stderr += String(c);
        return true;
      }) as typeof process.stderr.write;
      try {
        const code = await runCli(['node', 'svcfleet', ...args], {
          app,
          stdout: app.terminal!.stdout,
          stderr: app.terminal!.stderr,
          extend: (program, cli) => registerLabCommands(program, cli),
        });
        return { code, stdout, stderr };
      } finally {
        process.stderr.write = write;
      }
    },
    async stop() {
      await Promise.all(hosts.map((h) => stopLabHost(join(hostsDir, h)).catch(() => undefined)));
      await runner.close();
      releasePorts(reserved);
    },
  };
}
