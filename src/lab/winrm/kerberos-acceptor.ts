/**
 * Server side of HTTP Negotiate/Kerberos for the lab WinRM server: a real GSSAPI acceptor (MIT, through the
 * `kerberos` binding) with the host's service keytab, as IIS/http.sys do on a domain member. Accepts SPNEGO and
 * raw Kerberos tokens (pywinrm sends the latter); the answer carries the AP-REP for mutual authentication.
 *
 * Like the client, the binding takes no keytab argument: KRB5_KTNAME is set for the duration of each call.
 *
 * Over HTTPS the acceptor checks channel bindings (Extended Protection, docs/reference/winrm.md) through
 * svcfleet's addon: gss_accept_sec_context gets the listener's own tls-server-end-point data, and MIT answers
 * GSS_S_BAD_BINDINGS when the client bound its token to another certificate. A client that sent no bindings is
 * accepted by MIT (without GSS_C_CHANNEL_BOUND_FLAG); `cbtHardeningLevel` decides what the listener does then, as
 * WinRM's Service/CbtHardeningLevel does: Strict refuses, Relaxed (Windows' default) accepts, None checks nothing.
 * No message encryption.
 */
import { isGssCallError, loadGssCb } from '../../transport/winrm/gssapi-cb.js';
import { loadGssapi, withKrb5Env } from '../../transport/winrm/gssapi.js';

export type CbtHardeningLevel = 'strict' | 'relaxed' | 'none';

export interface LabKerberosOptions {
  /** The service keytab (kadmin.local ktadd -k … HTTP/<host>). */
  keytab: string;
  /** GSS acceptor name (HTTP@host); '' (default) accepts for any principal in the keytab. */
  service?: string;
  /** KRB5_CONFIG for the acceptor's library context (the lab realm's krb5.conf); default: the process's own. */
  krb5Config?: string;
  /** What to do with channel bindings over HTTPS (WinRM Service/CbtHardeningLevel); default 'relaxed'. */
  cbtHardeningLevel?: CbtHardeningLevel;
}

/** Why the acceptor refused a token; a distinct code per cause, as the server's stats and errors report it. */
export type KerberosRefusalCode =
  | 'bad-bindings' // GSS_S_BAD_BINDINGS: the client bound its token to another certificate
  | 'bindings-required' // strict: the client sent no channel bindings
  | 'rejected'; // any other GSSAPI failure (wrong key, replay, skew, ...)

export class KerberosRefusal extends Error {
  constructor(
    readonly code: KerberosRefusalCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} [${code}]`, options);
  }
}

export interface AcceptedKerberos {
  /** The client principal, user@REALM. */
  principal: string;
  /** base64 token for WWW-Authenticate (the AP-REP), or undefined when the mechanism has none. */
  response: string | undefined;
  /** The client's channel bindings were checked and matched (GSS_C_CHANNEL_BOUND_FLAG). */
  channelBound: boolean;
}

/** True when a Negotiate token is NTLM (raw NTLMSSP) rather than Kerberos/SPNEGO. */
export function isNtlmToken(token: Buffer): boolean {
  return token.subarray(0, 8).equals(Buffer.from('NTLMSSP\0', 'latin1'));
}

export class KerberosAcceptor {
  readonly #o: LabKerberosOptions;
  constructor(o: LabKerberosOptions) {
    this.#o = o;
  }

  /**
   * Accept one client token (Kerberos completes in one leg); throws KerberosRefusal when it is refused.
   * `channelBindings`: the listener's tls-server-end-point data (HTTPS), checked unless the level is 'none'.
   */
  async accept(token: Buffer, channelBindings?: Buffer): Promise<AcceptedKerberos> {
    const level = this.#o.cbtHardeningLevel ?? 'relaxed';
    const keytab = this.#o.keytab.includes(':') ? this.#o.keytab : `FILE:${this.#o.keytab}`;
    const env = { KRB5_KTNAME: keytab, KRB5_CONFIG: this.#o.krb5Config };
    if (channelBindings && level !== 'none') return this.#acceptBound(token, channelBindings, level, env);
    const gss = await loadGssapi();
    return withKrb5Env(env, async () => {
      const server = await gss.initializeServer(this.#o.service ?? '');
      try {
        await server.step(token.toString('base64'));
      } catch (err) {
        throw new KerberosRefusal('rejected', `Kerberos token refused: ${(err as Error).message}`, { cause: err });
      }
      if (!server.contextComplete) throw new KerberosRefusal('rejected', 'Kerberos context not complete after one leg');
      return { principal: server.username, response: server.response ?? undefined, channelBound: false };
    });
  }

  async #acceptBound(token: Buffer, bindings: Buffer, level: CbtHardeningLevel, env: Record<string, string | undefined>): Promise<AcceptedKerberos> {
    const gss = loadGssCb();
    const step = await withKrb5Env(env, async () => {
      try {
        return await gss.acceptSecContext(null, token, bindings, this.#o.service ?? '');
      } catch (err) {
        if (isGssCallError(err) && err.routine === gss.ROUTINE_BAD_BINDINGS) {
          throw new KerberosRefusal('bad-bindings', `Kerberos token bound to another TLS channel (GSS_S_BAD_BINDINGS): ${err.message}`, { cause: err });
        }
        throw new KerberosRefusal('rejected', `Kerberos token refused: ${(err as Error).message}`, { cause: err });
      }
    });
    if (!step.complete) throw new KerberosRefusal('rejected', 'Kerberos context not complete after one leg');
    const channelBound = (step.flags & gss.GSS_C_CHANNEL_BOUND_FLAG) !== 0;
    if (!channelBound && level === 'strict') {
      throw new KerberosRefusal('bindings-required', `${step.principal} sent no channel bindings, and this listener requires them (CbtHardeningLevel=Strict)`);
    }
    return { principal: step.principal, response: step.token?.toString('base64'), channelBound };
  }
}
