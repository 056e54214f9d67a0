/**
 * WinRM over Kerberos against a REAL MIT KDC (src/lab/kerberos/kdc.ts: krb5kdc on loopback, a throwaway realm in a
 * temp dir) and the lab WinRM server's real GSSAPI acceptor with the service keytab:
 *   - pywinrm (Debian python3-winrm + python3-requests-kerberos, transport='kerberos') as the independent client;
 *   - our client with tickets from a credential cache, from a keytab and from a password (private cache);
 *   - `negotiate` preferring Kerberos and falling back to NTLM;
 *   - the usual failures, each with its own code: wrong realm, expired ticket, clock skew, unknown principal,
 *     missing keytab (plus no ticket, and HTTP + Kerberos refused before anything is contacted).
 * The tests fail (never skip) when the KDC packages or the binding are missing, naming the install command.
 */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLabPki, type LabPki } from '../../../src/lab/winrm/certs.js';
import { startLabWinrmServer, type LabWinrmServer } from '../../../src/lab/winrm/server.js';
import { KerberosError, requireBinding } from '../../../src/transport/winrm/gssapi.js';
import { createWinrmTransport, type WinrmSession } from '../../../src/transport/winrm/index.js';
import { DEFAULT_DEADLINES, type ConnectionSettings, type KerberosSettings, type WinrmSettings } from '../../../src/transport/types.js';
import { InputError } from '../../../src/util/errors.js';
import { Secret } from '../../../src/util/secret.js';
import { runPywinrm, tempDir } from './helpers.js';
import { type LabKdc, startKdc } from '../../../src/lab/kerberos/kdc.js';
import { skewCcache } from './ccache-skew.js';

const ALICE_PW = 'alice-Pa$$w0rd-ü'; // no blanks: kadmin.local -q splits on them
const HOST = 'localhost'; // resolves to 127.0.0.1, is in the lab certificate; SPN HTTP/localhost

describe('WinRM with Kerberos against a real MIT KDC', () => {
  let kdc: LabKdc;
  let restoreEnv: () => void;
  let lab: { dir: string; cleanup: () => Promise<void> };
  let pki: LabPki;
  let srv: LabWinrmServer;
  let serviceKeytab: string;
  const sessions: WinrmSession[] = [];
  const warnings: string[] = [];
  const serverErrors: string[] = [];
  const transport = createWinrmTransport({ onWarning: (h, m) => warnings.push(`${h}: ${m}`), cleanupMs: 5000 });

  beforeAll(async () => {
    kdc = await startKdc();
    restoreEnv = kdc.useInProcess();
    await kdc.addUser('alice', ALICE_PW);
    await kdc.addUser('bob', 'bob-pw');
    await kdc.addUser('mallory', 'mallory-pw'); // a principal the host has no account for
    serviceKeytab = await kdc.addService(`HTTP/${HOST}`);
    lab = await tempDir('svcfleet-winrm-krb-');
    pki = await ensureLabPki(lab.dir);
    srv = await startLabWinrmServer({
      host: '127.0.0.1',
      https: { labDir: lab.dir },
      users: { alice: 'unused-for-kerberos', bob: 'unused', ops: 'ops-ntlm-pw' },
      auth: { ntlm: true, kerberos: { keytab: serviceKeytab } },
      onError: (e) => serverErrors.push((e as Error).message),
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await transport.dispose?.();
    await srv?.close();
    await lab?.cleanup();
    restoreEnv?.();
    await kdc?.stop();
  });

  const settings = (
    kerberos: KerberosSettings = {},
    o: { user?: string; password?: string; auth?: WinrmSettings['auth']; scheme?: 'http' | 'https' } = {},
  ): ConnectionSettings => ({
    transport: 'winrm',
    address: HOST,
    port: srv.port,
    ...(o.user ? { user: o.user } : {}),
    ...(o.password ? { password: new Secret(o.password) } : {}),
    winrm: { scheme: o.scheme ?? 'https', auth: o.auth ?? 'kerberos', caFile: pki.caFile, kerberos },
  });
  const open = async (s: ConnectionSettings): Promise<WinrmSession> => {
    const session = (await transport.open(HOST, s, { deadlines: { ...DEFAULT_DEADLINES, connectMs: 5000, authMs: 10_000 } })) as WinrmSession;
    sessions.push(session);
    return session;
  };
  const echo = async (session: WinrmSession, text: string): Promise<string> => {
    const r = await session.runCommand('cmd', ['/c', `echo ${text}`], { commandMs: 20_000 });
    expect(r.exitCode).toBe(0);
    return r.stdout;
  };
  const expectKrb = async (p: Promise<unknown>, code: string, message?: RegExp): Promise<KerberosError> => {
    const err = await p.then(
      () => {
        throw new Error(`expected KerberosError ${code}`);
      },
      (e: unknown) => e,
    );
    expect(err, String(err)).toBeInstanceOf(KerberosError);
    const ke = err as KerberosError;
    expect({ code: ke.code, class: ke.errorClass, phase: ke.phase }).toEqual({ code, class: 'auth-failed', phase: 'auth' });
    if (message) expect(ke.message).toMatch(message);
    return ke;
  };

  it('pywinrm transport=kerberos (requests-kerberos, ticket from the cache) runs commands on the lab server', async () => {
    await kdc.kinit('alice', ALICE_PW);
    const before = srv.stats().handshakes;
    const r = await runPywinrm({
      endpoint: `https://${HOST}:${srv.port}/wsman`,
      transport: 'kerberos',
      user: `alice@${kdc.realm}`,
      password: '',
      ca: pki.caFile,
      commands: [
        { command: 'echo', args: ['hello over kerberos'] },
        { command: 'cmd', args: ['/c', 'echo out && exit 3'] },
      ],
    });
    expect(r.error, r.detail).toBeUndefined();
    expect(r.results).toEqual([
      { stdout: 'hello over kerberos\r\n', stderr: '', code: 0 },
      { stdout: 'out \r\n', stderr: '', code: 3 },
    ]);
    expect(srv.stats().handshakes).toBeGreaterThan(before);
  }, 60_000);

  it('our client with the ticket from the credential cache (KRB5CCNAME after kinit)', async () => {
    await kdc.kinit('alice', ALICE_PW);
    const session = await open(settings({}, {}));
    expect(session.auth).toBe('kerberos');
    expect(await echo(session, 'from the cache')).toBe('from the cache\r\n');
    // The cache is the user's: it is left alone.
    expect(existsSync(kdc.env.KRB5CCNAME!.replace(/^FILE:/, ''))).toBe(true);
  }, 30_000);

  it('our client from a password: kinit into a private cache (password on stdin), removed when the session closes', async () => {
    const privateDirs = (): string[] => readdirSync(tmpdir()).filter((d) => d.startsWith('svcfleet-krb5-'));
    const before = privateDirs();
    const session = await open(settings({}, { user: 'bob', password: 'bob-pw' }));
    expect(session.auth).toBe('kerberos');
    const during = privateDirs().filter((d) => !before.includes(d));
    expect(during).toHaveLength(1);
    expect(await echo(session, 'bob via kinit')).toBe('bob via kinit\r\n');
    await session.close();
    expect(existsSync(join(tmpdir(), during[0]!))).toBe(false);
  }, 30_000);

  it('delegation: a forwardable ticket (kinit -f) and the GSS delegation flag are accepted end to end', async () => {
    const session = await open(settings({ delegation: true }, { user: `bob@${kdc.realm}`, password: 'bob-pw' }));
    expect(await echo(session, 'delegated')).toBe('delegated\r\n');
  }, 30_000);

  it('our client from a keytab (kinit -k -t into a private cache)', async () => {
    const keytab = await kdc.userKeytab('alice');
    const session = await open(settings({ credentials: 'keytab', keytab }, { user: `alice@${kdc.realm}` }));
    expect(await echo(session, 'alice via keytab')).toBe('alice via keytab\r\n');
  }, 30_000);

  it('negotiate prefers Kerberos, and falls back to NTLM (with a warning) when no ticket can be had', async () => {
    await kdc.kinit('alice', ALICE_PW);
    const krb = await open(settings({ credentials: 'cache' }, { auth: 'negotiate' }));
    expect(krb.auth).toBe('kerberos');
    // A plain local user with a password: NTLM straight away, no kinit, no warning.
    const local = await open(settings({}, { auth: 'negotiate', user: 'ops', password: 'ops-ntlm-pw' }));
    expect(local.auth).toBe('ntlm');
    expect(warnings).toEqual([]);
    // ops@LAB.TEST has no principal in the realm: kinit fails, NTLM with the password works, with a warning.
    const ntlm = await open(settings({}, { auth: 'negotiate', user: `ops@${kdc.realm}`, password: 'ops-ntlm-pw' }));
    expect(ntlm.auth).toBe('ntlm');
    expect(await echo(ntlm, 'ntlm fallback')).toBe('ntlm fallback\r\n');
    expect(warnings.some((w) => /falling back to NTLM.*krb-unknown-principal/.test(w))).toBe(true);
  }, 30_000);

  it('HTTP + Kerberos is refused before anything is contacted (no message encryption in the binding)', async () => {
    const before = srv.stats().requests;
    const err = await transport.open(HOST, settings({}, { scheme: 'http' }), { deadlines: DEFAULT_DEADLINES }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/Kerberos over plain HTTP needs WinRM message encryption.*scheme: https/);
    expect(srv.stats().requests).toBe(before);
  });

  describe('failures, each with its own code', () => {
    it('a missing GSSAPI binding → krb-binding-missing, saying how to build it', () => {
      let err: unknown;
      try {
        requireBinding('svcfleet-no-such-gssapi-binding');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KerberosError);
      expect((err as KerberosError).code).toBe('krb-binding-missing');
      expect((err as KerberosError).message).toMatch(/libkrb5-dev.*npm rebuild/);
    });

    it('wrong realm → krb-wrong-realm', async () => {
      await expectKrb(open(settings({}, { user: 'alice@NO-SUCH.REALM', password: ALICE_PW })), 'krb-wrong-realm', /NO-SUCH\.REALM/);
    });

    it('unknown principal → krb-unknown-principal (user and SPN)', async () => {
      await expectKrb(open(settings({}, { user: 'nobody', password: 'x' })), 'krb-unknown-principal', /nobody@LAB\.TEST.*not found/);
      await kdc.kinit('alice', ALICE_PW);
      await expectKrb(open(settings({ service: 'WSMAN' })), 'krb-unknown-principal', /WSMAN\/localhost/);
    });

    it('expired ticket → krb-ticket-expired', async () => {
      const cc = join(kdc.dir, 'short.ccache');
      await kdc.kinit('alice', ALICE_PW, `FILE:${cc}`, ['-l', '2s']);
      await new Promise((r) => setTimeout(r, 3000));
      await expectKrb(open(settings({ credentials: 'cache', ccache: `FILE:${cc}` })), 'krb-ticket-expired', /expired.*kinit again/);
    }, 20_000);

    it('clock skew → krb-clock-skew', async () => {
      const cc = join(kdc.dir, 'skewed.ccache');
      await kdc.kinit('alice', ALICE_PW, `FILE:${cc}`);
      await skewCcache(cc, -3600); // this controller's clock one hour behind the KDC's
      await expectKrb(open(settings({ credentials: 'cache', ccache: `FILE:${cc}` })), 'krb-clock-skew', /Clock skew too great/);
    });

    it('missing keytab → krb-keytab-missing', async () => {
      await expectKrb(
        open(settings({ credentials: 'keytab', keytab: join(kdc.dir, 'no-such.keytab') }, { user: 'alice' })),
        'krb-keytab-missing',
        /no-such\.keytab/,
      );
    });

    it('no ticket in the cache → krb-no-credentials; wrong password → krb-bad-password', async () => {
      await expectKrb(open(settings({ credentials: 'cache', ccache: `FILE:${join(kdc.dir, 'empty.ccache')}` })), 'krb-no-credentials', /kinit/);
      await expectKrb(open(settings({}, { user: 'alice', password: 'wrong' })), 'krb-bad-password');
    });

    it('a principal the host does not know → krb-rejected (HTTP 401 from the acceptor)', async () => {
      await expectKrb(open(settings({}, { user: 'mallory', password: 'mallory-pw' })), 'krb-rejected', /refused the Kerberos ticket/);
      expect(serverErrors.some((m) => /mallory@LAB\.TEST is not a user/.test(m))).toBe(true);
    });
  });
});
