/**
 * The `ssh` transport (ssh2). open() goes through three phases with their own deadlines:
 *   connect — TCP connect, SSH banner, key exchange and host-key verification (connectMs)
 *   auth    — user authentication (authMs)
 * and each exec has its own command deadline (session.ts). Handshakes are capped separately from sessions
 * (default 32 at once): a key exchange is the expensive part, and hundreds at once starve the event loop and
 * overrun servers' MaxStartups (docs/reference/ssh.md#connection-limits).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import ssh2 from 'ssh2';
import { TransportError, type ConnectionSettings, type OpenOptions, type Transport, type TransportPhase } from '../types.js';
import { sshAlgorithms } from './algorithms.js';
import { authHandler, authMethods, PrivateKeyCache } from './auth.js';
import { classifySshError } from './errors.js';
import { checkHostKey } from './host-key-policy.js';
import { KnownHosts } from './known-hosts.js';
import { SshSession } from './session.js';

export interface SshTransportOptions {
  /** Concurrent handshakes (connect + auth) across all hosts; sessions are not counted. Default 32. */
  maxConcurrentHandshakes?: number;
  /** SSH keepalive interval when the host's settings give none (ms). Default 15000; 0 disables. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection is declared dead. Default 3. */
  keepaliveCountMax?: number;
}

const DEFAULT_HANDSHAKES = 32;
const DEFAULT_KEEPALIVE_MS = 15_000;

/** OpenSSH's defaults when no file is configured: the user's file (where keys are recorded) and the system one. */
function defaultKnownHostsFiles(): string[] {
  return [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly #handshakes: LimitFunction;
  readonly #keys = new PrivateKeyCache();
  readonly #knownHosts = new Map<string, KnownHosts>();
  readonly #options: SshTransportOptions;

  constructor(options: SshTransportOptions = {}) {
    this.#options = options;
    this.#handshakes = pLimit(options.maxConcurrentHandshakes ?? DEFAULT_HANDSHAKES);
  }

  /** Handshakes running / waiting right now (tests and the benchmark read it). */
  get handshakeLoad(): { active: number; pending: number } {
    return { active: this.#handshakes.activeCount, pending: this.#handshakes.pendingCount };
  }

  async open(host: string, settings: ConnectionSettings, options: OpenOptions): Promise<SshSession> {
    const ssh = settings.ssh ?? {};
    const address = settings.address;
    const port = settings.port ?? 22;
    const where = `${host} (${address}:${port})`;
    const knownHosts = this.#knownHostsFor(ssh.knownHostsFile);
    // Configuration problems (unreadable key, wrong passphrase) fail here, before anything is contacted.
    const methods = await authMethods(
      {
        user: settings.user ?? userInfo().username,
        agent: ssh.agent ?? process.env.SSH_AUTH_SOCK,
        identityFile: ssh.identityFile,
        passphrase: ssh.passphrase,
        password: settings.password,
      },
      this.#keys,
    );
    let knownTypes: string[];
    try {
      knownTypes = await knownHosts.keyTypesFor(address, port);
    } catch (err) {
      throw new TransportError('hostkey-mismatch', 'connect', `${where}: cannot read known_hosts: ${(err as Error).message}`, { cause: err });
    }
    const algorithms = sshAlgorithms(knownTypes);
    const keepalive = ssh.keepaliveIntervalMs ?? this.#options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS;
    const signal = options.signal;
    const handshake = this.#handshakes(
      () =>
        new Promise<SshSession>((resolve, reject) => {
          // Deadlines start when this host's handshake slot is granted, not while it queues behind others.
          let phase: TransportPhase = 'connect';
          let settled = false;
          let hostKeyError: TransportError | null = null;
          let sock: Socket | undefined;
          const client = new ssh2.Client();

          const fail = (error: TransportError): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            client.destroy();
            sock?.destroy();
            reject(error);
          };
          const onAbort = (): void => fail(new TransportError('aborted', phase, `${where}: aborted during ${phase}`));
          const phaseTimeout = (ms: number): NodeJS.Timeout =>
            setTimeout(() => fail(new TransportError('timeout', phase, `${where}: ${phase} deadline of ${ms} ms passed`)), ms);
          let timer = phaseTimeout(options.deadlines.connectMs);
          if (signal?.aborted) return onAbort();
          signal?.addEventListener('abort', onAbort, { once: true });

          // Errors after the handshake may still arrive through this listener; `fail` ignores them once settled
          // and the session installs its own.
          client.on('error', (err) => fail(hostKeyError ?? classifySshError(err, phase, where)));
          client.on('close', () =>
            fail(
              hostKeyError ??
                new TransportError(phase === 'connect' ? 'unreachable' : 'protocol', phase, `${where}: connection closed by the peer during ${phase}`),
            ),
          );
          client.on('handshake', () => {
            phase = 'auth';
            clearTimeout(timer);
            timer = phaseTimeout(options.deadlines.authMs);
          });
          client.on('ready', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            client.removeAllListeners('error');
            client.removeAllListeners('close');
            resolve(new SshSession(client, where, ssh.shell ?? 'powershell.exe'));
          });

          sock = tcpConnect({ host: address, port });
          sock.setNoDelay(true);
          const onSockError = (err: Error): void => fail(classifySshError(err, 'connect', where));
          sock.once('error', onSockError);
          sock.once('connect', () => {
            // From here ssh2 owns the socket and reports its errors through the client.
            sock?.removeListener('error', onSockError);
            if (settled) return;
            client.connect({
              sock,
              username: settings.user ?? userInfo().username,
              authHandler: authHandler(methods),
              algorithms,
              readyTimeout: 0, // our own per-phase timers above
              keepaliveInterval: keepalive,
              keepaliveCountMax: this.#options.keepaliveCountMax ?? 3,
              hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
                void checkHostKey(knownHosts, ssh.hostKeyPolicy ?? 'strict', address, port, key).then((error) => {
                  hostKeyError = error;
                  verify(error === null);
                });
              },
            });
          });
        }),
    );
    return raceAbort(handshake, signal, where);
  }

  async dispose(): Promise<void> {
    this.#handshakes.clearQueue();
  }

  #knownHostsFor(file: string | undefined): KnownHosts {
    const files = file ? [isAbsolute(file) ? file : join(process.cwd(), file)] : defaultKnownHostsFiles();
    const key = files.join('\0');
    let kh = this.#knownHosts.get(key);
    if (!kh) {
      kh = new KnownHosts({ files });
      this.#knownHosts.set(key, kh);
    }
    return kh;
  }
}

/**
 * Lets an abort end the wait for a handshake slot at once (the queued task then fails fast when it starts). A
 * session that completes in the same tick as the abort is closed, not leaked.
 */
function raceAbort(p: Promise<SshSession>, signal: AbortSignal | undefined, where: string): Promise<SshSession> {
  if (!signal) return p;
  return new Promise<SshSession>((resolve, reject) => {
    let done = false;
    const onAbort = (): void => {
      done = true;
      reject(new TransportError('aborted', 'connect', `${where}: aborted while connecting`));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (session) => {
        signal.removeEventListener('abort', onAbort);
        if (done) void session.close();
        else resolve(session);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
