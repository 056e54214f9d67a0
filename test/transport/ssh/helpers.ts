/** Shared setup for the ssh tests: a lab dir, real sshd hosts, an ssh-agent, invocations. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../../../src/lab/scm/state.js';
import { openSshBinary } from '../../../src/lab/ssh/openssh.js';
import { prepareSshLab, startSshLabHost, type SshLabEnv, type SshLabHost, type SshLabHostOptions } from '../../../src/lab/ssh/lab-host.js';
import { reservePorts } from '../../../src/lab/fleet/ports.js';
import type { ConnectionSettings, Invocation } from '../../../src/transport/types.js';

export const FAKE_POWERSHELL = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fake-powershell.sh');

/** Fails (never skips) with the install command when OpenSSH is missing. */
export function requireOpenSsh(): void {
  for (const b of ['sshd', 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add']) openSshBinary(b);
}

/** An invocation for the fake powershell: the "bootstrap" is the behaviour's name. */
export function fakeInvocation(behaviour: string, stdin: Buffer = Buffer.alloc(0)): Invocation {
  return { encodedCommand: Buffer.from(behaviour, 'utf16le').toString('base64'), stdin };
}

export interface Lab {
  dir: string;
  env: SshLabEnv;
  hosts: SshLabHost[];
  start(name: string, opts?: Partial<Omit<SshLabHostOptions, 'env' | 'name'>>): Promise<SshLabHost>;
  settings(host: SshLabHost, extra?: Partial<ConnectionSettings>): ConnectionSettings;
  cleanup(): Promise<void>;
}

export async function makeLab(opts: { shim?: string; extraAuthorizedKeys?: string[] } = {}): Promise<Lab> {
  requireOpenSsh();
  const dir = await mkdtemp(join(tmpdir(), 'svcfleet-ssh-'));
  const env = await prepareSshLab({
    dir,
    shim: opts.shim ?? FAKE_POWERSHELL,
    ...(opts.extraAuthorizedKeys ? { extraAuthorizedKeys: opts.extraAuthorizedKeys } : {}),
  });
  const hosts: SshLabHost[] = [];
  return {
    dir,
    env,
    hosts,
    async start(name, o = {}) {
      const [port] = await reservePorts(1);
      const stateDir = o.stateDir ?? join(dir, 'state', name);
      execFileSync('mkdir', ['-p', stateDir]);
      const host = await startSshLabHost({ env, name, address: '127.0.0.1', port: port as number, stateDir, ...o });
      hosts.push(host);
      return host;
    },
    settings(host, extra = {}) {
      return {
        transport: 'ssh',
        address: host.address,
        port: host.port,
        user: env.user,
        ...extra,
        ssh: { knownHostsFile: env.knownHostsFile, identityFile: env.clientKey.privatePath, agent: '', ...extra.ssh },
      };
    },
    async cleanup() {
      await Promise.all(hosts.map((h) => h.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Agent {
  socket: string;
  stop(): Promise<void>;
}

/** A private ssh-agent (openssh-client) holding the given keys. */
export async function startAgent(dir: string, keys: string[]): Promise<Agent> {
  const socket = join(dir, 'agent.sock');
  const agent: ChildProcess = spawn(openSshBinary('ssh-agent'), ['-D', '-a', socket], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10));
  for (const k of keys) execFileSync(openSshBinary('ssh-add'), ['-q', k], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'pipe' });
  return {
    socket,
    stop: async () => {
      agent.kill();
      await new Promise((r) => agent.once('exit', r));
    },
  };
}

/** Running (a zombie waiting for its reaper counts as gone: it runs nothing). */
export function pidAlive(pid: number): boolean {
  return processAlive(pid, null);
}
