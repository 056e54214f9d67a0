/**
 * Our `winrm` transport against the lab WinRM server: payload size, long-poll timeouts, cleanup after success,
 * failure and abort (no shell leaks), and every failure class with its phase. PowerShell is a scripted stand-in
 * here (tests/winrm/helpers.ts) so these run in seconds; e2e.test.ts runs the real remote engine.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLabPki, type LabPki } from '../../../src/lab/winrm/certs.js';
import { createLabExecutor, LabStartError, type LabCommandLine } from '../../../src/lab/winrm/executor.js';
import { startLabWinrmServer, type LabWinrmServer, type LabWinrmServerOptions } from '../../../src/lab/winrm/server.js';
import { createWinrmTransport, type WinrmSession } from '../../../src/transport/winrm/index.js';
import { DEFAULT_DEADLINES, TransportError, type ConnectionSettings, type Invocation, type WinrmSettings } from '../../../src/transport/types.js';
import { InputError } from '../../../src/util/errors.js';
import { Secret } from '../../../src/util/secret.js';
import { scriptedPowerShell, tempDir } from './helpers.js';

const PASSWORD = 'Pa$$ ‘smart’ “quotes” ü';
const USERS = { Administrator: PASSWORD };
const BOOTSTRAP = Buffer.from("$ErrorActionPreference='Stop'; $in = $input | Out-String; exit 0", 'utf16le').toString('base64');

function invocation(stdin: unknown): Invocation {
  return { encodedCommand: BOOTSTRAP, stdin: Buffer.from(typeof stdin === 'string' ? stdin : JSON.stringify(stdin), 'utf8') };
}

async function expectTransportError(p: Promise<unknown>, errorClass: string, phase?: string): Promise<TransportError> {
  const err = await p.then(
    () => {
      throw new Error(`expected a TransportError ${errorClass}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  const te = err as TransportError;
  expect({ class: te.errorClass, phase: phase ? te.phase : undefined, message: te.message }).toMatchObject({
    class: errorClass,
    ...(phase ? { phase } : {}),
  });
  return te;
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`condition not reached: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('winrm transport against the lab WinRM server', () => {
  let lab: { dir: string; cleanup: () => Promise<void> };
  let pki: LabPki;
  const servers: LabWinrmServer[] = [];
  const sessions: WinrmSession[] = [];
  const log = { started: 0, aborted: 0 };
  const seenLines: LabCommandLine[] = [];
  const warnings: string[] = [];
  const transport = createWinrmTransport({ onWarning: (host, m) => warnings.push(`${host}: ${m}`), cleanupMs: 5000 });

  beforeAll(async () => {
    lab = await tempDir('svcfleet-winrm-client-');
    pki = await ensureLabPki(lab.dir);
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.close()));
    await lab.cleanup();
  });

  const start = async (o: Partial<LabWinrmServerOptions> = {}): Promise<LabWinrmServer> => {
    let server: LabWinrmServer | undefined;
    // Injected timeouts come first; the command then runs until the server has also timed out two Receives itself.
    const conditions = { naturalTimeouts: () => (server?.stats().timedOutReceives ?? 0) >= (o.faults?.receiveTimeouts ?? 0) + 2 };
    const powershell = scriptedPowerShell(log, conditions);
    const base = createLabExecutor({ identity: { computerName: 'LAB', user: 'Administrator' }, powershell });
    const s = await startLabWinrmServer({
      users: USERS,
      executor: {
        validate: (c) => base.validate?.(c),
        run: (c, io) => {
          seenLines.push(c);
          return base.run(c, io);
        },
      },
      ...o,
    });
    server = s;
    servers.push(s);
    return s;
  };

  const settings = (srv: LabWinrmServer, winrm: Partial<WinrmSettings> = {}, password = PASSWORD): ConnectionSettings => ({
    transport: 'winrm',
    address: srv.host,
    port: srv.port,
    user: 'Administrator',
    password: new Secret(password),
    winrm: { scheme: srv.scheme, auth: 'ntlm', ...(srv.scheme === 'https' ? { caFile: pki.caFile } : {}), ...winrm },
  });

  const open = async (srv: LabWinrmServer, winrm: Partial<WinrmSettings> = {}, deadlines = DEFAULT_DEADLINES): Promise<WinrmSession> => {
    const s = (await transport.open('lab', settings(srv, winrm), { deadlines })) as WinrmSession;
    sessions.push(s);
    return s;
  };

  it('carries a 256 KB stdin payload over NTLM-sealed HTTP; the command line stays short of the 8191 cmd limit', async () => {
    const srv = await start();
    const session = await open(srv);
    const filler = 'x‘y’z“q”'.repeat(32 * 1024); // ≥ 256 KB UTF-8, hostile quotes included: data, never code
    const inv = invocation({ filler });
    const streamed: string[] = [];
    const r = await session.exec(inv, { commandMs: 30_000, onStdout: (c) => streamed.push(c) });
    expect(inv.stdin.length).toBeGreaterThan(200 * 1024);
    expect(r.exitCode).toBe(0);
    const digest = createHash('sha256').update(inv.stdin).digest('hex');
    expect(r.stdout).toContain(`stdin=${inv.stdin.length} sha256=${digest}`);
    expect(streamed.join('')).toBe(r.stdout);
    const line = seenLines.at(-1)!;
    expect(line.command).toBe('powershell.exe');
    expect(line.args.slice(0, -1)).toEqual(['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
    expect(line.skipCmdShell).toBe(true);
    expect([line.command, ...line.args].join(' ').length).toBeLessThan(1000);
    const st = srv.stats();
    expect(st.sealedRequests).toBeGreaterThanOrEqual(1 + 1 + 3 + 1 + 1 + 1); // Create, Command, 3 Sends, Receive, Signal, Delete
    expect(st.openShells).toBe(0);

    // The same payload squeezed into the command line is what breaks a real host (cmd.exe: 8191 characters).
    const huge = Buffer.from(`$p = '${'x'.repeat(8000)}'`, 'utf16le').toString('base64');
    const viaCmd = await session.runCommand('cmd', ['/c', `powershell.exe -EncodedCommand ${huge}`], { commandMs: 10_000 });
    expect(viaCmd.stderr).toContain('The command line is too long.');
    expect(viaCmd.exitCode).toBe(1);
  });

  it('streams stdout/stderr as UTF-8 and returns the exit code and raw stderr', async () => {
    const srv = await start();
    const session = await open(srv);
    const chunks: string[] = [];
    const r = await session.exec(invocation({ chunks: 50, stderr: '#< CLIXML\r\n<Objs Version="1.1.0.1"/>', exit: 7 }), {
      commandMs: 10_000,
      onStdout: (c) => chunks.push(c),
    });
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toContain('chunk 49 ✓\n');
    expect(r.stderr).toBe('#< CLIXML\r\n<Objs Version="1.1.0.1"/>');
    expect(chunks.join('')).toBe(r.stdout);

    // ~550 KB of output: several Receives, each cut at the envelope budget, often inside a 3-byte '✓'. The deadline
    // only guards against a hang: at load 40 on two cores these Receives took more than 30 s.
    const big = await session.exec(invocation({ chunks: 40_000 }), { commandMs: 100_000 });
    const expected = Array.from({ length: 40_000 }, (_, i) => `chunk ${i} ✓\n`).join('');
    expect(big.stdout).toContain(expected);
    expect(big.stdout.endsWith(`${expected}done\n`)).toBe(true);
  });

  it('survives Receive operation timeouts (w:TimedOut, WSManFault 2150858793), injected and natural', async () => {
    const srv = await start({ faults: { receiveTimeouts: 3, maxOperationTimeoutMs: 100 } });
    const session = await open(srv);
    const r = await session.exec(invocation({ until: 'naturalTimeouts' }), { commandMs: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('done');
    expect(srv.stats().timedOutReceives).toBeGreaterThanOrEqual(5);
  });

  it('Signal + Delete always: no shell left after success, failure to start, deadline and abort', async () => {
    const srv = await start();
    const session = await open(srv);
    await session.exec(invocation({}), { commandMs: 10_000 });
    expect(srv.stats().openShells).toBe(0);

    // The process cannot start: the Command request faults → remote-failed, shell still deleted.
    const broken = await start({
      executor: {
        validate: () => {
          throw new LabStartError('The system cannot find the file specified.');
        },
        run: async () => 0,
      },
    });
    const s2 = await open(broken);
    const e = await expectTransportError(s2.exec(invocation({}), { commandMs: 10_000 }), 'remote-failed', 'command');
    expect(e.message).toContain('cannot find the file');
    expect(broken.stats().openShells).toBe(0);

    // Deadline: the remote command is signalled and the shell deleted.
    const abortedBefore = log.aborted;
    const startedBefore0 = log.started;
    await expectTransportError(session.exec(invocation({ sleepMs: 20_000 }), { commandMs: 400 }), 'timeout', 'command');
    expect(srv.stats().openShells).toBe(0);
    expect(log.started).toBe(startedBefore0 + 1);
    await waitFor(() => log.aborted === abortedBefore + 1);

    // Abort: really stops the remote command, promptly.
    const ctl = new AbortController();
    const t0 = Date.now();
    const startedBefore = log.started;
    const p = session.exec(invocation({ sleepMs: 20_000 }), { commandMs: 60_000, signal: ctl.signal });
    await waitFor(() => log.started === startedBefore + 1 && srv.stats().runningCommands === 1);
    ctl.abort();
    await expectTransportError(p, 'aborted', 'command');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(srv.stats().openShells).toBe(0);
    await waitFor(() => log.aborted === abortedBefore + 2);

    // And the session still works afterwards (it re-authenticated after the aborted long-poll).
    expect((await session.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
    expect(session.handshakes).toBeGreaterThanOrEqual(2);
  });

  it('wrong password and the auth-failure fault → auth-failed in the auth phase', async () => {
    const srv = await start();
    await expectTransportError(transport.open('lab', settings(srv, {}, 'wrong'), { deadlines: DEFAULT_DEADLINES }), 'auth-failed', 'auth');
    const locked = await start({ faults: { authFailure: true } });
    await expectTransportError(transport.open('lab', settings(locked), { deadlines: DEFAULT_DEADLINES }), 'auth-failed', 'auth');
    expect(srv.stats().openShells + locked.stats().openShells).toBe(0);
  });

  it('HTTPS: NTLM with channel binding and Basic both work with the CA bundle', async () => {
    const srv = await start({ https: { labDir: lab.dir }, auth: { ntlm: true, basic: true } });
    const ntlm = await open(srv);
    expect((await ntlm.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
    expect(srv.stats().channelBoundHandshakes).toBe(1);
    expect(srv.stats().sealedRequests).toBe(0); // TLS protects it; no NTLM sealing on HTTPS
    const basic = await open(srv, { auth: 'basic' });
    expect((await basic.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
  });

  it('untrusted certificate → tls-untrusted; certValidation: ignore works and warns loudly', async () => {
    const rogue = await start({ https: { labDir: lab.dir }, faults: { untrustedCert: true } });
    await expectTransportError(transport.open('lab', settings(rogue), { deadlines: DEFAULT_DEADLINES }), 'tls-untrusted', 'connect');
    expect(rogue.stats().requests).toBe(0);
    // No CA bundle at all: Node's default roots do not know the lab CA either.
    const trusted = await start({ https: { labDir: lab.dir } });
    const noCa = settings(trusted);
    delete noCa.winrm!.caFile;
    await expectTransportError(transport.open('lab', noCa, { deadlines: DEFAULT_DEADLINES }), 'tls-untrusted', 'connect');

    const before = warnings.length;
    const s = await open(rogue, { certValidation: 'ignore' });
    expect(warnings.slice(before).join('\n')).toMatch(/verification is DISABLED/);
    expect((await s.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
  });

  it('Basic over plain HTTP is refused before any connection unless explicitly allowed', async () => {
    const srv = await start({ auth: { ntlm: false, basic: true, allowUnencrypted: true } });
    const err = await transport.open('lab', settings(srv, { auth: 'basic' }), { deadlines: DEFAULT_DEADLINES }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).format()).toMatch(/field winrm\.auth, host lab: Basic authentication over plain HTTP/);
    expect(srv.stats().requests).toBe(0);

    const before = warnings.length;
    const s = await open(srv, { auth: 'basic', allowUnencryptedBasic: true });
    expect(warnings.slice(before).join('\n')).toMatch(/clear text/);
    expect((await s.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
  });

  it('a peer that closes the connection mid-command → remote-failed (outcome unknown); shell cleaned up; client usable', async () => {
    const srv = await start({ faults: { dropMidCommand: true } });
    const s = await open(srv);
    const e = await expectTransportError(s.exec(invocation({ sleepMs: 2000 }), { commandMs: 10_000 }), 'remote-failed', 'command');
    expect(e.message).toMatch(/closed by the peer.*outcome unknown/);
    expect(srv.stats().openShells).toBe(0); // Signal + Delete went out on a fresh, re-authenticated connection
    srv.setFaults({});
    expect((await s.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
  });

  it('garbage from the peer → protocol (not-SOAP body, not-HTTP bytes)', async () => {
    const xml = await start({ faults: { garbage: 'xml' } });
    const s1 = await open(xml);
    const e1 = await expectTransportError(s1.exec(invocation({}), { commandMs: 10_000 }), 'protocol', 'command');
    expect(e1.message).toMatch(/Create/);
    const raw = await start({ faults: { garbage: 'http' } });
    const s2 = await open(raw);
    await expectTransportError(s2.exec(invocation({}), { commandMs: 10_000 }), 'protocol', 'command');
  });

  it('refused port → unreachable; slow TLS connect → timeout in the connect phase', async () => {
    const closed = await start({ faults: { refuse: true } });
    await expectTransportError(transport.open('lab', settings(closed), { deadlines: DEFAULT_DEADLINES }), 'unreachable', 'connect');
    const slow = await start({ https: { labDir: lab.dir }, faults: { connectDelayMs: 3000 } });
    const t0 = Date.now();
    await expectTransportError(transport.open('lab', settings(slow), { deadlines: { connectMs: 300, authMs: 5000, commandMs: 10_000 } }), 'timeout', 'connect');
    expect(Date.now() - t0).toBeLessThan(2000);
    // Aborting while connecting ends open() at once with the aborted class.
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    await expectTransportError(transport.open('lab', settings(slow), { signal: ctl.signal, deadlines: DEFAULT_DEADLINES }), 'aborted');
  });

  it('slow Receive within the deadline succeeds; beyond it times out in the command phase', async () => {
    const srv = await start({ faults: { receiveDelayMs: 300 } });
    const s = await open(srv);
    expect((await s.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
    await expectTransportError(s.exec(invocation({}), { commandMs: 150 }), 'timeout', 'command');
    expect(srv.stats().openShells).toBe(0);
  });

  it('re-authenticates when the server drops the keep-alive connection', async () => {
    const srv = await start();
    const s = await open(srv);
    expect((await s.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
    expect(s.handshakes).toBe(1);
    srv.dropConnections();
    await waitFor(() => srv.stats().connections === 0);
    expect((await s.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
    expect(s.handshakes).toBe(2);
    // Idle keep-alive timeout on the server side (http.sys closes idle connections too).
    srv.setFaults({ keepAliveTimeoutMs: 50 });
    await s.exec(invocation({}), { commandMs: 10_000 });
    await waitFor(() => srv.stats().connections === 0);
    expect((await s.exec(invocation({}), { commandMs: 10_000 })).exitCode).toBe(0);
    expect(s.handshakes).toBe(3);
    expect(srv.stats().openShells).toBe(0);
  });

  it('many hosts at once: one listener per host, no shell left anywhere', async () => {
    const hosts = await Promise.all(Array.from({ length: 12 }, () => start()));
    const results = await Promise.all(
      hosts.map(async (h) => {
        const s = await open(h);
        const r = await s.exec(invocation({ chunks: 3 }), { commandMs: 20_000 });
        await s.close();
        return r.exitCode;
      }),
    );
    expect(results).toEqual(hosts.map(() => 0));
    expect(hosts.map((h) => h.stats().openShells)).toEqual(hosts.map(() => 0));
  });
});
