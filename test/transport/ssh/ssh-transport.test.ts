/**
 * The ssh transport against real OpenSSH sshd processes (Debian openssh-server) on loopback. The remote
 * "powershell.exe" here is test/transport/ssh/fixtures/fake-powershell.sh (cheap; no pwsh start) reached through the
 * lab's exec wrapper exactly as the emulated-SCM shim is; test/transport/ssh/e2e covers the real shim and ps-scripts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openSshBinary } from '../../../src/lab/ssh/openssh.js';
import { newNonce } from '../../../src/remote/invocation.js';
import { runRemote } from '../../../src/remote/run.js';
import { SshTransport } from '../../../src/transport/ssh/transport.js';
import { DEFAULT_DEADLINES, TransportError, type Deadlines } from '../../../src/transport/types.js';
import { Secret } from '../../../src/util/secret.js';
import { fakeInvocation, makeLab, pidAlive, startAgent, type Lab } from './helpers.js';
import { reservePorts } from '../../../src/lab/fleet/ports.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const D: Deadlines = { connectMs: 5_000, authMs: 5_000, commandMs: 20_000 };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function expectTransportError(p: Promise<unknown>, errorClass: string, phase?: string): Promise<TransportError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  const te = err as TransportError;
  expect({ errorClass: te.errorClass, ...(phase ? { phase: te.phase } : {}) }).toEqual({ errorClass, ...(phase ? { phase } : {}) });
  return te;
}

async function waitGone(pid: number, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !pidAlive(pid);
}

// Keys made by OpenSSH's ssh-keygen (an independent implementation): one passphrase-protected, one for the agent.
const keyDir = mkdtempSync(join(tmpdir(), 'svcfleet-sshkeys-'));
const PASSPHRASE = 'correct horse “battery” ‘staple’ $x `y`';
function sshKeygen(name: string, passphrase: string): { path: string; pub: string } {
  const path = join(keyDir, name);
  execFileSync(openSshBinary('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', path]);
  return { path, pub: readFileSync(`${path}.pub`, 'utf8').trim() };
}

let lab: Lab;
let encrypted: { path: string; pub: string };
let agentKey: { path: string; pub: string };
const transport = new SshTransport();

beforeAll(async () => {
  encrypted = sshKeygen('id_encrypted', PASSPHRASE);
  agentKey = sshKeygen('id_agent', '');
  lab = await makeLab({ extraAuthorizedKeys: [encrypted.pub, agentKey.pub] });
});
afterAll(async () => {
  await transport.dispose();
  await lab?.cleanup();
  execFileSync('rm', ['-rf', keyDir]);
});

describe('running a command', () => {
  test('a 256 KB payload crosses stdin intact; exit codes and stdout come back', async () => {
    const h = await lab.start('cmd01');
    const s = await transport.open('cmd01', lab.settings(h), { deadlines: D });
    try {
      const payload = Buffer.alloc(256 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) % 251;
      const expected = execFileSync('sha256sum', { input: payload }).toString().split(' ')[0];
      const chunks: string[] = [];
      const r = await s.exec(fakeInvocation('sha256-stdin', payload), { commandMs: 20_000, onStdout: (c) => chunks.push(c) });
      expect(r).toEqual({ exitCode: 0, stdout: `sha256=${expected}\n`, stderr: '' });
      expect(chunks.join('')).toBe(r.stdout);
      // The same bytes in pieces (an invocation built by remote/invocation.ts) cross in order.
      const pieces = {
        encodedCommand: fakeInvocation('sha256-stdin').encodedCommand,
        stdin: payload,
        stdinParts: [payload.subarray(0, 1000), payload.subarray(1000)],
      };
      expect((await s.exec(pieces, { commandMs: 20_000 })).stdout).toBe(`sha256=${expected}\n`);
      // Several commands on one connection; the state dir reaches the host's command through sshd's SetEnv.
      const st = await s.exec(fakeInvocation('state'), { commandMs: 20_000 });
      expect(st.stdout.trim()).toBe(`state=${join(lab.dir, 'state', 'cmd01')}`);
      expect((await s.exec(fakeInvocation('exit-7'), { commandMs: 20_000 })).exitCode).toBe(7);
    } finally {
      await s.close();
    }
  });

  test("a lab sshd's sessions run pwsh without the shared startup JIT profile (docs/reference/powershell.md)", async () => {
    // sshd hands each session only its SetEnv; the powershell subsystem's pwsh -sshs gets the same environment.
    const h = await lab.start('jit01');
    const s = await transport.open('jit01', lab.settings(h), { deadlines: D });
    try {
      expect((await s.exec(fakeInvocation('jit-setting'), { commandMs: 20_000 })).stdout).toBe('jit=9999\n');
    } finally {
      await s.close();
    }
  });
  test("a lab sshd's sessions keep their temp files in the lab's temp dir and skip the user's shell startup file", async () => {
    // A killed pwsh leaves its IPC socket in its temp dir; sshd would otherwise hand a session no TMPDIR at all.
    const h = await lab.start('tmp01');
    const s = await transport.open('tmp01', lab.settings(h), { deadlines: D });
    try {
      expect((await s.exec(fakeInvocation('tmpdir'), { commandMs: 20_000 })).stdout).toBe(`tmpdir=${tmpdir()}\n`);
      // SHLVL=1 reaches the session, so the user's bash starts at level 2 and does not run ~/.bashrc as it does for
      // sshd's level-1 shells (src/lab/ssh/lab-host.ts). The command sees 1 again: bash gives its level back when it
      // execs the command in its place. The effect was measured with bench/peers (bench/README.md).
      expect((await s.exec(fakeInvocation('shlvl'), { commandMs: 20_000 })).stdout).toBe('shlvl=1\n');
    } finally {
      await s.close();
    }
  });
  test('the payload is released once written, not held until the command ends', async () => {
    const h = await lab.start('release01');
    const s = await transport.open('release01', lab.settings(h), { deadlines: D });
    const stop = new AbortController();
    try {
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      // Built inside a function so that only the session can reach it (and a WeakRef here).
      const send = (): { sent: WeakRef<Buffer>; done: Promise<unknown> } => {
        const payload = Buffer.alloc(256 * 1024, 0x61);
        const done = s
          .exec(fakeInvocation('sleep', payload), { commandMs: 20_000, signal: stop.signal, onStdout: (c) => c.includes('started') && started() })
          .catch((e: unknown) => e);
        return { sent: new WeakRef(payload), done };
      };
      const { sent, done } = send();
      await running; // the host read all of stdin and is now sleeping: the command is still running
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setImmediate(r));
        gc();
      }
      expect(sent.deref()).toBeUndefined();
      stop.abort();
      await done;
    } finally {
      await s.close();
    }
  });

  test('garbage on stdout is returned as data (the frame parser judges it), the session stays usable', async () => {
    const h = await lab.start('garbage01');
    const s = await transport.open('garbage01', lab.settings(h), { deadlines: D });
    try {
      const r = await s.exec(fakeInvocation('garbage'), { commandMs: 20_000 });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('not a frame');
      expect(r.stdout.length).toBeGreaterThan(4096);
      expect((await s.exec(fakeInvocation('exit-0'), { commandMs: 20_000 })).exitCode).toBe(0);
    } finally {
      await s.close();
    }
  });

  test('garbage instead of frames, through the real request path (runRemote): a protocol error; the controller carries on', async () => {
    const h = await lab.start('garbage02');
    await writeFile(join(lab.dir, 'state', 'garbage02', 'behaviour'), 'garbage');
    const s = await transport.open('garbage02', lab.settings(h), { deadlines: D });
    try {
      const request = { v: 1 as const, op: 'snapshot' as const, nonce: newNonce(), runId: 'ssh-test', service: 'Svc' };
      const e = await expectTransportError(runRemote(s, request, { host: 'garbage02', commandMs: 20_000 }), 'protocol', 'command');
      expect(e.message).toMatch(/without a result frame/);
      await writeFile(join(lab.dir, 'state', 'garbage02', 'behaviour'), 'exit-0');
      expect((await s.exec(fakeInvocation('ignored'), { commandMs: 10_000 })).exitCode).toBe(0);
    } finally {
      await s.close();
    }
  });

  test('an -EncodedCommand that is not base64 never reaches the command line', async () => {
    const h = await lab.start('b64');
    const s = await transport.open('b64', lab.settings(h), { deadlines: D });
    try {
      await expectTransportError(s.exec({ encodedCommand: 'abc & del *', stdin: Buffer.alloc(0) }, { commandMs: 5_000 }), 'protocol');
    } finally {
      await s.close();
    }
  });
});

describe('host keys', () => {
  test('a changed host key is a hard failure, also under accept-new, and nothing is recorded', async () => {
    const h = await lab.start('changed01', { faults: { hostKeyChanged: true } });
    const before = await readFile(lab.env.knownHostsFile, 'utf8');
    const e1 = await expectTransportError(transport.open('changed01', lab.settings(h), { deadlines: D }), 'hostkey-mismatch', 'connect');
    expect(e1.message).toMatch(/HOST KEY CHANGED/);
    await expectTransportError(transport.open('changed01', lab.settings(h, { ssh: { hostKeyPolicy: 'accept-new' } }), { deadlines: D }), 'hostkey-mismatch');
    expect(await readFile(lab.env.knownHostsFile, 'utf8')).toBe(before);
  });

  test('unknown host: strict refuses; accept-new records the key, then it is trusted (by OpenSSH ssh too)', async () => {
    const h = await lab.start('new01', { unknown: true });
    const kh = join(lab.dir, 'known_hosts.new01');
    await writeFile(kh, '');
    const strict = lab.settings(h, { ssh: { knownHostsFile: kh } });
    // Unknown is not "changed": another code and another message than the HOST KEY CHANGED test above.
    const e = await expectTransportError(transport.open('new01', strict, { deadlines: D }), 'hostkey-unknown', 'connect');
    expect(e.message).toMatch(/^UNKNOWN HOST KEY for .*not in .*refused \(hostKeyPolicy strict\)/);
    expect(e.message).not.toMatch(/CHANGED/);
    expect(await readFile(kh, 'utf8')).toBe('');

    const s1 = await transport.open('new01', lab.settings(h, { ssh: { knownHostsFile: kh, hostKeyPolicy: 'accept-new' } }), { deadlines: D });
    await s1.close();
    const recorded = await readFile(kh, 'utf8');
    expect(recorded).toBe(`[127.0.0.1]:${h.port} ${h.hostKeys[0]!.publicLine.split(' ').slice(0, 2).join(' ')}\n`);
    const s2 = await transport.open('new01', strict, { deadlines: D });
    expect((await s2.exec(fakeInvocation('exit-0'), { commandMs: 10_000 })).exitCode).toBe(0);
    await s2.close();
    // The recorded file is valid for OpenSSH's own client in strict mode.
    const out = execFileSync(openSshBinary('ssh'), [
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${kh}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-i',
      lab.env.clientKey.privatePath,
      '-p',
      String(h.port),
      `${lab.env.user}@127.0.0.1`,
      'echo',
      'hello',
    ]).toString();
    expect(out.trim()).toBe('hello');
  });

  test('a hashed known_hosts entry (ssh-keygen -H) is accepted', async () => {
    const h = await lab.start('hashed01', { unknown: true });
    const kh = join(lab.dir, 'known_hosts.hashed');
    await writeFile(kh, `[127.0.0.1]:${h.port} ${h.hostKeys[0]!.publicLine}\n`);
    execFileSync(openSshBinary('ssh-keygen'), ['-H', '-f', kh], { stdio: 'pipe' });
    expect(await readFile(kh, 'utf8')).toMatch(/^\|1\|/);
    const s = await transport.open('hashed01', lab.settings(h, { ssh: { knownHostsFile: kh } }), { deadlines: D });
    await s.close();
  });

  test('a host with several key types: the type on file is negotiated, whichever order sshd prefers', async () => {
    const h = await lab.start('multi01', { unknown: true, hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });
    for (const k of h.hostKeys) {
      const kh = join(lab.dir, `known_hosts.multi.${k.publicLine.split(' ')[0]}`);
      await writeFile(kh, `[127.0.0.1]:${h.port} ${k.publicLine}\n`);
      const s = await transport.open('multi01', lab.settings(h, { ssh: { knownHostsFile: kh } }), { deadlines: D });
      await s.close();
    }
  });

  test('@revoked and @cert-authority entries refuse with their reason', async () => {
    const h = await lab.start('marker01', { unknown: true });
    const kh = join(lab.dir, 'known_hosts.markers');
    await writeFile(kh, `[127.0.0.1]:${h.port} ${h.hostKeys[0]!.publicLine}\n@revoked * ${h.hostKeys[0]!.publicLine}\n`);
    const e1 = await expectTransportError(transport.open('marker01', lab.settings(h, { ssh: { knownHostsFile: kh } }), { deadlines: D }), 'hostkey-mismatch');
    expect(e1.message).toMatch(/@revoked/);
    await writeFile(kh, `@cert-authority [127.0.0.1]:* ${h.hostKeys[0]!.publicLine}\n`);
    const e2 = await expectTransportError(
      transport.open('marker01', lab.settings(h, { ssh: { knownHostsFile: kh, hostKeyPolicy: 'accept-new' } }), { deadlines: D }),
      'hostkey-mismatch',
    );
    expect(e2.message).toMatch(/cert-authority.*not supported/);
  });
});

describe('authentication', () => {
  test('an encrypted key (ssh-keygen) with its passphrase; without it a clear auth-failed before connecting', async () => {
    const h = await lab.start('auth-enc');
    const s = await transport.open('auth-enc', lab.settings(h, { ssh: { identityFile: encrypted.path, passphrase: new Secret(PASSPHRASE) } }), {
      deadlines: D,
    });
    await s.close();
    const e = await expectTransportError(
      transport.open('auth-enc', lab.settings(h, { ssh: { identityFile: encrypted.path } }), { deadlines: D }),
      'auth-failed',
      'auth',
    );
    expect(e.message).toMatch(/encrypted/);
    const wrong = await expectTransportError(
      transport.open('auth-enc', lab.settings(h, { ssh: { identityFile: encrypted.path, passphrase: new Secret('nope') } }), { deadlines: D }),
      'auth-failed',
    );
    expect(wrong.message).not.toContain('nope');
  });

  test('ssh-agent (openssh-client) holding the key', async () => {
    const h = await lab.start('auth-agent');
    const agent = await startAgent(lab.dir, [agentKey.path]);
    try {
      const s = await transport.open('auth-agent', lab.settings(h, { ssh: { identityFile: undefined, agent: agent.socket } }), { deadlines: D });
      expect((await s.exec(fakeInvocation('exit-0'), { commandMs: 10_000 })).exitCode).toBe(0);
      await s.close();
    } finally {
      await agent.stop();
    }
  });

  test('password, and keyboard-interactive (sshd with PAM; needs root for the private mount namespace)', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (it runs sshd in a private mount namespace); CI runs as root');
    const password = new Secret(`lab-${Math.random().toString(36).slice(2)}-“quoted” 'x' $y`);
    for (const method of ['password', 'keyboard-interactive'] as const) {
      // Each sshd offers only one method, so the other one cannot be what succeeded.
      const h = await lab.start(`auth-${method}`, { password, passwordMethods: [method] });
      const settings = lab.settings(h, { password, ssh: { identityFile: undefined, agent: '' } });
      const s = await transport.open(h.name, settings, { deadlines: D });
      expect((await s.exec(fakeInvocation('exit-0'), { commandMs: 10_000 })).exitCode).toBe(0);
      await s.close();
      const wrong = lab.settings(h, { password: new Secret('wrong'), ssh: { identityFile: undefined, agent: '' } });
      const e = await expectTransportError(transport.open(h.name, wrong, { deadlines: D }), 'auth-failed', 'auth');
      expect(e.message).not.toContain('wrong');
    }
  });

  test('a host that knows none of our keys: auth-failed in the auth phase', async () => {
    const h = await lab.start('auth-none', { faults: { authFailure: true } });
    await expectTransportError(transport.open('auth-none', lab.settings(h), { deadlines: D }), 'auth-failed', 'auth');
  });
});

describe('failures and deadlines', () => {
  test('refused port: unreachable in the connect phase', async () => {
    const [port] = await reservePorts(1);
    await expectTransportError(
      transport.open(
        'refused',
        {
          transport: 'ssh',
          address: '127.0.0.1',
          port,
          user: 'x',
          ssh: { identityFile: lab.env.clientKey.privatePath, knownHostsFile: lab.env.knownHostsFile },
        },
        { deadlines: D },
      ),
      'unreachable',
      'connect',
    );
  });

  test('connect deadline (peer accepts TCP, never speaks SSH) is distinct from the command deadline', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const t0 = Date.now();
    const e = await expectTransportError(
      transport.open(
        'silent',
        {
          transport: 'ssh',
          address: '127.0.0.1',
          port,
          user: 'x',
          ssh: { identityFile: lab.env.clientKey.privatePath, knownHostsFile: lab.env.knownHostsFile },
        },
        { deadlines: { connectMs: 400, authMs: 5_000, commandMs: 60_000 } },
      ),
      'timeout',
      'connect',
    );
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(e.message).toMatch(/connect deadline of 400 ms/);
    sockets.forEach((s) => s.destroy());
    silent.close();

    const h = await lab.start('deadline01');
    const s = await transport.open('deadline01', lab.settings(h), { deadlines: { connectMs: 5_000, authMs: 5_000, commandMs: 60_000 } });
    const started: string[] = [];
    const ce = await expectTransportError(s.exec(fakeInvocation('sleep'), { commandMs: 1_500, onStdout: (c) => started.push(c) }), 'timeout', 'command');
    expect(ce.message).toMatch(/command deadline of 1500 ms/);
    expect(started.join('')).toMatch(/started/);
    const pid = Number(readFileSync(join(lab.dir, 'state', 'deadline01', 'sleep.pid'), 'utf8'));
    expect(await waitGone(pid)).toBe(true);
  });

  test('abort stops the remote command: its process is gone, the controller carries on', async () => {
    const h = await lab.start('abort01');
    const s = await transport.open('abort01', lab.settings(h), { deadlines: D });
    const ac = new AbortController();
    const e = await expectTransportError(
      s.exec(fakeInvocation('sleep'), { commandMs: 60_000, signal: ac.signal, onStdout: () => ac.abort() }),
      'aborted',
      'command',
    );
    expect(e.message).toMatch(/aborted/);
    const pid = Number(readFileSync(join(lab.dir, 'state', 'abort01', 'sleep.pid'), 'utf8'));
    expect(await waitGone(pid)).toBe(true);
    // The aborted session is finished; a new one works.
    await expectTransportError(s.exec(fakeInvocation('exit-0'), { commandMs: 5_000 }), 'aborted');
    const s2 = await transport.open('abort01', lab.settings(h), { deadlines: D });
    expect((await s2.exec(fakeInvocation('exit-0'), { commandMs: 10_000 })).exitCode).toBe(0);
    await s2.close();
  });

  test('a peer that drops the connection mid-command: remote-failed (outcome unknown), output so far kept flowing', async () => {
    const h = await lab.start('drop01', { faults: { drop: true } });
    const s = await transport.open('drop01', lab.settings(h), { deadlines: D });
    const seen: string[] = [];
    const e = await expectTransportError(
      s.exec(fakeInvocation('slow-lines'), { commandMs: 30_000, onStdout: (c) => seen.push(c) }),
      'remote-failed',
      'command',
    );
    expect(e.message).toMatch(/outcome unknown/);
    expect(seen.join('')).toContain('line 1');
    // The controller is fine: another host (and this transport) still work.
    const ok = await lab.start('drop02');
    const s2 = await transport.open('drop02', lab.settings(ok), { deadlines: D });
    expect((await s2.exec(fakeInvocation('exit-0'), { commandMs: 10_000 })).exitCode).toBe(0);
    await s2.close();
  });

  test('handshakes are capped separately from sessions', async () => {
    const h = await lab.start('cap01');
    const capped = new SshTransport({ maxConcurrentHandshakes: 2 });
    let maxActive = 0;
    let sawQueue = false;
    const probe = setInterval(() => {
      const l = capped.handshakeLoad;
      maxActive = Math.max(maxActive, l.active);
      if (l.pending > 0) sawQueue = true;
    }, 2);
    const sessions = await Promise.all(Array.from({ length: 6 }, () => capped.open('cap01', lab.settings(h), { deadlines: DEFAULT_DEADLINES })));
    clearInterval(probe);
    expect(maxActive).toBe(2);
    expect(sawQueue).toBe(true);
    // All six sessions are open at once: the cap is on handshakes only.
    const results = await Promise.all(sessions.map((s) => s.exec(fakeInvocation('exit-0'), { commandMs: 10_000 })));
    expect(results.every((r) => r.exitCode === 0)).toBe(true);
    await Promise.all(sessions.map((s) => s.close()));
  });
});
