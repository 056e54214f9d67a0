/**
 * The `winrm` Transport: our own WS-Management (WinRS) client. open() connects and authenticates one keep-alive
 * connection (NTLM with message encryption over HTTP, or NTLM/Basic/Kerberos over verified HTTPS); each exec() runs
 * `powershell.exe ... -EncodedCommand <bootstrap>` in a fresh shell and streams the payload through stdin.
 * See docs/transport-winrm.md.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../util/errors.js';
import {
  type ConnectionSettings,
  type ExecOptions,
  type ExecResult,
  type Invocation,
  type OpenOptions,
  POWERSHELL_ARGS,
  type Session,
  type Transport,
  TransportError,
  type WinrmSettings,
} from '../types.js';
import { type ChannelConfig, WinrmChannel } from './http-channel.js';
import { KerberosError } from './gssapi.js';
import { gssCbAvailable } from './gssapi-cb.js';
import { beginExchange, type CredentialHandle, credentialSource, KerberosCredentials, targetFor } from './kerberos.js';
import { WinrsClient } from './winrs.js';

export interface WinrmTransportOptions {
  /**
   * Where security warnings go when open() is given no OpenOptions.onWarning (the engine always gives one, which
   * makes them the host's warn log lines). Default: a line on stderr, so an opt-out of TLS verification is never
   * silent (not process.emitWarning: NODE_NO_WARNINGS hides it).
   */
  onWarning?: (host: string, message: string) => void;
  /** Budget for Signal + Delete after each command (default 15 s). */
  cleanupMs?: number;
}

const DEFAULT_OPERATION_TIMEOUT_S = 20;
const MAX_ENVELOPE_SIZE = 153600;
const READ_MARGIN_MS = 10_000;

function defaultWarning(host: string, message: string): void {
  process.stderr.write(`svcfleet: warning: ${host}: ${message}\n`);
}

/**
 * Which authentication a host gets. `negotiate` over HTTPS is Kerberos when Kerberos is plausible — a principal
 * user (user@REALM, as Ansible decides), an explicit kerberos source, or no password at all (the user's ticket
 * cache) — and falls back to NTLM when no ticket can be had; a plain local user with a password goes straight
 * to NTLM (no kinit against whatever realm the machine's krb5.conf names). Over plain HTTP it is NTLM (sealed),
 * because Kerberos there needs message encryption the binding lacks.
 */
function chooseAuth(host: string, w: WinrmSettings, settings: ConnectionSettings): 'ntlm' | 'basic' | 'kerberos' {
  const scheme = w.scheme ?? 'http';
  const auth = w.auth ?? 'ntlm';
  if (auth === 'kerberos' && scheme === 'http') {
    throw new InputError(
      'Kerberos over plain HTTP needs WinRM message encryption (GSSAPI wrap_iov), which the kerberos binding does not provide; ' +
        'use scheme: https (port 5986), or auth: ntlm for an encrypted HTTP session (docs/transport-winrm.md, "Kerberos")',
      { host, field: 'winrm.auth' },
    );
  }
  if (auth === 'negotiate') {
    if (scheme !== 'https') return 'ntlm';
    const plausible =
      settings.password === undefined || (settings.user ?? '').includes('@') || w.kerberos?.credentials !== undefined || w.kerberos?.keytab !== undefined;
    return plausible ? 'kerberos' : 'ntlm';
  }
  return auth;
}

export function createWinrmTransport(options: WinrmTransportOptions = {}): Transport {
  const warn = options.onWarning ?? defaultWarning;
  const credentials = new KerberosCredentials();
  return {
    kind: 'winrm',
    async dispose(): Promise<void> {
      await credentials.dispose();
    },
    async open(host: string, settings: ConnectionSettings, open: OpenOptions): Promise<Session> {
      const say = (message: string): void => (open.onWarning ? open.onWarning(message) : warn(host, message));
      const w: WinrmSettings = settings.winrm ?? { scheme: 'http', auth: 'ntlm' };
      const scheme = w.scheme ?? 'http';
      const auth = chooseAuth(host, w, settings);
      const fallbackToNtlm = w.auth === 'negotiate' && settings.password !== undefined && settings.user !== undefined;
      if (auth !== 'kerberos' && !settings.user) throw new InputError('WinRM needs a user name', { host, field: 'user' });
      if (auth !== 'kerberos' && !settings.password) throw new InputError('WinRM needs a password', { host, field: 'password' });
      if (auth === 'kerberos') {
        const source = credentialSource(w.kerberos, settings.password !== undefined);
        if (source !== 'cache' && !settings.user) {
          throw new InputError(`Kerberos with a ${source} needs the user principal (user@REALM)`, { host, field: 'user' });
        }
      }
      if (auth === 'basic' && scheme === 'http' && !w.allowUnencryptedBasic) {
        throw new InputError(
          'Basic authentication over plain HTTP would send the password and every command in clear text; use scheme: https, ' +
            'auth: ntlm (encrypted), or set winrm.allowUnencryptedBasic: true if you really mean it',
          { host, field: 'winrm.auth' },
        );
      }
      const verifyTls = w.certValidation !== 'ignore';
      let ca: Buffer | undefined;
      if (scheme === 'https' && w.caFile) {
        try {
          ca = await readFile(w.caFile);
        } catch (err) {
          throw new InputError(`cannot read the CA bundle: ${(err as Error).message}`, { host, field: 'winrm.caFile', file: w.caFile });
        }
      }
      if (scheme === 'https' && !verifyTls) {
        say('TLS certificate verification is DISABLED (winrm.certValidation: ignore): the server is not authenticated and credentials can be intercepted');
      }
      if (scheme === 'http' && auth === 'basic') {
        say('Basic authentication over plain HTTP (winrm.allowUnencryptedBasic): password and payload travel in clear text');
      }
      const port = settings.port ?? (scheme === 'https' ? 5986 : 5985);
      const path = w.path ?? '/wsman';
      const base: ChannelConfig = {
        host: settings.address,
        port,
        scheme,
        path,
        auth,
        user: settings.user ?? '',
        ...(settings.password ? { password: settings.password } : {}),
        ...(ca ? { ca } : {}),
        verifyTls,
        connectMs: open.deadlines.connectMs,
        authMs: open.deadlines.authMs,
      };
      let tickets: CredentialHandle | undefined;
      let channel: WinrmChannel;
      try {
        if (auth === 'kerberos') {
          const target = targetFor(settings.address, w.kerberos);
          tickets = await credentials.acquire(
            {
              ...(settings.user ? { principal: settings.user } : {}),
              ...(settings.password ? { password: settings.password } : {}),
              settings: w.kerberos ?? {},
            },
            open.deadlines.authMs,
          );
          const ccache = tickets.ccache;
          // Channel binding needs svcfleet's addon; without it Kerberos still works against listeners that do not
          // demand it (CbtHardeningLevel Relaxed, Windows' default), so say so instead of refusing.
          const bind = gssCbAvailable();
          if (!bind) {
            say(
              'Kerberos over HTTPS without channel binding: the GSSAPI addon is not built (bash scripts/build-gssapi-cb.sh); a host with CbtHardeningLevel=Strict will refuse the ticket',
            );
          }
          channel = new WinrmChannel({ ...base, kerberos: { spn: target.spn, bind, begin: (cb) => beginExchange(target, ccache, cb) } });
        } else {
          channel = new WinrmChannel(base);
        }
        try {
          await channel.open(open.signal);
        } catch (err) {
          channel.close();
          throw err;
        }
      } catch (err) {
        await tickets?.release();
        tickets = undefined;
        // negotiate: no usable ticket (or the host refused it) and a password is there → NTLM, as Windows does.
        if (!(err instanceof KerberosError) || !fallbackToNtlm || auth !== 'kerberos') throw err;
        // Kerberos not set up here at all: fall back quietly, as Windows does; anything else is worth a warning.
        if (err.code !== 'krb-binding-missing' && err.code !== 'krb-no-credentials') {
          say(`Kerberos failed, falling back to NTLM (winrm.auth: negotiate): ${err.message}`);
        }
        channel = new WinrmChannel({ ...base, auth: 'ntlm' });
        try {
          await channel.open(open.signal);
        } catch (err2) {
          channel.close();
          throw err2;
        }
      }
      const urlHost = settings.address.includes(':') ? `[${settings.address}]` : settings.address;
      const winrs = new WinrsClient(channel, {
        endpoint: `${scheme}://${urlHost}:${port}${path}`,
        operationTimeoutSeconds: w.operationTimeoutSeconds ?? DEFAULT_OPERATION_TIMEOUT_S,
        maxEnvelopeSize: MAX_ENVELOPE_SIZE,
        readMarginMs: READ_MARGIN_MS,
        cleanupMs: options.cleanupMs ?? 15_000,
        onWarning: say,
      });
      return new WinrmSession(channel, winrs, tickets);
    },
  };
}

class WinrmSession implements Session {
  readonly #channel: WinrmChannel;
  readonly #winrs: WinrsClient;
  /** One command at a time: the NTLM context lives on one connection and a Receive long-poll occupies it. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Kerberos: the ticket cache this session re-authenticates with (a private one is removed after the last user). */
  readonly #tickets: CredentialHandle | undefined;

  constructor(channel: WinrmChannel, winrs: WinrsClient, tickets?: CredentialHandle) {
    this.#channel = channel;
    this.#winrs = winrs;
    this.#tickets = tickets;
  }

  /** The authentication this session ended up with (negotiate resolves to kerberos or ntlm). */
  get auth(): 'ntlm' | 'basic' | 'kerberos' {
    return this.#channel.auth;
  }

  /** Authentication handshakes done so far (1 after open; more when the connection had to be re-established). */
  get handshakes(): number {
    return this.#channel.handshakes;
  }

  exec(invocation: Invocation, options: ExecOptions): Promise<ExecResult> {
    return this.runCommand('powershell.exe', [...POWERSHELL_ARGS, '-EncodedCommand', invocation.encodedCommand], { ...options, stdin: invocation.stdin });
  }

  /** Run any command line (exec() is this with the PowerShell bootstrap); used by diagnostics and tests. */
  runCommand(command: string, args: readonly string[], options: ExecOptions & { stdin?: Buffer }): Promise<ExecResult> {
    if (this.#closed) return Promise.reject(new TransportError('aborted', 'command', 'session is closed'));
    const run = (): Promise<ExecResult> =>
      this.#winrs.run({
        command,
        args,
        stdin: options.stdin ?? Buffer.alloc(0),
        commandMs: options.commandMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onStdout ? { onStdout: options.onStdout } : {}),
        ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      });
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#channel.close();
    await this.#tickets?.release();
  }
}

export type { WinrmSession };
