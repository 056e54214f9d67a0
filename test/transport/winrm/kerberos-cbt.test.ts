/**
 * Kerberos channel binding over HTTPS (RFC 5929 tls-server-end-point; Windows' Extended Protection), against a
 * REAL MIT KDC and the lab WinRM server's real GSSAPI acceptor, which checks the bindings through svcfleet's addon
 * (native/gssapi-cb):
 *   - MIT itself, at the addon level: matching bindings complete with GSS_C_CHANNEL_BOUND_FLAG, other bindings fail
 *     with GSS_S_BAD_BINDINGS, none are accepted without the flag;
 *   - our client binds its token to the certificate the TLS session presented: a Strict listener accepts it;
 *   - through a TLS-terminating proxy (another certificate the client trusts) the same client is refused, the
 *     listener reporting bad-bindings;
 *   - pywinrm (Debian's python3-requests-kerberos over python3-kerberos 1.1.14, which has no channelBindings, so
 *     requests-kerberos' send_cbt silently sends none): accepted by a Relaxed listener, refused by a Strict one
 *     with bindings-required.
 * The tests fail (never skip) when the KDC packages, the binding or the addon are missing.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabKdc, startKdc } from '../../../src/lab/kerberos/kdc.js';
import { ensureLabPki, type LabPki } from '../../../src/lab/winrm/certs.js';
import { KerberosAcceptor, KerberosRefusal } from '../../../src/lab/winrm/kerberos-acceptor.js';
import { type LabWinrmServer, startLabWinrmServer } from '../../../src/lab/winrm/server.js';
import { reservePorts } from '../../../src/lab/fleet/ports.js';
import { tlsServerEndPoint } from '../../../src/transport/winrm/cbt.js';
import { isGssCallError, loadGssCb } from '../../../src/transport/winrm/gssapi-cb.js';
import { KerberosError } from '../../../src/transport/winrm/gssapi.js';
import { createWinrmTransport, type WinrmSession } from '../../../src/transport/winrm/index.js';
import { type ConnectionSettings, DEFAULT_DEADLINES } from '../../../src/transport/types.js';
import { PYTHON, runPywinrm, tempDir } from './helpers.js';

const ALICE_PW = 'alice-cbt-pw';
const HOST = 'localhost'; // in the lab certificate; SPN HTTP/localhost

const GSSAPI_CLIENT = fileURLToPath(new URL('./fixtures/gssapi_cbt_client.py', import.meta.url));

/** Debian's python3-gssapi as an independent channel-binding client (fixtures/gssapi_cbt_client.py). */
function runGssapiClient(args: Record<string, unknown>): Promise<{ status?: number; mutual?: boolean; error?: string; detail?: string }> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [GSSAPI_CLIENT, JSON.stringify(args)], { timeout: 30_000 }, (err, stdout, stderr) => {
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { error?: string; detail?: string };
        if (parsed.error === 'import')
          reject(new Error(`python3-gssapi is missing (${parsed.detail}): apt-get install -y python3-gssapi (scripts/setup.sh --peers)`));
        else resolve(parsed);
      } catch {
        reject(new Error(`gssapi client failed (${err?.message ?? 'no output'}): ${stderr}`));
      }
    });
  });
}

/** A TLS-terminating proxy on loopback: presents `material` to the client, re-encrypts to the real listener. */
async function startTlsProxy(material: { keyPem: string; certPem: string }, target: number): Promise<{ port: number; close(): Promise<void> }> {
  const [port] = await reservePorts(1, '127.0.0.1');
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: material.keyPem, cert: material.certPem }, (client) => {
    const upstream = tls.connect({ host: '127.0.0.1', port: target, rejectUnauthorized: false, servername: HOST });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: port!,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('Kerberos channel binding (tls-server-end-point) against a real MIT KDC', () => {
  let kdc: LabKdc;
  let restoreEnv: () => void;
  let lab: { dir: string; cleanup: () => Promise<void> };
  let pki: LabPki;
  let serviceKeytab: string;
  let strict: LabWinrmServer;
  let relaxed: LabWinrmServer;
  const sessions: WinrmSession[] = [];
  const warnings: string[] = [];
  const strictErrors: string[] = [];
  const transport = createWinrmTransport({ onWarning: (h, m) => warnings.push(`${h}: ${m}`), cleanupMs: 5000 });

  beforeAll(async () => {
    kdc = await startKdc();
    restoreEnv = kdc.useInProcess();
    await kdc.addUser('alice', ALICE_PW);
    serviceKeytab = await kdc.addService(`HTTP/${HOST}`);
    lab = await tempDir('svcfleet-winrm-cbt-');
    pki = await ensureLabPki(lab.dir);
    const users = { alice: 'unused-for-kerberos' };
    strict = await startLabWinrmServer({
      https: { labDir: lab.dir },
      users,
      auth: { ntlm: false, kerberos: { keytab: serviceKeytab, cbtHardeningLevel: 'strict' } },
      onError: (e) => strictErrors.push((e as Error).message),
    });
    relaxed = await startLabWinrmServer({ https: { labDir: lab.dir }, users, auth: { ntlm: false, kerberos: { keytab: serviceKeytab } } });
    await kdc.kinit('alice', ALICE_PW);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await transport.dispose?.();
    await strict?.close();
    await relaxed?.close();
    await lab?.cleanup();
    restoreEnv?.();
    await kdc?.stop();
  });

  const settings = (port: number, caFile = pki.caFile): ConnectionSettings => ({
    transport: 'winrm',
    address: HOST,
    port,
    winrm: { scheme: 'https', auth: 'kerberos', caFile, kerberos: { credentials: 'cache' } },
  });
  const open = async (s: ConnectionSettings): Promise<WinrmSession> => {
    const session = (await transport.open(HOST, s, { deadlines: { ...DEFAULT_DEADLINES, connectMs: 5000, authMs: 10_000 } })) as WinrmSession;
    sessions.push(session);
    return session;
  };
  const certBindings = (pem: string): Buffer => tlsServerEndPoint(Buffer.from(new X509Certificate(pem).raw));

  it('MIT checks the bindings: match → complete and channel-bound; another certificate → GSS_S_BAD_BINDINGS; none → accepted unbound', async () => {
    const gss = loadGssCb();
    const flags = gss.GSS_C_MUTUAL_FLAG | gss.GSS_C_SEQUENCE_FLAG;
    const mine = certBindings(pki.trusted.certPem);
    const other = certBindings(pki.rogue.certPem);
    const acceptor = (level: 'strict' | 'relaxed') => new KerberosAcceptor({ keytab: serviceKeytab, cbtHardeningLevel: level });
    // A fresh token per attempt: MIT's replay cache refuses the same authenticator twice.
    const token = async (appData: Buffer | null): Promise<Buffer> => (await gss.initSecContext(null, `HTTP@${HOST}`, flags, 1, null, appData)).token!;

    const ok = await acceptor('strict').accept(await token(mine), mine);
    expect(ok).toMatchObject({ principal: `alice@${kdc.realm}`, channelBound: true });
    expect(ok.response).toBeTruthy(); // the AP-REP for mutual authentication

    const bad = await acceptor('relaxed')
      .accept(await token(other), mine)
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(KerberosRefusal);
    expect((bad as KerberosRefusal).code).toBe('bad-bindings');
    const cause = (bad as KerberosRefusal).cause;
    expect(isGssCallError(cause) && cause.routine).toBe(gss.ROUTINE_BAD_BINDINGS);
    expect((bad as Error).message).toMatch(/Incorrect channel bindings|channel binding/i);

    const ignored = await new KerberosAcceptor({ keytab: serviceKeytab, cbtHardeningLevel: 'none' }).accept(await token(other), mine);
    expect(ignored.channelBound).toBe(false); // 'none' passes no bindings to MIT: a bound token is not checked

    const unboundRelaxed = await acceptor('relaxed').accept(await token(null), mine);
    expect(unboundRelaxed.channelBound).toBe(false);
    const unboundStrict = await acceptor('strict')
      .accept(await token(null), mine)
      .catch((e: unknown) => e);
    expect((unboundStrict as KerberosRefusal).code).toBe('bindings-required');
  });

  it('a missing addon is krb-binding-missing, naming the build command', () => {
    let err: unknown;
    try {
      loadGssCb(join(lab.dir, 'no-such-addon.node'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KerberosError);
    expect((err as KerberosError).code).toBe('krb-binding-missing');
    expect((err as Error).message).toMatch(/scripts\/build-gssapi-cb\.sh/);
  });

  it('our client binds its ticket to the TLS certificate: a Strict listener accepts it', async () => {
    const before = strict.stats();
    const session = await open(settings(strict.port));
    const r = await session.runCommand('cmd', ['/c', 'echo bound'], { commandMs: 20_000 });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'bound\r\n' });
    const after = strict.stats();
    expect(after.handshakes - before.handshakes).toBe(1);
    expect(after.channelBoundHandshakes - before.channelBoundHandshakes).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('through a TLS-terminating proxy (another certificate the client trusts) the bound ticket is refused: bad-bindings', async () => {
    // The client trusts the proxy's CA too, so TLS succeeds: only channel binding can notice the re-termination.
    const bundle = join(lab.dir, 'both-cas.pem');
    writeFileSync(bundle, readFileSync(pki.caFile, 'utf8') + pki.rogue.caPem);
    const proxy = await startTlsProxy(pki.rogue, strict.port);
    try {
      const before = strict.stats().kerberosRefusals;
      const err = await open(settings(proxy.port, bundle)).catch((e: unknown) => e);
      expect(err, String(err)).toBeInstanceOf(KerberosError);
      expect({ code: (err as KerberosError).code, class: (err as KerberosError).errorClass }).toEqual({ code: 'krb-rejected', class: 'auth-failed' });
      expect((err as Error).message).toMatch(/bound to the certificate this connection presented \(channel binding\)/);
      const after = strict.stats().kerberosRefusals;
      expect(after['bad-bindings'] - before['bad-bindings']).toBe(1);
      expect(strictErrors.at(-1)).toMatch(/GSS_S_BAD_BINDINGS.*\[bad-bindings\]/);
    } finally {
      await proxy.close();
    }
  });

  const pywinrm = (port: number) =>
    runPywinrm({
      endpoint: `https://${HOST}:${port}/wsman`,
      transport: 'kerberos',
      user: `alice@${kdc.realm}`,
      password: '',
      ca: pki.caFile,
      commands: [{ command: 'echo', args: ['from pywinrm'] }],
    });

  it('pywinrm (requests-kerberos without a channelBindings-capable pykerberos) is accepted by a Relaxed listener, unbound', async () => {
    const before = relaxed.stats();
    const r = await pywinrm(relaxed.port);
    expect(r.error, r.detail).toBeUndefined();
    expect(r.results).toEqual([{ stdout: 'from pywinrm\r\n', stderr: '', code: 0 }]);
    expect(relaxed.stats().handshakes).toBeGreaterThan(before.handshakes);
    expect(relaxed.stats().channelBoundHandshakes).toBe(before.channelBoundHandshakes);
  });

  it('the same pywinrm is refused by a Strict listener: bindings-required', async () => {
    const before = strict.stats().kerberosRefusals;
    const r = await pywinrm(strict.port);
    expect(r.error).toBeDefined();
    expect(strict.stats().kerberosRefusals['bindings-required']).toBeGreaterThan(before['bindings-required']);
    expect(strictErrors.at(-1)).toMatch(/CbtHardeningLevel=Strict.*\[bindings-required\]/);
  });

  const gssapiClient = (port: number, bindings: string) => runGssapiClient({ host: HOST, port, ca: pki.caFile, spn: `HTTP@${HOST}`, bindings });

  it('an independent bound client (python3-gssapi + requests-kerberos certificate hash) is accepted by a Strict listener, with mutual authentication', async () => {
    const before = strict.stats().channelBoundHandshakes;
    expect(await gssapiClient(strict.port, 'peer')).toEqual({ status: 200, mutual: true });
    expect(strict.stats().channelBoundHandshakes - before).toBe(1);
  });

  it('the independent client bound to another certificate is refused (bad-bindings), and unbound is refused by Strict only', async () => {
    const before = strict.stats().kerberosRefusals;
    expect(await gssapiClient(strict.port, pki.rogue.certPem)).toMatchObject({ status: 401 });
    expect(await gssapiClient(strict.port, 'none')).toMatchObject({ status: 401 });
    const after = strict.stats().kerberosRefusals;
    expect(after['bad-bindings'] - before['bad-bindings']).toBe(1);
    expect(after['bindings-required'] - before['bindings-required']).toBe(1);
    expect(await gssapiClient(relaxed.port, 'none')).toEqual({ status: 200, mutual: true });
  });
});
