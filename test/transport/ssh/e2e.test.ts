/**
 * End to end over `ssh` and over `pwsh -HostName`: a lab fleet (real sshd per host, exec through the
 * emulated-SCM shim src/lab/scm/bin/powershell.exe, i.e. real pwsh running the real ps-scripts bootstrap and
 * engine) and, on each transport, a snapshot, a successful apply (new --port, restarted, verified) and an apply
 * that rolls back (an image that is not installed cannot start), and an apply that sets a password account (the
 * password travels on a stdin line of its own, docs/remote-protocol.md "The payload on stdin"); over ssh, an abort
 * mid-run leaves no pwsh behind.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePorts } from '../../../src/lab/fleet/ports.js';
import { startLabFleet, type LabFleet, type LabFleetHost } from '../../../src/lab/fleet/fleet.js';
import { readLabHost } from '../../../src/lab/host.js';
import { newNonce, type OutgoingRequest } from '../../../src/remote/invocation.js';
import { runRemoteDetailed } from '../../../src/remote/run.js';
import { PwshTransport } from '../../../src/transport/pwsh/transport.js';
import { SshTransport } from '../../../src/transport/ssh/transport.js';
import type { ConnectionSettings, Session, Transport } from '../../../src/transport/types.js';
import { Secret } from '../../../src/util/secret.js';
import { TransportError } from '../../../src/transport/types.js';
import { pidAlive, requireOpenSsh } from './helpers.js';

const IMAGE = 'C:\\Program Files\\MyGo\\myapp.exe';
// Hostile to every layer on the way: quotes, smart quotes, a subexpression, a backtick, a newline, non-ASCII.
const PASSWORD = `pw '"\u2018\u2019\u201c\u201d $(whoami) \`t\nnext \u00e9`;
let dir: string;
let fleet: LabFleet;
let spare: number[];
const ssh = new SshTransport();
const pwsh = new PwshTransport();

beforeAll(async () => {
  requireOpenSsh();
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-e2e-ssh-'));
  fleet = await startLabFleet({ dir, hosts: 2, transport: 'ssh', accounts: { '.\\svcuser': PASSWORD } });
  spare = await reservePorts(2);
});
afterAll(async () => {
  await pwsh.dispose();
  await ssh.dispose();
  await fleet?.stop();
  await rm(dir, { recursive: true, force: true });
});

function settings(h: LabFleetHost, transport: 'ssh' | 'pwsh'): ConnectionSettings {
  const env = fleet.ssh!;
  return {
    transport,
    address: h.address,
    port: h.ssh!.port,
    user: env.user,
    ssh: { knownHostsFile: env.knownHostsFile, identityFile: env.clientKey.privatePath, agent: '' },
  };
}

const request = (r: Omit<OutgoingRequest, 'v' | 'nonce' | 'runId' | 'service'>): OutgoingRequest => ({
  v: 1,
  nonce: newNonce(),
  runId: 'ssh-e2e',
  service: fleet.service.name,
  ...r,
});

describe.each([
  ['ssh', 0],
  ['pwsh', 1],
] as const)('%s end to end on an emulated host', (kind, index) => {
  let session: Session;
  let host: LabFleetHost;
  const transport: () => Transport = () => (kind === 'ssh' ? ssh : pwsh);

  beforeAll(async () => {
    host = fleet.hosts[index]!;
    session = await transport().open(host.name, settings(host, kind), { deadlines: { connectMs: 20_000, authMs: 20_000, commandMs: 180_000 } });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('snapshot', async () => {
    const run = await runRemoteDetailed(session, request({ op: 'snapshot' }), { host: host.name, commandMs: 120_000 });
    expect(run.exitCode).toBe(0);
    expect(run.result.snapshot?.config.binaryPath).toBe(`"${IMAGE}" --port ${host.appPort}`);
    expect(run.result.snapshot?.state).toBe('running');
  });

  it('a successful apply: new port, restarted, verified on it', async () => {
    const port = spare[index]!;
    const run = await runRemoteDetailed(
      session,
      request({
        op: 'apply',
        desired: { args: { set: { '--port': String(port) } } },
        restart: 'always',
        verify: { port, timeoutSeconds: 30 },
        rollback: 'auto',
      }),
      { host: host.name, commandMs: 180_000 },
    );
    expect(run.result.outcome, run.result.message).toBe('changed');
    expect(run.result.after?.config.binaryPath).toBe(`"${IMAGE}" --port ${port}`);
    expect(readLabHost(host.stateDir).services[fleet.service.name]!.status.state).toBe('running');
  });

  it('a failing apply rolls back', async () => {
    const port = spare[index]!;
    const run = await runRemoteDetailed(
      session,
      request({
        op: 'apply',
        desired: { binaryPath: `"C:\\Program Files\\MyGo\\missing.exe" --port ${port}` },
        restart: 'always',
        verify: { port, timeoutSeconds: 20 },
        rollback: 'auto',
      }),
      { host: host.name, commandMs: 180_000 },
    );
    expect(run.result.outcome, run.result.message).toBe('rolled-back');
    expect(run.exitCode).toBe(12);
    expect(run.result.rollback?.ok).toBe(true);
    const svc = readLabHost(host.stateDir).services[fleet.service.name]!;
    expect(svc.binaryPath).toBe(`"${IMAGE}" --port ${port}`);
    expect(svc.status.state).toBe('running');
  });

  it('an apply that sets a password account: the password line arrives intact, the service runs under the account', async () => {
    const run = await runRemoteDetailed(
      session,
      request({ op: 'apply', desired: { account: { name: '.\\svcuser', password: new Secret(PASSWORD) } }, rollback: 'never' }),
      { host: host.name, commandMs: 180_000 },
    );
    expect(run.result.outcome, run.result.message).toBe('changed');
    const svc = readLabHost(host.stateDir).services[fleet.service.name]!;
    expect(svc.account).toBe('.\\svcuser');
    expect(svc.passwordSha256).toBe(createHash('sha256').update(PASSWORD, 'utf8').digest('hex'));
    expect(svc.status.state).toBe('running');
  });
});

describe('ssh: abort mid-run', () => {
  it('abort while the engine runs: no pwsh is left on the host', async () => {
    const host = fleet.hosts[0]!;
    const session = await ssh.open(host.name, settings(host, 'ssh'), { deadlines: { connectMs: 20_000, authMs: 20_000, commandMs: 120_000 } });
    const ac = new AbortController();
    const err = await runRemoteDetailed(session, request({ op: 'snapshot' }), {
      host: host.name,
      commandMs: 120_000,
      signal: ac.signal,
      onEvent: () => ac.abort(),
    }).catch((e: unknown) => e);
    await session.close();
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).errorClass).toBe('aborted');
    const end = Date.now() + 5_000;
    while (hostPowerShells(host.stateDir).length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(hostPowerShells(host.stateDir)).toEqual([]);
  });
});

/** PowerShell processes (the shim's pwsh: the dotnet-tool launcher and dotnet) running for this emulated host. */
function hostPowerShells(stateDir: string): number[] {
  const found: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || !pidAlive(Number(e))) continue;
    try {
      const comm = readFileSync(`/proc/${e}/comm`, 'utf8').trim();
      if (comm !== 'pwsh' && comm !== 'dotnet') continue;
      if (readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(`SVCFLEET_LAB_STATE=${stateDir}`)) found.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
