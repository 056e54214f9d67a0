/**
 * Shells and commands of one lab WinRM host. A command starts when its Command request arrives; stdin arrives
 * through Send (until End="true"); output is queued until a Receive takes it. Receive long-polls: it answers as
 * soon as there is output or the command finished, or with nothing after the operation timeout.
 */
import { randomUUID } from 'node:crypto';
import type { LabExecutor } from './executor.js';

export interface OutputPiece {
  name: 'stdout' | 'stderr';
  data: Buffer;
}

export class LabCommand {
  readonly id = randomUUID().toUpperCase();
  readonly abort = new AbortController();
  #stdin: Buffer[] = [];
  #stdinEnded = false;
  #resolveStdin!: (b: Buffer) => void;
  readonly stdin = new Promise<Buffer>((r) => (this.#resolveStdin = r));
  readonly queue: OutputPiece[] = [];
  exitCode: number | null = null;
  done = false;
  /** Receives answered so far (for per-command faults). */
  receives = 0;
  #waiters = new Set<() => void>();

  pushStdin(data: Buffer, end: boolean): void {
    if (this.#stdinEnded) return;
    if (data.length) this.#stdin.push(data);
    if (end) this.endStdin();
  }

  get stdinStarted(): boolean {
    return this.#stdin.length > 0 || this.#stdinEnded;
  }

  endStdin(): void {
    if (this.#stdinEnded) return;
    this.#stdinEnded = true;
    this.#resolveStdin(Buffer.concat(this.#stdin));
    this.#stdin = [];
  }

  output(name: 'stdout' | 'stderr', data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (buf.length === 0) return;
    this.queue.push({ name, data: buf });
    this.#wake();
  }

  finish(exitCode: number): void {
    if (this.done) return;
    this.exitCode = exitCode;
    this.done = true;
    this.endStdin();
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters) w();
    this.#waiters.clear();
  }

  /** Resolves true when there is output or the command is done, false after `ms`. */
  waitForOutput(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.queue.length || this.done) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (v: boolean): void => {
        clearTimeout(t);
        this.#waiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const t = setTimeout(() => finish(false), ms);
      this.#waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Take queued output up to `maxBytes` (raw), merging adjacent pieces of the same stream. */
  take(maxBytes: number): OutputPiece[] {
    const out: OutputPiece[] = [];
    let budget = maxBytes;
    while (this.queue.length && budget > 0) {
      const head = this.queue[0]!;
      let piece = head;
      if (head.data.length > budget) {
        piece = { name: head.name, data: head.data.subarray(0, budget) };
        head.data = head.data.subarray(budget);
      } else {
        this.queue.shift();
      }
      budget -= piece.data.length;
      const last = out[out.length - 1];
      if (last && last.name === piece.name) last.data = Buffer.concat([last.data, piece.data]);
      else out.push({ name: piece.name, data: piece.data });
    }
    return out;
  }
}

export class LabShell {
  readonly id = randomUUID().toUpperCase();
  readonly commands = new Map<string, LabCommand>();
  constructor(
    readonly owner: string,
    readonly options: Record<string, string>,
  ) {}

  start(executor: LabExecutor, line: { command: string; args: string[]; skipCmdShell: boolean }, onError: (err: unknown) => void): LabCommand {
    const cmd = new LabCommand();
    this.commands.set(cmd.id, cmd);
    const io = {
      stdin: cmd.stdin,
      signal: cmd.abort.signal,
      stdout: (d: Buffer | string) => cmd.output('stdout', d),
      stderr: (d: Buffer | string) => cmd.output('stderr', d),
    };
    executor.run(line, io).then(
      (code) => cmd.finish(code),
      (err) => {
        onError(err);
        cmd.output('stderr', `${(err as Error).message ?? String(err)}\r\n`);
        cmd.finish(1);
      },
    );
    return cmd;
  }

  terminate(commandId: string): boolean {
    const cmd = this.commands.get(commandId);
    if (!cmd) return false;
    cmd.abort.abort();
    cmd.endStdin();
    this.commands.delete(commandId);
    return true;
  }

  close(): void {
    for (const id of [...this.commands.keys()]) this.terminate(id);
  }
}
