/**
 * One authenticated HTTP(S) connection to a WinRM listener.
 *
 * NTLM authenticates the TCP connection, not the request, and the sealing context's RC4 streams run on across
 * messages, so everything of one session goes over ONE socket we own (http1.ts), and the security context is
 * dropped together with it. When that connection is gone (the peer closed it, or a failed exchange left the RC4
 * streams out of step and we destroyed it) the next request connects and authenticates again. Basic
 * authenticates every request; it only needs a live connection. Kerberos (SPNEGO) authenticates the connection
 * too, in one round trip: our token on an empty POST, the host's mutual-authentication token in its 200.
 *
 * Failures come out as TransportError with a class and a phase (connect / auth / command).
 */
import type { TLSSocket } from 'node:tls';
import { TransportError, type TransportErrorClass, type TransportPhase } from '../types.js';
import type { Secret } from '../../util/secret.js';
import { tlsServerEndPoint } from './cbt.js';
import { decryptBody, ENCRYPTED_CONTENT_TYPE, EncryptionFormatError, encryptBody, isEncryptedContentType } from './encryption.js';
import { header, Http1Connection, Http1Failure, type Http1Response } from './http1.js';
import { NtlmInitiator, splitUser } from './ntlm.js';
import { NtlmFormatError } from './ntlm-messages.js';
import { NtlmIntegrityError, type NtlmSessionSecurity } from './ntlm-security.js';
import { KerberosError } from './gssapi.js';
import type { KerberosExchange } from './kerberos.js';

/** WS-Man operations that start no command: losing their reply cannot leave a remote change behind. */
const STARTS_NOTHING: ReadonlySet<string> = new Set(['Create', 'Delete']);
export interface ChannelConfig {
  host: string;
  port: number;
  scheme: 'http' | 'https';
  path: string;
  auth: 'ntlm' | 'basic' | 'kerberos';
  user: string;
  /** NTLM and Basic only. */
  password?: Secret;
  /**
   * Kerberos only: a fresh exchange (new authenticator) for each connection, bound to that connection's TLS
   * certificate when `bind` is true and the scheme is https.
   */
  kerberos?: { spn: string; bind: boolean; begin(channelBindings?: Buffer): Promise<KerberosExchange> };
  /** Trusted CA certificates (PEM); undefined = Node's default roots. */
  ca?: Buffer;
  /** false only for the explicit certValidation: 'ignore' opt-in. */
  verifyTls: boolean;
  connectMs: number;
  authMs: number;
}

export interface PostOptions {
  signal?: AbortSignal;
  /** Time allowed from sending the request to the complete response. */
  readTimeoutMs: number;
  /** What the request was, for error messages: 'Receive', 'Delete', ... */
  operation: string;
  /**
   * The server may see this request twice without harm (Create, Signal, Delete): after a reset with no response
   * byte — typically a keep-alive connection the server closed while idle — it is sent once more on a new one.
   */
  replayable?: boolean;
}

export interface PostResult {
  status: number;
  text: string;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'EHOSTDOWN']);
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

export class WinrmChannel {
  readonly #cfg: ChannelConfig;
  readonly #encrypt: boolean;
  #conn: Http1Connection | null = null;
  /** NTLM: the context of #conn (null until its handshake completed). */
  #security: NtlmSessionSecurity | null = null;
  #authenticated = false;
  #closed = false;
  /** Completed authentication handshakes (for tests and diagnostics). */
  handshakes = 0;

  constructor(cfg: ChannelConfig) {
    this.#cfg = cfg;
    // NTLM over plain HTTP must seal every message: that is what a default Windows listener demands.
    this.#encrypt = cfg.scheme === 'http' && cfg.auth === 'ntlm';
  }

  get auth(): ChannelConfig['auth'] {
    return this.#cfg.auth;
  }

  get encrypted(): boolean {
    return this.#encrypt;
  }

  /** Connect and authenticate now, so that connect and auth failures surface with their own phases. */
  async open(signal?: AbortSignal): Promise<void> {
    await this.#ensureAuthenticated(signal);
  }

  async post(xml: string, o: PostOptions): Promise<PostResult> {
    for (let attempt = 0; ; attempt++) {
      const conn = await this.#ensureAuthenticated(o.signal);
      const plaintext = Buffer.from(xml, 'utf8');
      let body: Buffer = plaintext;
      const headers: Record<string, string> = {};
      if (this.#encrypt) {
        body = encryptBody(plaintext, this.#security!);
        headers['Content-Type'] = ENCRYPTED_CONTENT_TYPE;
      } else {
        headers['Content-Type'] = 'application/soap+xml;charset=UTF-8';
        if (this.#cfg.auth === 'basic') headers['Authorization'] = this.#basicHeader();
      }
      let res: Http1Response;
      try {
        res = await conn.request(this.#head(headers, body.length), body, { readTimeoutMs: o.readTimeoutMs, signal: o.signal });
      } catch (err) {
        // Whatever was or was not delivered, the two RC4 streams may now disagree: start afresh next time.
        this.#drop();
        if (attempt === 0 && o.replayable && err instanceof Http1Failure && err.kind === 'closed' && err.receivedBytes === 0) continue;
        throw this.#classify(err, 'command', o.operation);
      }
      if (res.status === 401) {
        this.#drop();
        // A connection-bound NTLM context can be dropped by the server; one fresh handshake, then give up.
        if (attempt === 0 && this.#cfg.auth !== 'basic') continue;
        throw new TransportError('auth-failed', 'auth', `${this.#where()}: ${o.operation} was refused with HTTP 401`);
      }
      let text: string;
      if (isEncryptedContentType(header(res, 'content-type'))) {
        if (!this.#security) {
          this.#drop();
          throw new TransportError('protocol', 'command', `${this.#where()}: encrypted ${o.operation} response on an unencrypted channel`);
        }
        try {
          text = decryptBody(res.body, this.#security).toString('utf8');
        } catch (err) {
          this.#drop();
          throw this.#classify(err, 'command', o.operation);
        }
      } else {
        if (this.#encrypt && res.status >= 200 && res.status < 300) {
          // Accepting a clear-text success on a sealed channel would let anyone on the path forge results.
          this.#drop();
          throw new TransportError('protocol', 'command', `${this.#where()}: unencrypted ${o.operation} response on an encrypted channel (HTTP ${res.status})`);
        }
        text = res.body.toString('utf8'); // e.g. an unencrypted 500 fault: passed through as pywinrm does
      }
      return { status: res.status, text };
    }
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #where(): string {
    return `${this.#cfg.scheme}://${this.#cfg.host}:${this.#cfg.port}${this.#cfg.path}`;
  }

  #head(headers: Record<string, string>, length: number): string {
    const host = this.#cfg.host.includes(':') ? `[${this.#cfg.host}]` : this.#cfg.host;
    let head = `POST ${this.#cfg.path} HTTP/1.1\r\nHost: ${host}:${this.#cfg.port}\r\nUser-Agent: svcfleet WinRM client\r\nConnection: Keep-Alive\r\nContent-Length: ${length}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    return head + '\r\n';
  }

  #basicHeader(): string {
    return 'Basic ' + Buffer.from(`${this.#cfg.user}:${this.#cfg.password!.reveal()}`, 'utf8').toString('base64');
  }

  #drop(): void {
    this.#conn?.destroy();
    this.#conn = null;
    this.#security = null;
    this.#authenticated = false;
  }

  async #connect(signal?: AbortSignal): Promise<Http1Connection> {
    const cfg = this.#cfg;
    try {
      return await Http1Connection.connect({
        host: cfg.host,
        port: cfg.port,
        connectMs: cfg.connectMs,
        signal,
        ...(cfg.scheme === 'https' ? { tls: { rejectUnauthorized: cfg.verifyTls, ...(cfg.ca ? { ca: cfg.ca } : {}) } } : {}),
      });
    } catch (err) {
      throw this.#classify(err, 'connect', 'connect');
    }
  }

  /** A live connection whose authentication (NTLM) is done; reconnects and re-authenticates when needed. */
  async #ensureAuthenticated(signal?: AbortSignal): Promise<Http1Connection> {
    if (this.#closed) throw new TransportError('aborted', 'command', `${this.#where()}: session is closed`);
    if (this.#conn?.alive && this.#authenticated) return this.#conn;
    this.#drop();
    const conn = await this.#connect(signal);
    this.#conn = conn;
    try {
      if (this.#cfg.auth === 'basic') await this.#checkBasic(conn, signal);
      else if (this.#cfg.auth === 'kerberos') await this.#kerberosHandshake(conn, signal);
      else await this.#ntlmHandshake(conn, signal);
    } catch (err) {
      this.#drop();
      const what = { basic: 'Basic authentication', ntlm: 'NTLM handshake', kerberos: 'Kerberos handshake' }[this.#cfg.auth];
      throw err instanceof TransportError ? err : this.#classify(err, 'auth', what);
    }
    this.#authenticated = true;
    this.handshakes++;
    return conn;
  }

  async #checkBasic(conn: Http1Connection, signal?: AbortSignal): Promise<void> {
    const res = await conn.request(this.#head({ Authorization: this.#basicHeader() }, 0), Buffer.alloc(0), { readTimeoutMs: this.#cfg.authMs, signal });
    if (res.status === 401) throw new TransportError('auth-failed', 'auth', `${this.#where()}: credentials rejected (HTTP 401, Basic)`);
  }

  async #ntlmHandshake(conn: Http1Connection, signal?: AbortSignal): Promise<void> {
    const started = Date.now();
    const { user, domain } = splitUser(this.#cfg.user);
    const initiator = new NtlmInitiator({ user, domain, password: this.#cfg.password!.reveal() }, { targetName: `HTTP/${this.#cfg.host}` });
    const negotiateRes = await conn.request(this.#head({ Authorization: 'Negotiate ' + initiator.negotiate().toString('base64') }, 0), Buffer.alloc(0), {
      readTimeoutMs: this.#cfg.authMs,
      signal,
    });
    const offered = negotiateRes.headers.filter(([n]) => n === 'www-authenticate').map(([, v]) => v);
    const token = findAuthToken(offered);
    if (negotiateRes.status !== 401 || !token) {
      if (negotiateRes.status === 401) {
        throw new TransportError('auth-failed', 'auth', `${this.#where()}: server refused NTLM (offered: ${offered.join(', ') || 'none'})`);
      }
      throw new TransportError('protocol', 'auth', `${this.#where()}: expected an NTLM challenge, got HTTP ${negotiateRes.status}`);
    }
    const channelBindings = this.#channelBindings(conn);
    let auth: ReturnType<NtlmInitiator['authenticate']>;
    try {
      auth = initiator.authenticate(token, { channelBindings });
    } catch (err) {
      throw new TransportError('protocol', 'auth', `${this.#where()}: bad NTLM challenge: ${(err as Error).message}`, { cause: err });
    }
    const left = Math.max(1, this.#cfg.authMs - (Date.now() - started));
    const authRes = await conn.request(this.#head({ Authorization: 'Negotiate ' + auth.message.toString('base64') }, 0), Buffer.alloc(0), {
      readTimeoutMs: left,
      signal,
    });
    if (authRes.status === 401) {
      throw new TransportError('auth-failed', 'auth', `${this.#where()}: credentials rejected (HTTP 401, NTLM) for user ${this.#cfg.user}`);
    }
    this.#security = auth.security;
  }

  /**
   * RFC 5929 tls-server-end-point application data for this connection: the certificate the TLS session presented
   * (already verified by then, unless certValidation: ignore), or undefined over plain HTTP.
   */
  #channelBindings(conn: Http1Connection): Buffer | undefined {
    if (this.#cfg.scheme !== 'https') return undefined;
    const cert = (conn.socket as TLSSocket).getPeerCertificate?.(true);
    return cert?.raw ? tlsServerEndPoint(cert.raw) : undefined;
  }

  /**
   * Kerberos over HTTPS: one round trip, the token bound to this connection's certificate (channel binding, what a
   * listener with CbtHardeningLevel=Strict demands) unless the addon that binds is missing (transport.ts warns).
   */
  async #kerberosHandshake(conn: Http1Connection, signal?: AbortSignal): Promise<void> {
    const k = this.#cfg.kerberos!;
    const spn = k.spn.replace('@', '/');
    const bindings = k.bind ? this.#channelBindings(conn) : undefined;
    const exchange = await k.begin(bindings);
    const res = await conn.request(this.#head({ Authorization: 'Negotiate ' + exchange.token }, 0), Buffer.alloc(0), {
      readTimeoutMs: this.#cfg.authMs,
      signal,
    });
    const offered = res.headers.filter(([n]) => n === 'www-authenticate').map(([, v]) => v);
    if (res.status === 401) {
      throw new KerberosError(
        'krb-rejected',
        `${this.#where()}: the host refused the Kerberos ticket for ${spn} (HTTP 401; offered: ${offered.join(', ') || 'none'}); ` +
          'check that the SPN belongs to this host and its keytab is current' +
          (bindings
            ? '; the ticket was bound to the certificate this connection presented (channel binding): a TLS-terminating proxy or load balancer in between makes a host that checks it refuse'
            : '; it was not bound to the TLS certificate (channel binding), which a host with CbtHardeningLevel=Strict refuses'),
      );
    }
    if (res.status < 200 || res.status >= 300) {
      throw new TransportError('protocol', 'auth', `${this.#where()}: Kerberos handshake answered with HTTP ${res.status}`);
    }
    const token = findAuthToken(offered, /^(?:Negotiate|Kerberos)$/i);
    try {
      await exchange.finish(token?.toString('base64'));
    } catch (err) {
      if (err instanceof KerberosError) throw new KerberosError(err.code, `${this.#where()}: ${err.detail}`, { cause: err });
      throw err;
    }
  }

  #classify(err: unknown, phase: TransportPhase, what: string): TransportError {
    if (err instanceof TransportError) return err;
    const where = this.#where();
    const mk = (cls: TransportErrorClass, ph: TransportPhase, msg: string): TransportError => new TransportError(cls, ph, `${where}: ${msg}`, { cause: err });
    if (err instanceof Http1Failure) {
      switch (err.kind) {
        case 'connect-timeout':
          return mk('timeout', 'connect', `no connection within ${this.#cfg.connectMs} ms`);
        case 'read-timeout':
          return mk('timeout', phase, `${what}: ${err.message}`);
        case 'aborted':
          return mk('aborted', phase, `${what}: aborted`);
        case 'closed':
          // Reached, then the connection died: the same class the ssh transport uses for a lost connection.
          // Only a lost Command/Send/Receive/Signal leaves a command's outcome unknown; a lost shell Create or
          // Delete runs nothing (a broken proxy or a truncated reply to the first request must not read "unknown").
          if (phase !== 'command') return mk('protocol', phase, `${what}: ${err.message}`);
          return STARTS_NOTHING.has(what)
            ? mk('remote-failed', phase, `${what}: ${err.message} (connection lost; no command was running)`)
            : mk('remote-failed', phase, `${what}: ${err.message} (connection lost mid-command; outcome unknown)`);
        case 'malformed':
          return mk('protocol', phase, `${what}: ${err.message}`);
        case 'too-large':
          return mk('protocol', phase, `${what}: ${err.message}`);
      }
    }
    if (err instanceof EncryptionFormatError || err instanceof NtlmIntegrityError || err instanceof NtlmFormatError) {
      return mk('protocol', phase, `${what}: ${err.message}`);
    }
    const code = (err as { code?: string }).code ?? '';
    const message = (err as Error).message ?? String(err);
    if (UNREACHABLE_CODES.has(code)) return mk('unreachable', 'connect', `${code}: ${message}`);
    if (TLS_TRUST_CODES.has(code) || /certificate/i.test(message)) {
      return mk('tls-untrusted', 'connect', `TLS certificate not trusted (${code || 'verify failed'}): ${message}`);
    }
    if (code.startsWith('ERR_SSL') || code === 'EPROTO' || /SSL|TLS/.test(message)) {
      return mk('protocol', 'connect', `TLS handshake failed (${code}): ${message}`);
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return phase === 'command'
        ? mk('remote-failed', phase, `${what}: connection closed by the peer (${code}; outcome unknown)`)
        : mk('protocol', phase, `${what}: connection closed by the peer (${code})`);
    }
    return mk('protocol', phase, `${what}: ${message}`);
  }
}

function findAuthToken(values: string[], schemes = /^(?:Negotiate|NTLM)$/i): Buffer | undefined {
  for (const v of values) {
    for (const part of v.split(',')) {
      const m = /^\s*([A-Za-z]+)\s+([A-Za-z0-9+/]+={0,2})\s*$/.exec(part);
      if (m && schemes.test(m[1]!)) return Buffer.from(m[2]!, 'base64');
    }
  }
  return undefined;
}
