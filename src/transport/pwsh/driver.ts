/**
 * A local PowerShell process driven through node-powershell (the user's chosen package), used within its known
 * limits (docs/reference/powershell.md#driving-a-local-pwsh-from-node):
 *  - every command sent is ONE line: its `-Command -` REPL mis-parses multi-line input;
 *  - its `$` template tag is never used (it splices values unescaped); values travel as base64 literals, whose
 *    alphabet cannot leave a single-quoted string, and are decoded inside PowerShell;
 *  - stderr is data (throwOnInvocationError: false), not a failure;
 *  - it cannot cancel: a deadline or abort kills the process (and, on Linux, the ssh client it started), and
 *    the owner starts a new driver;
 *  - its exit promise rejects when the process dies from a signal, with nobody listening unless an invoke is in
 *    flight: a handler is attached here so a dying pwsh can never become an unhandled rejection;
 *  - it keeps every command in `history` (payloads, and a WinRM password): cleared after each invoke.
 * Its pwsh runs without the startup JIT profile that pwsh processes side by side tear (startup-profile.ts), and
 * without PowerShell's host IPC listener. It leaves nothing in the temp dir, whether it ends normally or is killed
 * (docs/reference/powershell.md#what-a-killed-pwsh-leaves-behind).
 */
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { PowerShell } from 'node-powershell';
import { descendantPids } from './process-tree.js';
import { removeRuntimeFiles, runtimeProcess, type RuntimeProcess } from './runtime-files.js';
import { CONTROLLER_SCRIPT, REMOTE_SCRIPT, REPLY_MARKER } from './scripts.js';
import { withoutStartupJitProfile } from './startup-profile.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * PowerShell's host IPC listener serves only Enter-PSHostProcess, which nobody points at a svcfleet worker; off, it
 * costs no thread and leaves no socket when the process is killed. PowerShell 7.6 reads this; older ones ignore it.
 */
const NO_HOST_IPC_LISTENER = { POWERSHELL_DIAGNOSTICS_OPTOUT: '1' } as const;
/** How long an idle pwsh asked to exit may take before it is killed (it measured about 0.5 s). */
const EXIT_GRACE_MS = 5_000;

/** A single-quoted PowerShell literal holding base64 (checked, so it cannot close the quote). */
export function base64Literal(b64: string): string {
  if (!BASE64.test(b64)) throw new Error('not base64');
  return `'${b64}'`;
}

export function toBase64Literal(data: string | Buffer): string {
  return base64Literal((typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64'));
}

export interface DriverReply {
  reply: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
}

export class PwshDriver {
  readonly #ps: PowerShell;
  #dead = false;
  readonly #exited: Promise<void>;
  #gone: Promise<void>;
  /** The temp dir its pwsh was given (the same environment is passed on). */
  readonly #tempDir = tmpdir();

  private constructor(ps: PowerShell) {
    this.#ps = ps;
    const child = this.#child;
    this.#exited =
      !child || child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
    this.#gone = this.#exited;
  }

  static async start(executable: string): Promise<PwshDriver> {
    const ps = new PowerShell({
      executable,
      executableOptions: { '-NoProfile': true, '-NonInteractive': true },
      spawnOptions: { env: { ...withoutStartupJitProfile(process.env), ...NO_HOST_IPC_LISTENER } },
      throwOnInvocationError: false,
    });
    // See the file comment: the library's exit promise is otherwise unobserved between invocations.
    (ps as unknown as { exitPromise?: Promise<unknown> }).exitPromise?.catch(() => undefined);
    const driver = new PwshDriver(ps);
    await driver.invoke(
      `$SvcfleetRemoteB64 = ${toBase64Literal(REMOTE_SCRIPT)}; ` +
        `. ([ScriptBlock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String(${toBase64Literal(CONTROLLER_SCRIPT)}))))`,
    );
    return driver;
  }

  get dead(): boolean {
    return this.#dead;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Settles once the process (and, after kill(), every process of its tree) has ended and its files are removed. */
  get gone(): Promise<void> {
    return this.#gone;
  }

  get #child(): ChildProcess | undefined {
    return (this.#ps as unknown as { process?: ChildProcess }).process;
  }

  async invoke(line: string): Promise<DriverReply> {
    if (/[\r\n]/.test(line)) throw new Error('node-powershell commands must be single-line');
    if (this.#dead) throw new Error('PowerShell driver is gone');
    try {
      const r = await this.#ps.invoke(line);
      const stdout = r.stdout?.toString('utf8') ?? '';
      const stderr = r.stderr?.toString('utf8') ?? '';
      return { reply: parseReply(stdout), stdout, stderr };
    } finally {
      this.#ps.history.length = 0;
    }
  }

  /** Kills the process and its tree (the ssh client of -HostName remoting), without waiting; see `gone`. */
  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#killTree();
  }

  /**
   * Ends an idle process the way a finished script ends: stdin closed, so pwsh exits normally and removes its own
   * temp files. A signal would not: SIGTERM ends a launcher (the dotnet global tool's `pwsh` starts `dotnet pwsh.dll`
   * as its child) without its child, and leaves both runtimes' files behind. Killed if not gone within the grace.
   */
  async dispose(): Promise<void> {
    if (this.#dead) return;
    this.#dead = true;
    this.#child?.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), EXIT_GRACE_MS);
    });
    const exited = await Promise.race([this.#exited.then(() => true), graceOver]);
    clearTimeout(timer);
    if (!exited) this.#killTree();
    await this.#gone;
  }

  /** Collects the whole tree BEFORE killing (a killed parent's children are re-parented), then removes its files. */
  #killTree(): void {
    const pid = this.pid;
    const descendants = pid === undefined ? [] : descendantPids(pid);
    const tree: RuntimeProcess[] = [];
    for (const p of pid === undefined ? [] : [pid, ...descendants]) {
      const identity = runtimeProcess(p);
      if (identity) tree.push(identity);
    }
    for (const p of descendants) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    void this.#ps.dispose('SIGKILL').catch(() => undefined);
    this.#gone = this.#exited.then(() => removeRuntimeFiles(tree, this.#tempDir));
  }
}

function parseReply(stdout: string): Record<string, unknown> | undefined {
  for (const line of stdout.split(/\r?\n/)) {
    const at = line.indexOf(REPLY_MARKER);
    if (at < 0) continue;
    try {
      const json = Buffer.from(line.slice(at + REPLY_MARKER.length).trim(), 'base64').toString('utf8');
      const v = JSON.parse(json) as unknown;
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // not ours after all
    }
  }
  return undefined;
}
