/**
 * 'pool' mode: N warm pwsh workers (src/lab/scm/pool-worker.ps1). Each call runs in a fresh runspace with the
 * emulated SCM imported for its host, the stdin lines fed as `$input`, [Console]::Out/Error captured and `exit <n>`
 * mapped to the exit code. A call that times out or is aborted kills its worker; a new one replaces it lazily.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pwshBinary } from '../../transport/pwsh/locate.js';
import type { ExecOptions, ExecResult, Invocation } from '../../transport/types.js';
import { TransportError } from '../../transport/types.js';
import { labScmFiles } from '../scm/state.js';
import { decodeBootstrap, labEnv, type NativeArgumentPassing } from './spawn.js';

interface Pending {
  id: number;
  stdout: string;
  stderr: string;
  options: ExecOptions;
  resolve: (r: ExecResult) => void;
  reject: (e: unknown) => void;
}

/** stdin as the lines `$input` enumerates when powershell.exe reads a redirected stdin. */
export function stdinLines(stdin: Buffer): string[] {
  const text = stdin.toString('utf8');
  if (!text) return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private buf = '';
  private current: Pending | null = null;
  readonly ready: Promise<void>;
  dead = false;
  /** Handed to a call (possibly still starting). */
  reserved = false;
  private readyResolve!: () => void;
  private readyReject!: (e: unknown) => void;

  constructor(private readonly onDeath: (w: Worker) => void) {
    this.ready = new Promise((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.ready.catch(() => {
      /* reported to the first caller */
    });
    const cacheDir = path.join(os.tmpdir(), `svcfleet-lab-cache-${process.getuid?.() ?? 0}`);
    this.child = spawn(
      pwshBinary(),
      ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', labScmFiles.poolWorker, '-ModulePath', labScmFiles.module, '-CacheDir', cacheDir],
      { env: { ...labEnv(''), SVCFLEET_LAB_STATE: '' }, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    let diag = '';
    this.child.stderr.on('data', (b: Buffer) => {
      diag = (diag + b.toString('utf8')).slice(-4000);
    });
    this.child.stdout.on('data', (b: Buffer) => this.onData(b.toString('utf8')));
    this.child.stdin.on('error', () => {
      /* the exit handler reports */
    });
    this.child.on('error', (e) => this.die(new TransportError('remote-failed', 'command', `cannot start pwsh: ${e.message}`, { cause: e })));
    this.child.on('exit', (code) => this.die(new TransportError('remote-failed', 'command', `lab pool worker exited (${code}): ${diag.trim()}`)));
  }

  get busy(): boolean {
    return this.current !== null;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (!line.trim()) continue;
      let msg: { t: string; d?: string; id?: number; code?: number };
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // not ours (nothing else should write to the worker's real stdout)
      }
      if (msg.t === 'ready') this.readyResolve();
      const p = this.current;
      if (!p) continue;
      if (msg.t === 'o' && msg.d) {
        p.stdout += msg.d;
        p.options.onStdout?.(msg.d);
      } else if (msg.t === 'e' && msg.d) {
        p.stderr += msg.d;
        p.options.onStderr?.(msg.d);
      } else if (msg.t === 'x' && msg.id === p.id) {
        this.current = null;
        p.resolve({ exitCode: msg.code ?? null, stdout: p.stdout, stderr: p.stderr });
      }
    }
  }

  private die(err: TransportError): void {
    if (this.dead) return;
    this.dead = true;
    this.readyReject(err);
    const p = this.current;
    this.current = null;
    if (p) p.reject(err);
    this.onDeath(this);
  }

  kill(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  run(id: number, stateDir: string, invocation: Invocation, options: ExecOptions, nativeArgs: NativeArgumentPassing): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      this.current = { id, stdout: '', stderr: '', options, resolve, reject };
      const req = { id, stateDir, script: decodeBootstrap(invocation), input: stdinLines(invocation.stdin), nativeArgs };
      this.child.stdin.write(JSON.stringify(req) + '\n');
    });
  }
}

export class LabPool {
  private readonly workers: Worker[] = [];
  private readonly waiters: (() => void)[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly nativeArgs: NativeArgumentPassing,
  ) {}

  private spawnWorker(): Worker {
    const w = new Worker((dead) => {
      const i = this.workers.indexOf(dead);
      if (i >= 0) this.workers.splice(i, 1);
      this.waiters.shift()?.();
    });
    this.workers.push(w);
    return w;
  }

  /** Start all workers now (otherwise they start on first use). */
  async warm(): Promise<void> {
    while (this.workers.length < this.size) this.spawnWorker();
    await Promise.all(this.workers.map((w) => w.ready));
  }

  private async acquire(): Promise<Worker> {
    for (;;) {
      if (this.closed) throw new TransportError('aborted', 'command', 'lab runner closed');
      const idle = this.workers.find((w) => !w.busy && !w.dead && !w.reserved);
      if (idle) {
        // Reserve before returning: the caller resumes only after an await, and another caller's acquire may
        // run in between and would otherwise pick the same worker.
        idle.reserved = true;
        return idle;
      }
      if (this.workers.length < this.size) {
        const w = this.spawnWorker();
        w.reserved = true;
        return w;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async run(stateDir: string, invocation: Invocation, options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted) throw new TransportError('aborted', 'command', 'aborted before start');
    const w = await this.acquire(); // reserved for us
    let killedFor: 'timeout' | 'aborted' | null = null;
    const kill = (why: 'timeout' | 'aborted') => {
      if (killedFor) return;
      killedFor = why;
      w.kill();
    };
    const timer = setTimeout(() => kill('timeout'), options.commandMs);
    const onAbort = () => kill('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await w.ready;
      if (killedFor) throw new TransportError('remote-failed', 'command', 'worker killed');
      return await w.run(this.nextId++, stateDir, invocation, options, this.nativeArgs);
    } catch (err) {
      if (killedFor === 'timeout') throw new TransportError('timeout', 'command', `command exceeded ${options.commandMs} ms`);
      if (killedFor === 'aborted') throw new TransportError('aborted', 'command', 'aborted');
      throw err;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      w.reserved = false;
      this.waiters.shift()?.();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.workers]) w.kill();
    for (const r of this.waiters.splice(0)) r();
  }
}
