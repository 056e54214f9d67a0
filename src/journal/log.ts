/**
 * An append-only log of JSON records, one per line, each prefixed by the CRC-32 of its JSON text:
 *
 *     1c291ca3 {"r":"event","e":{...}}\n
 *
 * Why this shape: `kill -9` (or a power cut) can leave a torn last line; the checksum detects it (and any
 * flipped byte), so readers skip exactly the damaged records and keep everything else. Plain lines stay
 * greppable and need no database.
 *
 * Writes are batched: `append` only keeps the record; a short timer (or `sync`) encodes what is waiting into one
 * buffer and writes it with one call. `sync` makes everything appended so far durable (an O_DSYNC write, or
 * write + fdatasync where there is no O_DSYNC) and is group-committed: callers that ask while a sync is in flight
 * share the next one, so 200 hosts asking at once cost a few syncs, not 200.
 *
 * A write that fails (ENOSPC, EIO, a quota) or comes up short loses nothing and leaves no torn line: the file is
 * cut back to its last whole line, the unwritten records stay buffered, every pending `sync` rejects with a
 * JournalWriteError naming the file, and the next `sync` (or `close`) tries the whole buffer again — so once
 * space is freed the log catches up in order. A `sync` that resolved always covers complete, fdatasync'ed lines.
 */
import { constants as fsConstants, writeSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/** How long appended records may wait in memory before a write (not a sync) is issued. */
const FLUSH_DELAY_MS = 25;
/** Write earlier when this many records are waiting. */
const FLUSH_RECORDS = 2048;
/** Synchronous-data writes where the platform has them (not on Windows: there a sync is write + fdatasync). */
const DSYNC = fsConstants.O_DSYNC as number | undefined;
const OPEN_FLAGS = fsConstants.O_RDWR | fsConstants.O_APPEND | fsConstants.O_CREAT | (DSYNC ?? 0);
/** A synchronous write that takes longer than this ends synchronous writes for the log (see #writeAllNow). */
const BLOCKING_WRITE_LIMIT_MS = 20;

export function encodeLine(record: unknown): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** A record appended as `prefix + json() + suffix` (appendWrapped). */
class Wrapped {
  constructor(
    readonly prefix: string,
    readonly json: () => string,
    readonly suffix: string,
  ) {}
}
type Pending = Wrapped | unknown;

/**
 * The bytes of one round, encoded in place: each line's JSON goes once from its string into the buffer as UTF-8,
 * and its CRC-32 is taken over those bytes. Building each line as a string, joining them and converting the
 * whole to bytes copied every record three more times (at 10,000 hosts, ~40 MB of lines; bench/fleet).
 */
class LineBuffer {
  #buf = Buffer.allocUnsafe(64 * 1024);
  #len = 0;

  reset(): void {
    this.#len = 0;
  }

  /** The encoded bytes; valid until the next reset. */
  view(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  bytes(data: Buffer): void {
    this.#reserve(data.length);
    this.#len += data.copy(this.#buf, this.#len);
  }

  /** `CRC32 prefix+json+suffix\n`, the layout encodeLine makes. */
  line(prefix: string, json: string, suffix: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.#reserve(9 + 3 * (prefix.length + json.length + suffix.length) + 1);
    const start = this.#len;
    let at = start + 9;
    at += this.#buf.write(prefix, at, 'utf8');
    at += this.#buf.write(json, at, 'utf8');
    at += this.#buf.write(suffix, at, 'utf8');
    const crc = crc32(this.#buf.subarray(start + 9, at));
    this.#buf.write(crc.toString(16).padStart(8, '0'), start, 'latin1');
    this.#buf[start + 8] = 0x20;
    this.#buf[at] = 0x0a;
    this.#len = at + 1;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(bigger, 0, 0, this.#len);
    this.#buf = bigger;
  }
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

/** Errnos that mean "the filesystem holding the journal has no room": told apart in messages. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** The journal could not be written: names the file and what the filesystem said. */
export class JournalWriteError extends Error {
  override readonly name = 'JournalWriteError';
  readonly code: string | undefined;
  constructor(
    readonly path: string,
    cause: unknown,
    /** What to do about it, appended to the message (e.g. how to resume the run). */
    hint?: string,
  ) {
    const code = (cause instanceof JournalWriteError ? cause.code : (cause as NodeJS.ErrnoException | undefined)?.code) ?? undefined;
    const what =
      cause instanceof JournalWriteError
        ? cause.message
        : `cannot write the journal ${path}: ${code && NO_SPACE.has(code) ? `no space left on the filesystem holding it (${code})` : (code ?? (cause instanceof Error ? cause.message : String(cause)))}`;
    super(hint ? `${what}; ${hint}` : what, { cause });
    this.code = code;
  }

  /** Out of space or quota: freeing space and resuming fixes it. */
  get noSpace(): boolean {
    return this.code !== undefined && NO_SPACE.has(this.code);
  }
}

export async function readLog<T>(path: string): Promise<ReadResult<T>> {
  return decodeLines<T>(await readFile(path, 'utf8'));
}

export class AppendLog {
  #fh: FileHandle;
  /** The file's size: where a failed round cuts it back to (only this log writes it). */
  #size: number;
  /** Appended, not encoded yet: encoding waits for the round that writes them (see `append`). */
  #pending: Pending[] = [];
  /** Encoded bytes a failed round could not write: the next round writes them first. */
  #unwritten: Buffer | undefined;
  /** Where rounds encode their lines; one round at a time, so it is reused. */
  #scratch = new LineBuffer();
  /** Rounds that hosts wait for are written on the main thread (see #writeAllNow) while that stays quick. */
  #blockingWrites = DSYNC !== undefined;
  #timer: NodeJS.Timeout | undefined;
  #scheduled = false;
  #syncWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #running: Promise<void> | undefined;
  /** The last write failure, until a later write succeeds. */
  #error: JournalWriteError | undefined;
  #closed = false;

  private constructor(
    readonly path: string,
    fh: FileHandle,
    size: number,
  ) {
    this.#fh = fh;
    this.#size = size;
  }

  /**
   * Open for appending. A torn tail left by a crash is terminated with a newline first, so new lines stay whole.
   * O_DSYNC (where the platform has it) makes each write durable when it completes, so a sync is one call on
   * libuv's thread pool instead of a write and an fdatasync: each of those completions waits for the event loop,
   * which at 1,000 hosts in flight is busy in bursts (bench/README.md, "where the wall goes").
   */
  static async open(path: string): Promise<AppendLog> {
    const fh = await open(path, OPEN_FLAGS, 0o600);
    try {
      let { size } = await fh.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) size += (await fh.write('\n')).bytesWritten;
      }
      return new AppendLog(path, fh, size);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw new JournalWriteError(path, err);
    }
  }

  /** The failure of the last write attempt, if no write has succeeded since. */
  get failure(): JournalWriteError | undefined {
    return this.#error;
  }

  /**
   * Buffer a record. It is encoded by the round that writes it, not here: appends come from event sinks, which run
   * inside the engine's bursts (a wave of hosts answering within a millisecond), and every millisecond spent
   * there delays the hosts behind it. The record must not change after it is appended.
   */
  append(record: unknown): void {
    this.#push(record);
  }

  /**
   * Like `append`, for a record whose JSON text is `prefix + json() + suffix`, where someone else may already have
   * `json()` (it is called when the record is written).
   */
  appendWrapped(prefix: string, json: () => string, suffix: string): void {
    this.#push(new Wrapped(prefix, json, suffix));
  }

  #push(item: Pending): void {
    if (this.#closed) throw new Error('journal log is closed');
    this.#pending.push(item);
    // While the file cannot be written, records wait for the next sync instead of retrying on a timer.
    if (this.#error) return;
    if (this.#pending.length >= FLUSH_RECORDS) this.#schedule();
    else this.#timer ??= setTimeout(() => this.#schedule(), FLUSH_DELAY_MS);
  }

  /** Resolves once every record appended before the call is on disk; rejects with a JournalWriteError. */
  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('journal log is closed'));
    const p = new Promise<void>((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
    this.#schedule();
    return p;
  }

  /** Sync and close; rejects (after closing) when records could not be written. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const synced = await this.sync().then(
      () => undefined,
      (err: unknown) => err,
    );
    this.#closed = true;
    await this.#fh.close();
    if (synced) throw synced;
  }

  /**
   * Start a round on the event loop's check phase (setImmediate): after the burst of callbacks that asked for
   * it, so every host of a burst that asks for a sync shares one round, and the encoding runs after them.
   */
  #schedule(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#kick();
    });
  }

  #kick(): void {
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
      // Work that arrived during the last round of the loop (not after a failure: that waits for a sync).
      if (this.#syncWaiters.length || ((this.#pending.length || this.#unwritten) && !this.#error)) this.#schedule();
    });
  }

  async #loop(): Promise<void> {
    while (this.#pending.length || this.#unwritten || this.#syncWaiters.length) {
      const out = this.#scratch;
      out.reset();
      if (this.#unwritten) out.bytes(this.#unwritten);
      this.#unwritten = undefined;
      for (const item of this.#pending.splice(0)) {
        if (item instanceof Wrapped) out.line(item.prefix, item.json(), item.suffix);
        else out.line('', JSON.stringify(item), '');
      }
      const data = out.view();
      // Waiters registered before this write are covered by it; later ones wait for the next round.
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      const before = this.#size;
      try {
        if (data.length) {
          if (waiters.length && this.#blockingWrites) this.#writeAllNow(data);
          else await this.#writeAll(data);
          this.#size += data.length;
        }
        if (waiters.length && !DSYNC) await this.#fh.datasync();
        this.#error = undefined;
        for (const w of waiters) w.resolve();
      } catch (err) {
        // Cut the file back to its last whole line and keep the bytes for the next attempt, ahead of anything
        // appended meanwhile. After a failed write or fdatasync the written bytes' fate is unknown: they are cut
        // too and written again, so a line is never half there nor there twice.
        await this.#fh.truncate(before).catch(() => undefined);
        this.#unwritten = Buffer.from(data);
        this.#error = err instanceof JournalWriteError ? err : new JournalWriteError(this.path, err);
        for (const w of waiters) w.reject(this.#error);
        for (const w of this.#syncWaiters) w.reject(this.#error);
        this.#syncWaiters = [];
        return;
      }
    }
  }

  /**
   * #writeAll on the main thread, for a round that hosts wait for. Through the thread pool its completion waits for
   * the event loop, which at 1,000 hosts in flight comes back only after the next burst of timers (~30 ms a host at
   * 10,000 hosts, and the hosts released together come back together: bench/README.md). An O_DSYNC write of a
   * round's ~70 KB takes 0.5 ms here (p99 4 ms). A disk where one takes longer than BLOCKING_WRITE_LIMIT_MS would
   * stall every host's timers, so this log then goes back to the pool for good.
   */
  #writeAllNow(data: Buffer): void {
    const t0 = performance.now();
    let off = 0;
    while (off < data.length) {
      const bytesWritten = writeSync(this.#fh.fd, data, off, data.length - off);
      if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      off += bytesWritten;
    }
    if (performance.now() - t0 > BLOCKING_WRITE_LIMIT_MS) this.#blockingWrites = false;
  }

  /** One append that is complete or fails: a short write (the disk filled mid-chunk) is continued or fails. */
  async #writeAll(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.#fh.write(data, off, data.length - off);
      if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      off += bytesWritten;
    }
  }
}
