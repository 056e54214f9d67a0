/**
 * Server side of HTTP Negotiate/Kerberos for the lab WinRM server: a real GSSAPI acceptor (MIT, through the
 * `kerberos` binding) with the host's service keytab, as IIS/http.sys do on a domain member. Accepts SPNEGO and
 * raw Kerberos tokens (pywinrm sends the latter); the answer carries the AP-REP for mutual authentication.
 *
 * Like the client, the binding takes no keytab argument: KRB5_KTNAME is set for the duration of each call.
 * No channel-binding check (the binding accepts with GSS_C_NO_CHANNEL_BINDINGS) and no message encryption.
 */
import { loadGssapi, withKrb5Env } from '../../transport/winrm/gssapi.js';

export interface LabKerberosOptions {
  /** The service keytab (kadmin.local ktadd -k … HTTP/<host>). */
  keytab: string;
  /** GSS acceptor name (HTTP@host); '' (default) accepts for any principal in the keytab. */
  service?: string;
  /** KRB5_CONFIG for the acceptor's library context (the lab realm's krb5.conf); default: the process's own. */
  krb5Config?: string;
}

export interface AcceptedKerberos {
  /** The client principal, user@REALM. */
  principal: string;
  /** base64 token for WWW-Authenticate (the AP-REP), or undefined when the mechanism has none. */
  response: string | undefined;
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

  /** Accept one client token (Kerberos completes in one leg); throws with MIT's message when it is refused. */
  async accept(token: Buffer): Promise<AcceptedKerberos> {
    const gss = await loadGssapi();
    const keytab = this.#o.keytab.includes(':') ? this.#o.keytab : `FILE:${this.#o.keytab}`;
    return withKrb5Env({ KRB5_KTNAME: keytab, KRB5_CONFIG: this.#o.krb5Config }, async () => {
      const server = await gss.initializeServer(this.#o.service ?? '');
      await server.step(token.toString('base64'));
      if (!server.contextComplete) throw new Error('Kerberos context not complete after one leg');
      return { principal: server.username, response: server.response ?? undefined };
    });
  }
}
