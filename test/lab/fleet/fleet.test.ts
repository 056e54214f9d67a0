/**
 * A lab fleet with every kind of fault (docs/lab-fleet.md), each observed through the real clients: our ssh
 * transport against the hosts' real sshd, our winrm transport against their lab WS-Management listeners.
 * No PowerShell runs here (connection-level faults only), so the test stays cheap.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseFaultSpec } from '../../../src/lab/fleet/fault-spec.js';
import { labHostNames, startLabFleet, type LabFleet, type LabFleetHost } from '../../../src/lab/fleet/fleet.js';
import { readLabHost } from '../../../src/lab/host.js';
import { SshTransport } from '../../../src/transport/ssh/transport.js';
import type { SshSession } from '../../../src/transport/ssh/session.js';
import { TransportError, type Deadlines } from '../../../src/transport/types.js';
import { createWinrmTransport } from '../../../src/transport/winrm/index.js';
import { Secret } from '../../../src/util/secret.js';
import { pidAlive, requireOpenSsh } from '../../transport/ssh/helpers.js';

const SPEC = 'lab003=refuse;lab004=slow-connect:4000;lab005=auth-fail;lab006=hostkey-changed,tls-untrusted;lab007=drop,scm:crash-after-start:afterMs=700';
const D: Deadlines = { connectMs: 1_500, authMs: 5_000, commandMs: 10_000 };
let dir: string;
let fleet: LabFleet;
const ssh = new SshTransport();
const winrm = createWinrmTransport({ onWarning: () => undefined });

beforeAll(async () => {
  requireOpenSsh();
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-fleet-'));
  fleet = await startLabFleet({ dir, hosts: 7, transport: 'both', faults: parseFaultSpec(SPEC, labHostNames(7), 'both') });
});
afterAll(async () => {
  await ssh.dispose();
  await fleet?.stop();
  await rm(dir, { recursive: true, force: true });
});

const host = (name: string): LabFleetHost => fleet.hosts.find((h) => h.name === name)!;

function openSsh(name: string): Promise<SshSession> {
  const h = host(name);
  const env = fleet.ssh!;
  return ssh.open(
    name,
    {
      transport: 'ssh',
      address: h.address,
      port: h.ssh!.port,
      user: env.user,
      ssh: { knownHostsFile: env.knownHostsFile, identityFile: env.clientKey.privatePath, agent: '' },
    },
    { deadlines: D },
  );
}

function openWinrm(name: string) {
  const h = host(name);
  const w = fleet.winrm!;
  return winrm.open(
    name,
    {
      transport: 'winrm',
      address: h.address,
      port: h.winrm!.port,
      user: w.user,
      password: new Secret(readFileSync(w.passwordFile, 'utf8').trim()),
      winrm: { scheme: 'https', auth: 'ntlm', caFile: w.caFile! },
    },
    { deadlines: D },
  );
}

async function classOf(p: Promise<unknown>): Promise<[string, string]> {
  const e = await p.then(
    async (s) => {
      await (s as { close(): Promise<void> }).close();
      return undefined;
    },
    (err: unknown) => err,
  );
  if (!(e instanceof TransportError)) return ['no error', String(e)];
  return [e.errorClass, e.phase];
}

describe('a fleet of emulated hosts, every host on both transports', () => {
  test('healthy hosts: running service, ssh and winrm both answer', async () => {
    for (const name of ['lab001', 'lab002']) {
      const h = host(name);
      expect(readLabHost(h.stateDir).services[fleet.service.name]!.status.state).toBe('running');
      const s = await openSsh(name);
      const r = await s.execRaw('echo hello', Buffer.alloc(0), { commandMs: 10_000 });
      expect(r.stdout).toBe('hello\r\n');
      await s.close();
      const w = await openWinrm(name);
      await w.close();
    }
    expect(fleet.hosts.map((h) => h.transport)).toEqual(['ssh', 'winrm', 'ssh', 'winrm', 'ssh', 'winrm', 'ssh']);
  });

  test('refuse: nothing listens (unreachable on both)', async () => {
    expect(await classOf(openSsh('lab003'))).toEqual(['unreachable', 'connect']);
    expect((await classOf(openWinrm('lab003')))[0]).toBe('unreachable');
  });

  test('slow-connect: the connect deadline passes (timeout, connect) on both', async () => {
    expect(await classOf(openSsh('lab004'))).toEqual(['timeout', 'connect']);
    expect(await classOf(openWinrm('lab004'))).toEqual(['timeout', 'connect']);
  });

  test('auth-fail: auth-failed on both', async () => {
    expect(await classOf(openSsh('lab005'))).toEqual(['auth-failed', 'auth']);
    expect((await classOf(openWinrm('lab005')))[0]).toBe('auth-failed');
  });

  test('hostkey-changed (ssh) and tls-untrusted (winrm)', async () => {
    expect(await classOf(openSsh('lab006'))).toEqual(['hostkey-mismatch', 'connect']);
    expect((await classOf(openWinrm('lab006')))[0]).toBe('tls-untrusted');
  });

  test('drop: the connection is cut under a running command; SCM faults reach the emulated host', async () => {
    const s = await openSsh('lab007');
    const e = await s.execRaw('echo hello', Buffer.alloc(0), { commandMs: 10_000 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TransportError);
    expect([(e as TransportError).errorClass, (e as TransportError).phase]).toEqual(['remote-failed', 'command']);
    expect(readLabHost(host('lab007').stateDir).faults).toMatchObject([{ kind: 'crash-after-start', afterMs: 700 }]);
  });

  test('stop() ends the sshd processes and the service processes', async () => {
    const sshd = fleet.hosts.flatMap((h) => (h.ssh?.sshdPid ? [h.ssh.sshdPid] : []));
    const services = fleet.hosts.map((h) => readLabHost(h.stateDir).services[fleet.service.name]!.status.pid).filter((p) => p > 0);
    expect(sshd.length).toBe(6);
    expect(services.length).toBe(7);
    await fleet.stop();
    const end = Date.now() + 5_000;
    while ([...sshd, ...services].some(pidAlive) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect([...sshd, ...services].filter(pidAlive)).toEqual([]);
  });
});
