/**
 * Kerberos for the WinRM client: where the ticket comes from and the HTTP Negotiate exchange's GSSAPI side.
 *
 * Tickets come from the user's credential cache (after their own kinit), or svcfleet runs MIT's kinit — with the
 * password on its standard input, never on a command line, or with -k -t <keytab> — into a cache in a private
 * temporary directory that lives as long as the sessions using it and is removed afterwards (and at exit).
 * The security context itself is the binding's (gssapi.ts), or svcfleet's addon (gssapi-cb.ts) when it is bound to
 * the TLS channel: SPNEGO carrying Kerberos, mutual authentication.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KerberosSettings } from '../types.js';
import type { Secret } from '../../util/secret.js';
import { type GssBinding, KerberosError, kerberosError, loadGssapi, withKrb5Env } from './gssapi.js';
import { type GssCbAddon, loadGssCb } from './gssapi-cb.js';

export type KerberosCredentialSource = 'cache' | 'password' | 'keytab';

export interface KerberosRequest {
  /** user@REALM (or user: the default realm); optional for `cache` (the cache's own principal is used). */
  principal?: string;
  password?: Secret;
  settings: KerberosSettings;
}

/** Which source a request uses: explicit, else keytab when one is given, password when one is given, else cache. */
export function credentialSource(settings: KerberosSettings | undefined, hasPassword: boolean): KerberosCredentialSource {
  if (settings?.credentials) return settings.credentials;
  if (settings?.keytab) return 'keytab';
  return hasPassword ? 'password' : 'cache';
}

/** A credential cache to use, and a release() that removes it when it was private and nothing uses it any more. */
export interface CredentialHandle {
  /** KRB5CCNAME for the GSS calls; undefined = the process's own (KRB5CCNAME or libkrb5's default). */
  readonly ccache: string | undefined;
  release(): Promise<void>;
}

interface PrivateCache {
  dir: string;
  ccache: string;
}

const KINIT = 'kinit';
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function removeAtExit(dir: string): void {
  liveDirs.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A run that ends without dispose() (a crash, process.exit) must not leave tickets behind.
  process.once('exit', () => {
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** Run kinit into `ccache`; the password (when any) goes to its standard input. */
function kinit(args: string[], ccache: string, password: Secret | undefined, krb5Config: string | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = krb5Config ? { ...process.env, KRB5_CONFIG: krb5Config } : process.env;
    const child = spawn(KINIT, ['-c', ccache, ...args], { stdio: ['pipe', 'ignore', 'pipe'], env });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new KerberosError('krb-kdc-unreachable', `kinit did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new KerberosError(
          'krb-failed',
          missing ? 'kinit was not found: install MIT Kerberos (Debian: apt-get install krb5-user)' : `kinit could not run: ${err.message}`,
          { cause: err },
        ),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(kerberosError(`kinit ${args[args.length - 1] ?? ''}`.trim(), new Error(stderr.replace(/^kinit:\s*/gm, '').trim() || `exit ${code}`)));
    });
    child.stdin.on('error', () => undefined); // kinit may exit before reading (e.g. unknown realm)
    child.stdin.end(password ? `${password.reveal()}\n` : '');
  });
}

/**
 * Credential caches for one run (one transport): private ones are made once per principal and source, shared by
 * that principal's sessions, and removed when the last of them closes or when the run disposes the transport.
 */
export class KerberosCredentials {
  readonly #private = new Map<string, { cache: Promise<PrivateCache>; refs: number }>();

  async acquire(req: KerberosRequest, timeoutMs: number): Promise<CredentialHandle> {
    const source = credentialSource(req.settings, req.password !== undefined);
    if (source === 'cache') {
      return { ccache: req.settings.ccache, release: async () => undefined };
    }
    if (!req.principal) throw new KerberosError('krb-failed', `Kerberos with a ${source} needs a user (user@REALM)`);
    if (source === 'password' && !req.password) throw new KerberosError('krb-failed', 'Kerberos with a password needs a password');
    if (source === 'keytab') {
      if (!req.settings.keytab) throw new KerberosError('krb-keytab-missing', 'Kerberos with a keytab needs winrm.kerberos.keytab');
      try {
        await access(req.settings.keytab);
      } catch {
        throw new KerberosError('krb-keytab-missing', `the keytab ${req.settings.keytab} does not exist or cannot be read`);
      }
    }
    const secretPart = req.password ? createHash('sha256').update(req.password.reveal()).digest('hex') : '';
    const key = [source, req.principal, req.settings.keytab ?? '', req.settings.krb5Config ?? '', req.settings.delegation ? 'f' : '', secretPart].join('\0');
    let entry = this.#private.get(key);
    if (!entry) {
      const cache = this.#makePrivate(source, req, timeoutMs);
      entry = { cache, refs: 0 };
      this.#private.set(key, entry);
      cache.catch(() => this.#private.delete(key)); // a failed kinit is not cached: the next session tries again
    }
    entry.refs++;
    const e = entry;
    let cache: PrivateCache;
    try {
      cache = await e.cache;
    } catch (err) {
      e.refs--;
      throw err;
    }
    let released = false;
    return {
      ccache: cache.ccache,
      release: async () => {
        if (released) return;
        released = true;
        if (--e.refs > 0) return;
        if (this.#private.get(key) === e) this.#private.delete(key);
        await removeDir(cache.dir);
      },
    };
  }

  /** Remove every private cache (end of the run). */
  async dispose(): Promise<void> {
    const entries = [...this.#private.values()];
    this.#private.clear();
    await Promise.all(
      entries.map((e) =>
        e.cache.then(
          (c) => removeDir(c.dir),
          () => undefined,
        ),
      ),
    );
  }

  async #makePrivate(source: 'password' | 'keytab', req: KerberosRequest, timeoutMs: number): Promise<PrivateCache> {
    const dir = await mkdtemp(join(tmpdir(), 'svcfleet-krb5-')); // mode 0700: the tickets are the user's
    removeAtExit(dir);
    const ccache = `FILE:${join(dir, 'ccache')}`;
    const args = [...(req.settings.delegation ? ['-f'] : []), ...(source === 'keytab' ? ['-k', '-t', req.settings.keytab!] : []), req.principal!];
    try {
      await kinit(args, ccache, source === 'password' ? req.password : undefined, req.settings.krb5Config, timeoutMs);
    } catch (err) {
      await removeDir(dir);
      throw err;
    }
    return { dir, ccache };
  }
}

async function removeDir(dir: string): Promise<void> {
  liveDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** One Negotiate exchange: the first token to send, then finish() with the host's answer (mutual authentication). */
export interface KerberosExchange {
  readonly token: string;
  finish(serverToken: string | undefined): Promise<void>;
}

export interface KerberosTarget {
  /** GSS host-based service name: service@host (e.g. HTTP@web01.corp.example). */
  readonly spn: string;
  readonly delegation: boolean;
  /** KRB5_CONFIG for the GSS calls (KerberosSettings.krb5Config); undefined = the process's own. */
  readonly krb5Config?: string;
}

export function targetFor(address: string, settings: KerberosSettings | undefined): KerberosTarget {
  const host = settings?.hostnameOverride ?? address.replace(/^\[|\]$/g, '');
  return {
    spn: `${settings?.service ?? 'HTTP'}@${host}`,
    delegation: settings?.delegation ?? false,
    ...(settings?.krb5Config ? { krb5Config: settings.krb5Config } : {}),
  };
}

/**
 * Make the first token for `target` with the tickets in `ccache` (this asks the KDC for the service ticket).
 * `channelBindings` (HTTPS: "tls-server-end-point:" + certificate hash, cbt.ts) binds the token to the TLS
 * connection it is sent on; those contexts go through svcfleet's addon (gssapi-cb.ts), unbound ones through the
 * `kerberos` package.
 */
export async function beginExchange(target: KerberosTarget, ccache: string | undefined, channelBindings?: Buffer): Promise<KerberosExchange> {
  if (channelBindings) return beginBoundExchange(target, ccache, channelBindings);
  const gss: GssBinding = await loadGssapi();
  const flags = gss.GSS_C_MUTUAL_FLAG | gss.GSS_C_SEQUENCE_FLAG | (target.delegation ? gss.GSS_C_DELEG_FLAG : 0);
  // Both legs run with the same library environment: verifying the host's answer (mutual authentication) reads
  // the realm's configuration too, not only the first token.
  const env = { KRB5CCNAME: ccache, KRB5_CONFIG: target.krb5Config };
  const { client, token } = await withKrb5Env(env, async () => {
    try {
      const client = await gss.initializeClient(target.spn, { mechOID: gss.GSS_MECH_OID_SPNEGO, gssFlag: flags });
      const token = await client.step('');
      return { client, token };
    } catch (err) {
      throw kerberosError(`Kerberos ticket for ${target.spn.replace('@', '/')}`, err);
    }
  });
  if (!token) throw new KerberosError('krb-failed', `GSSAPI produced no token for ${target.spn}`);
  return {
    token,
    async finish(serverToken: string | undefined): Promise<void> {
      if (!client.contextComplete) {
        if (!serverToken) {
          throw new KerberosError('krb-rejected', `the host did not authenticate itself as ${target.spn.replace('@', '/')} (no Negotiate token in its answer)`);
        }
        try {
          await withKrb5Env(env, () => client.step(serverToken));
        } catch (err) {
          const e = kerberosError(`mutual authentication with ${target.spn.replace('@', '/')}`, err);
          throw e.code === 'krb-failed' ? new KerberosError('krb-rejected', e.detail, { cause: err }) : e;
        }
      }
      if (!client.contextComplete) throw new KerberosError('krb-rejected', `mutual authentication with ${target.spn.replace('@', '/')} did not complete`);
    },
  };
}

/** The same exchange with channel bindings, through the addon: SPNEGO, the same flags, the bindings on both legs. */
async function beginBoundExchange(target: KerberosTarget, ccache: string | undefined, appData: Buffer): Promise<KerberosExchange> {
  const gss: GssCbAddon = loadGssCb();
  const flags = gss.GSS_C_MUTUAL_FLAG | gss.GSS_C_SEQUENCE_FLAG | (target.delegation ? gss.GSS_C_DELEG_FLAG : 0);
  const env = { KRB5CCNAME: ccache, KRB5_CONFIG: target.krb5Config };
  const spn = target.spn.replace('@', '/');
  const first = await withKrb5Env(env, async () => {
    try {
      return await gss.initSecContext(null, target.spn, flags, 1, null, appData);
    } catch (err) {
      throw kerberosError(`Kerberos ticket for ${spn}`, err);
    }
  });
  if (!first.token) throw new KerberosError('krb-failed', `GSSAPI produced no token for ${target.spn}`);
  let state = first;
  return {
    token: first.token.toString('base64'),
    async finish(serverToken: string | undefined): Promise<void> {
      if (!state.complete) {
        if (!serverToken) throw new KerberosError('krb-rejected', `the host did not authenticate itself as ${spn} (no Negotiate token in its answer)`);
        try {
          state = await withKrb5Env(env, () => gss.initSecContext(state.context, target.spn, flags, 1, Buffer.from(serverToken, 'base64'), appData));
        } catch (err) {
          const e = kerberosError(`mutual authentication with ${spn}`, err);
          throw e.code === 'krb-failed' ? new KerberosError('krb-rejected', e.detail, { cause: err }) : e;
        }
      }
      if (!state.complete) throw new KerberosError('krb-rejected', `mutual authentication with ${spn} did not complete`);
    },
  };
}
