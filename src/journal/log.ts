/**
 * An append-only log of JSON records, one per line, each prefixed by the CRC-32 of its JSON text:
 *
 *     1c291ca3 {"r":"event","e":{...}}\n
 *
 * Why this shape: `kill -9` (or a power cut) can leave a torn last line; the checksum detects it (and any
 * flipped byte), so readers skip exactly the damaged records and keep everything else. Plain lines stay
 * greppable and need no database.
 *
 * Writes are batched: `append` only buffers; a short timer (or `sync`) writes the buffer with one write call.
 * `sync` makes everything appended so far durable (write + fdatasync) and is group-committed: callers that
 * ask while a sync is in flight share the next one, so 200 hosts asking at once cost a few fsyncs, not 200.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/** How long appended records may wait in memory before a write (not a sync) is issued. */
const FLUSH_DELAY_MS = 25;
/** Write earlier when this much is buffered. */
const FLUSH_BYTES = 256 * 1024;

export function encodeLine(record: unknown): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

export interface ReadResult<T> {
  records: T[];
  /** Lines whose checksum or JSON did not verify (skipped). */
  damaged: number;
  /** The file ended in an incomplete line (a write cut short by a crash); it was ignored. */
  tornTail: boolean;
}

export function decodeLines<T>(text: string): ReadResult<T> {
  const records: T[] = [];
  let damaged = 0;
  let tornTail = false;
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      tornTail = true;
      break;
    }
    const line = text.slice(start, nl);
    start = nl + 1;
    if (line === '') continue;
    const sp = line.indexOf(' ');
    const json = sp === 8 ? line.slice(9) : '';
    if (sp !== 8 || crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) {
      damaged++;
      continue;
    }
    try {
      records.push(JSON.parse(json) as T);
    } catch {
      damaged++;
    }
  }
  return { records, damaged, tornTail };
}

export async function readLog<T>(path: string): Promise<ReadResult<T>> {
  return decodeLines<T>(await readFile(path, 'utf8'));
}

export class AppendLog {
  #fh: FileHandle;
  #buf: string[] = [];
  #bufBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #syncWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #running: Promise<void> | undefined;
  #error: unknown;
  #closed = false;

  private constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  /** Open for appending. A torn tail left by a crash is terminated with a newline first, so new lines stay whole. */
  static async open(path: string): Promise<AppendLog> {
    const fh = await open(path, 'a+', 0o600);
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await fh.write('\n');
    }
    return new AppendLog(fh);
  }

  append(record: unknown): void {
    if (this.#closed) throw new Error('journal log is closed');
    if (this.#error) throw this.#error;
    const line = encodeLine(record);
    this.#buf.push(line);
    this.#bufBytes += line.length;
    if (this.#bufBytes >= FLUSH_BYTES) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), FLUSH_DELAY_MS);
  }

  /** Resolves once every record appended before the call is on disk. */
  sync(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    const p = new Promise<void>((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
    this.#kick();
    return p;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.sync().catch(() => undefined);
    this.#closed = true;
    await this.#fh.close();
    if (this.#error) throw this.#error;
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
      // Work that arrived during the last round of the loop.
      if (this.#buf.length || this.#syncWaiters.length) this.#kick();
    });
  }

  async #loop(): Promise<void> {
    while (this.#buf.length || this.#syncWaiters.length) {
      const chunk = this.#buf.join('');
      this.#buf = [];
      this.#bufBytes = 0;
      // Waiters registered before this write are covered by it; later ones wait for the next round.
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      try {
        if (chunk) await this.#fh.write(chunk);
        if (waiters.length) await this.#fh.datasync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.#error = err;
        for (const w of waiters) w.reject(err);
        for (const w of this.#syncWaiters) w.reject(err);
        this.#syncWaiters = [];
        this.#buf = [];
        return;
      }
    }
  }
}
