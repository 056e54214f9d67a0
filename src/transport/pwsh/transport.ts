/**
 * The `pwsh` transport: the controller's own PowerShell opens a PSSession to the host and runs the same bootstrap
 * and payload there (scripts.ts). Modes:
 *  - `hostname`: PowerShell remoting over SSH (`New-PSSession -HostName`), from any pwsh 7. It uses the system
 *    `ssh` client: key files or ssh-agent only (BatchMode, since a password prompt would hang the run), host keys
 *    checked against ssh.knownHostsFile with StrictHostKeyChecking=yes (strict) or accept-new.
 *  - `computername`: WinRM (`New-PSSession -ComputerName`, Negotiate), which needs a Windows controller:
 *    PowerShell 7 on Linux has no WSMan client (PowerShell #17390). This is how domain Kerberos works today.
 *
 * One local PowerShell process per session (node-powershell runs one command at a time per process). Output is
 * returned when the command ends (remoting gives no byte stream of the child's stdout), so onStdout is called
 * once with the whole output.
 */
import { userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import {
  TransportError,
  type ConnectionSettings,
  type ExecOptions,
  type ExecResult,
  type Invocation,
  type OpenOptions,
  type Session,
  type Transport,
  type TransportErrorClass,
  type TransportPhase,
} from '../types.js';
import { base64Literal, PwshDriver, toBase64Literal, type DriverReply } from './driver.js';
import { REPLY_MARKER } from './scripts.js';
import { pwshBinary } from './locate.js';
import type { RemoteShell } from '../ssh/command-line.js';

const SHELL_LITERAL: Record<RemoteShell, string> = { 'powershell.exe': "'powershell.exe'", pwsh: "'pwsh'" };

export interface PwshTransportOptions {
  /** The controller's PowerShell (default: pwsh found by locate.ts). */
  executable?: string;
  /** Budget for starting the local PowerShell itself (not a host deadline). Default 60 s. */
  startMs?: number;
  /** Idle local PowerShell processes kept for the next session (a start costs ~1 CPU-second). Default 4. */
  maxIdle?: number;
}

/** Local PowerShell processes: started on demand, reused after a clean close or a refused open. */
class DriverPool {
  readonly #idle: PwshDriver[] = [];
  constructor(
    private readonly executable: string,
    private readonly maxIdle: number,
  ) {}

  acquire(): Promise<PwshDriver> {
    for (let d = this.#idle.pop(); d; d = this.#idle.pop()) if (!d.dead) return Promise.resolve(d);
    return PwshDriver.start(this.executable);
  }

  release(driver: PwshDriver): void {
    if (driver.dead) return;
    if (this.#idle.length < this.maxIdle) this.#idle.push(driver);
    else void driver.dispose();
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#idle.splice(0).map((d) => d.dispose()));
  }
}

interface OpenArgs {
  mode: 'hostname' | 'computername';
  address: string;
  port?: number;
  user?: string;
  keyFile?: string;
  knownHosts?: string;
  strict: 'yes' | 'accept-new';
  connectMs: number;
  commandMs: number;
  useSsl?: boolean;
  password?: string;
}

/** The ssh client's and WinRM's words for each failure (they reach us as stderr text or exception messages). */
const PATTERNS: Array<[RegExp, TransportErrorClass]> = [
  // OpenSSH says "No ... host key is known for X" for an unknown host, then "Host key verification failed" for both.
  [/REMOTE HOST IDENTIFICATION HAS CHANGED|host key .* has changed/i, 'hostkey-mismatch'],
  [/host key is known for|host key .* is not known/i, 'hostkey-unknown'],
  [/host key verification failed/i, 'hostkey-mismatch'],
  [/permission denied|too many authentication failures|access is denied|logon failure|authentication failed/i, 'auth-failed'],
  [/certificate|SSL|TLS/i, 'tls-untrusted'],
  [/timed out|timeout/i, 'timeout'],
  [/connection refused|no route to host|could not resolve|network is unreachable|name or service not known|cannot (connect|find the computer)/i, 'unreachable'],
];

/** The ssh client's own diagnostics: pwsh relays them on its stdout; they name the real cause. */
function clientDiagnostics(out: DriverReply): string[] {
  return `${out.stdout}\n${out.stderr}`
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('@') && !l.includes(REPLY_MARKER.trim()));
}

function classifyOpenFailure(where: string, reply: Record<string, unknown> | undefined, out: DriverReply): TransportError {
  const message = typeof reply?.message === 'string' ? reply.message : 'no reply from PowerShell';
  const diagnostics = clientDiagnostics(out);
  const detail = `${diagnostics.join('\n')}\n${message}`;
  const cls = PATTERNS.find(([re]) => re.test(detail))?.[1] ?? 'unreachable';
  const phase: TransportPhase = cls === 'auth-failed' ? 'auth' : 'connect';
  const tail = diagnostics.slice(-2).join(' | ');
  return new TransportError(cls, phase, `${where}: cannot open a PowerShell session: ${message}${tail ? ` [${tail}]` : ''}`);
}

export class PwshTransport implements Transport {
  readonly kind = 'pwsh' as const;
  readonly #options: PwshTransportOptions;
  #pool: DriverPool | undefined;

  constructor(options: PwshTransportOptions = {}) {
    this.#options = options;
  }

  async dispose(): Promise<void> {
    await this.#pool?.dispose();
  }

  async open(host: string, settings: ConnectionSettings, options: OpenOptions): Promise<PwshSession> {
    const mode = settings.pwsh?.mode ?? 'hostname';
    const where = `${host} (${settings.address}${settings.port ? `:${settings.port}` : ''}, pwsh ${mode})`;
    const abs = (p: string | undefined): string | undefined => (p ? (isAbsolute(p) ? p : resolve(p)) : undefined);
    const args: OpenArgs = {
      mode,
      address: settings.address,
      ...(settings.port ? { port: settings.port } : {}),
      user: settings.user ?? userInfo().username,
      strict: settings.ssh?.hostKeyPolicy === 'accept-new' ? 'accept-new' : 'yes',
      connectMs: options.deadlines.connectMs + options.deadlines.authMs,
      commandMs: options.deadlines.commandMs,
    };
    if (mode === 'hostname') {
      const keyFile = abs(settings.pwsh?.keyFilePath ?? settings.ssh?.identityFile);
      if (keyFile) args.keyFile = keyFile;
      const knownHosts = abs(settings.ssh?.knownHostsFile);
      if (knownHosts) args.knownHosts = knownHosts;
      if (settings.ssh?.passphrase) {
        throw new TransportError('auth-failed', 'auth', `${where}: encrypted keys need an ssh-agent for pwsh -HostName remoting (it cannot prompt)`);
      }
    } else {
      if (settings.winrm?.scheme === 'https') args.useSsl = true;
      if (settings.password) args.password = settings.password.reveal();
    }
    const shell = settings.ssh?.shell ?? 'powershell.exe';
    if (!(shell in SHELL_LITERAL)) throw new TransportError('protocol', 'connect', `${where}: unsupported ssh.shell ${String(shell)}`);
    this.#pool ??= new DriverPool(this.#options.executable ?? pwshBinary(), this.#options.maxIdle ?? 4);
    const session = new PwshSession(where, args, shell, this.#pool, this.#options.startMs ?? 60_000);
    await session.connect(options.signal);
    return session;
  }
}

export class PwshSession implements Session {
  readonly #where: string;
  readonly #args: OpenArgs;
  readonly #shell: RemoteShell;
  readonly #pool: DriverPool;
  readonly #startMs: number;
  #driver: PwshDriver | undefined;
  #closed = false;

  constructor(where: string, args: OpenArgs, shell: RemoteShell, pool: DriverPool, startMs: number) {
    this.#where = where;
    this.#args = args;
    this.#shell = shell;
    this.#pool = pool;
    this.#startMs = startMs;
  }

  /** Starts a local PowerShell and opens the remote session (again, after a deadline or abort killed the last). */
  async connect(signal?: AbortSignal): Promise<void> {
    const where = this.#where;
    const driver = await this.#guard(
      this.#pool.acquire(),
      this.#startMs,
      signal,
      'connect',
      `starting the local PowerShell`,
      (late) => late.kill(), // started after we gave up on it: do not leave it running
    );
    this.#driver = driver;
    const out = await this.#guard(
      driver.invoke(`Open-SvcfleetSession ${toBase64Literal(JSON.stringify(this.#args))}`),
      this.#args.connectMs + 5_000,
      signal,
      'connect',
      'opening the PowerShell session',
    );
    if (out.reply?.ok !== true) {
      // The local PowerShell is fine; only the host refused. Keep it for the next session.
      this.#driver = undefined;
      if (out.reply) this.#pool.release(driver);
      else driver.kill();
      throw classifyOpenFailure(where, out.reply, out);
    }
  }

  async exec(invocation: Invocation, options: ExecOptions): Promise<ExecResult> {
    if (this.#closed) throw new TransportError('remote-failed', 'command', `${this.#where}: session is closed`);
    if (!this.#driver || this.#driver.dead) await this.connect(options.signal);
    const driver = this.#driver as PwshDriver;
    let line: string;
    try {
      // The shell is one of two fixed words (a constant, not data); everything else is base64. The stdin bytes go in a
      // hashtable, which parameter bindings (module logging) show as its type name only (scripts.ts).
      line = `Invoke-SvcfleetRemote ${base64Literal(invocation.encodedCommand)} @{ stdin = ${toBase64Literal(invocation.stdin)} } ${SHELL_LITERAL[this.#shell]}`;
    } catch {
      throw new TransportError('protocol', 'command', `${this.#where}: refusing an -EncodedCommand that is not base64`);
    }
    const out = await this.#guard(driver.invoke(line), options.commandMs, options.signal, 'command', 'running the command');
    const r = out.reply;
    if (!r) {
      this.#kill();
      throw new TransportError('protocol', 'command', `${this.#where}: no reply from the controller's PowerShell: ${out.stderr.trim().slice(0, 500)}`);
    }
    if (r.ok !== true) {
      const state = typeof r.state === 'string' ? r.state : 'unknown';
      if (state !== 'Opened') this.#kill();
      throw new TransportError(
        'remote-failed',
        'command',
        `${this.#where}: ${String(r.message)} (session ${state}${state === 'Opened' ? '' : '; outcome unknown'})`,
      );
    }
    const stdout = typeof r.stdout === 'string' ? r.stdout : '';
    const stderr = typeof r.stderr === 'string' ? r.stderr : '';
    if (stdout) options.onStdout?.(stdout);
    if (stderr) options.onStderr?.(stderr);
    return { exitCode: typeof r.exitCode === 'number' ? r.exitCode : null, stdout, stderr };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const driver = this.#driver;
    this.#driver = undefined;
    if (!driver || driver.dead) return;
    try {
      const out = await this.#race(driver.invoke('Close-SvcfleetSession'), 10_000);
      if (out.reply?.ok === true) {
        this.#pool.release(driver);
        return;
      }
    } catch {
      // fall through: a local PowerShell that does not answer is not reused
    }
    driver.kill();
  }

  #kill(): void {
    this.#driver?.kill();
    this.#driver = undefined;
  }

  /** Runs `p` under a deadline and the abort signal; on either, kills the local PowerShell (its only cancel). */
  async #guard<T>(p: Promise<T>, ms: number, signal: AbortSignal | undefined, phase: TransportPhase, what: string, onLate?: (value: T) => void): Promise<T> {
    const abandon = (): void => {
      p.then(
        (v) => onLate?.(v),
        () => undefined,
      );
    };
    if (signal?.aborted) {
      this.#kill();
      abandon();
      throw new TransportError('aborted', phase, `${this.#where}: aborted before ${what}`);
    }
    let onAbort: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TransportError('timeout', phase, `${this.#where}: ${phase} deadline of ${ms} ms passed while ${what}`)), ms);
      onAbort = () => reject(new TransportError('aborted', phase, `${this.#where}: aborted while ${what}; local PowerShell killed`));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([p, stop]);
    } catch (err) {
      this.#kill();
      abandon();
      if (err instanceof TransportError) throw err;
      throw new TransportError(phase === 'command' ? 'remote-failed' : 'unreachable', phase, `${this.#where}: ${what}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  #race<T>(p: Promise<T>, ms: number): Promise<T> {
    return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
  }
}
