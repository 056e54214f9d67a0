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
 * Its pwsh runs without the startup JIT profile that pwsh processes side by side tear (startup-profile.ts).
 */
import { PowerShell } from 'node-powershell';
import { descendantPids } from './process-tree.js';
import { CONTROLLER_SCRIPT, REMOTE_SCRIPT, REPLY_MARKER } from './scripts.js';
import { withoutStartupJitProfile } from './startup-profile.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

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

  private constructor(ps: PowerShell) {
    this.#ps = ps;
  }

  static async start(executable: string): Promise<PwshDriver> {
    const ps = new PowerShell({
      executable,
      executableOptions: { '-NoProfile': true, '-NonInteractive': true },
      spawnOptions: { env: withoutStartupJitProfile(process.env) },
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
    return (this.#ps as unknown as { process?: { pid?: number } }).process?.pid;
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

  /** Kills the process (and its children: the ssh client of -HostName remoting), without waiting. */
  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    const pid = this.pid;
    if (pid !== undefined) {
      for (const child of descendantPids(pid)) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    void this.#ps.dispose('SIGKILL').catch(() => undefined);
  }

  async dispose(): Promise<void> {
    if (this.#dead) return;
    this.#dead = true;
    await this.#ps.dispose('SIGTERM').catch(() => undefined);
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
