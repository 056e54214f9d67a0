/**
 * The GSSAPI binding (the `kerberos` npm package, mongodb-js/kerberos, over MIT libgssapi_krb5), loaded lazily:
 * it is an optionalDependency built with node-gyp against libkrb5-dev, so a machine without it still runs every
 * other transport, and only asking for Kerberos turns its absence into an error.
 *
 * What the binding does NOT offer (docs/transport-winrm.md):
 *   - channel bindings: gss_init_sec_context/gss_accept_sec_context get GSS_C_NO_CHANNEL_BINDINGS; svcfleet's own
 *     addon (gssapi-cb.ts) does the bound contexts;
 *   - gss_wrap_iov: only gss_wrap/gss_unwrap on the client and nothing on the server, so no WinRM message
 *     encryption (HTTP + Kerberos is refused);
 *   - a credential cache or keytab per call: MIT reads KRB5CCNAME / KRB5_KTNAME from the process environment
 *     when each call makes its krb5 context, so calls that need a particular cache run one at a time with the
 *     variable set for their duration (withKrb5Env).
 */
import { createRequire } from 'node:module';
import { TransportError } from '../types.js';

/** The part of the binding's API we use (its own index.d.ts describes the rest). */
export interface GssClient {
  readonly contextComplete: boolean;
  step(challenge: string): Promise<string | null>;
}
export interface GssServer {
  readonly username: string;
  readonly contextComplete: boolean;
  readonly response: string | null;
  step(challenge: string): Promise<string | null>;
}
export interface GssBinding {
  readonly GSS_C_DELEG_FLAG: number;
  readonly GSS_C_MUTUAL_FLAG: number;
  readonly GSS_C_SEQUENCE_FLAG: number;
  readonly GSS_MECH_OID_KRB5: number;
  readonly GSS_MECH_OID_SPNEGO: number;
  initializeClient(service: string, options?: { principal?: string; gssFlag?: number; mechOID?: number }): Promise<GssClient>;
  initializeServer(service: string): Promise<GssServer>;
}

/**
 * Distinct codes, so that a run's report and the tests can tell the usual Kerberos failures apart without
 * parsing messages. The message keeps MIT's own wording after ours.
 */
export type KerberosErrorCode =
  | 'krb-binding-missing' // the optional `kerberos` package is not installed / did not build
  | 'krb-no-credentials' // no ticket in the cache (kinit not done), or the cache does not exist
  | 'krb-ticket-expired'
  | 'krb-clock-skew' // controller, KDC and host clocks differ by more than the allowed skew (5 min)
  | 'krb-unknown-principal' // the user or the service principal (SPN) is not in the KDC's database
  | 'krb-wrong-realm' // no KDC known for the realm asked for
  | 'krb-keytab-missing'
  | 'krb-bad-password'
  | 'krb-kdc-unreachable'
  | 'krb-rejected' // the host refused the ticket (HTTP 401) or did not authenticate itself
  | 'krb-failed';

export class KerberosError extends TransportError {
  constructor(
    readonly code: KerberosErrorCode,
    /** The message without the code. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super('auth-failed', 'auth', `${detail} [${code}]`, options);
  }

  override get reportCode(): string {
    return this.code;
  }
}

/** MIT's messages (krb5 error table and GSS major status text) → our codes; first match wins. */
const CLASSIFY: [RegExp, KerberosErrorCode][] = [
  [/Key table file .* not found|keytab .*(?:not found|does not exist)/i, 'krb-keytab-missing'],
  [/Clock skew too great/i, 'krb-clock-skew'],
  [/Ticket expired|credential has expired|Ticket not yet valid/i, 'krb-ticket-expired'],
  [/not found in Kerberos database/i, 'krb-unknown-principal'],
  [/Cannot find KDC for realm|Cannot resolve network address for KDC in realm|Realm not local|does not match the realm/i, 'krb-wrong-realm'],
  [/Cannot contact any KDC/i, 'krb-kdc-unreachable'],
  [/Password incorrect|Preauthentication failed/i, 'krb-bad-password'],
  [/No Kerberos credentials available|No credentials cache found|No credentials were supplied/i, 'krb-no-credentials'],
];

export function classifyKerberosMessage(message: string): KerberosErrorCode {
  for (const [re, code] of CLASSIFY) if (re.test(message)) return code;
  return 'krb-failed';
}

/** A binding or kinit failure as a KerberosError, with a line that says what to do for the common ones. */
export function kerberosError(what: string, err: unknown): KerberosError {
  if (err instanceof KerberosError) return err;
  const detail = (err instanceof Error ? err.message : String(err)).trim();
  const code = classifyKerberosMessage(detail);
  const hint: Partial<Record<KerberosErrorCode, string>> = {
    'krb-no-credentials': ' (run kinit first, point KRB5CCNAME at a cache, or give a password or a keytab)',
    'krb-ticket-expired': ' (renew it: kinit again)',
    'krb-clock-skew': ' (synchronise the clocks of the controller, the KDC and the host)',
    'krb-unknown-principal': ' (check the user, and the SPN: HTTP/<host name> must be registered for the host)',
    'krb-wrong-realm': ' (check the realm part of the user and the [realms]/[domain_realm] of krb5.conf)',
  };
  return new KerberosError(code, `${what}: ${detail}${hint[code] ?? ''}`, { cause: err });
}

let loaded: Promise<GssBinding> | undefined;

/** Load the binding package `name` (a parameter so that the missing-binding error can be tested). */
export function requireBinding(name: string): GssBinding {
  try {
    // createRequire: the package is CommonJS with a native addon; a static import would make it mandatory.
    const require = createRequire(import.meta.url);
    return require(name) as GssBinding;
  } catch (err) {
    throw new KerberosError(
      'krb-binding-missing',
      `Kerberos needs the optional \`${name}\` package (a GSSAPI binding built against MIT libkrb5), and it could not be loaded: ` +
        `${(err as Error).message.split('\n')[0]}. Install libkrb5-dev, then run npm rebuild ${name} (or scripts/setup.sh --peers)`,
      { cause: err },
    );
  }
}

/** The binding, or KerberosError('krb-binding-missing') saying how to get it. */
export function loadGssapi(): Promise<GssBinding> {
  loaded ??= (async () => {
    try {
      return requireBinding('kerberos');
    } catch (err) {
      loaded = undefined; // let a later call retry after the binding was built
      throw err;
    }
  })();
  return loaded;
}

let envQueue: Promise<unknown> = Promise.resolve();

/**
 * Run `fn` with these KRB5* variables set in the process environment, one such call at a time. MIT reads them
 * when a GSS call creates its krb5 context; Node's process.env setter changes the real environment (setenv), so
 * the binding's worker threads see them. `undefined` leaves a variable as it is.
 */
export function withKrb5Env<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const saved: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) continue;
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    try {
      return await fn();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };
  const p = envQueue.then(run, run);
  envQueue = p.catch(() => undefined);
  return p;
}
