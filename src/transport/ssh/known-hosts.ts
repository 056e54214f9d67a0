/**
 * OpenSSH `known_hosts` verification (the format of sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 *   [marker] patterns keytype base64-key [comment]
 * - patterns: comma-separated, `*` / `?` wildcards, `!` negation, case-insensitive; a host on a port other than
 *   22 is looked up as `[host]:port`;
 * - hashed names `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` (HashKnownHosts);
 * - markers `@revoked` (this key is refused for the hosts) and `@cert-authority` (host certificates: ssh2 cannot
 *   negotiate certificate host keys, so such entries are reported as unsupported rather than silently ignored).
 *
 * Policy (docs/transport-ssh.md): a key that matches a plain entry is trusted; a host that has entries but none
 * equal to the presented key is CHANGED — a hard failure, also under accept-new, also when only the key type
 * differs (a different type is indistinguishable from a downgrade by a man in the middle); an unknown host is
 * refused under `strict` and recorded under `accept-new`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export type KnownHostMarker = 'revoked' | 'cert-authority';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: KnownHostMarker;
  keyType: string;
  key: Buffer;
  /** True when the host field is a hashed `|1|` name. */
  hashed: boolean;
  matches(name: string): boolean;
}

export type HostKeyVerdict =
  | { kind: 'trusted'; entry: KnownHostEntry }
  | { kind: 'unknown' }
  | { kind: 'changed'; known: KnownHostEntry[] }
  | { kind: 'revoked'; entry: KnownHostEntry }
  | { kind: 'cert-authority-unsupported'; entries: KnownHostEntry[] };

/** The name OpenSSH looks a host up by: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** The key type stored inside an SSH public key blob (its first string). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH match_pattern(): `*` any run, `?` one character; the whole string must match. */
function wildcardMatch(text: string, pattern: string): boolean {
  // Iterative matcher with single-star backtracking: linear-ish, no regex built from file content.
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '?' || (pc !== undefined && pc !== '*' && pc === text[t])) {
      t++;
      p++;
    } else if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** A comma-separated pattern list: matches when some positive pattern matches and no negated one does. */
function patternListMatcher(field: string): (name: string) => boolean {
  const patterns = field
    .toLowerCase()
    .split(',')
    .filter((s) => s.length > 0);
  return (name) => {
    let positive = false;
    for (const pat of patterns) {
      if (pat.startsWith('!')) {
        if (wildcardMatch(name, pat.slice(1))) return false;
      } else if (!positive && wildcardMatch(name, pat)) {
        positive = true;
      }
    }
    return positive;
  };
}

function hashedMatcher(field: string): ((name: string) => boolean) | undefined {
  const parts = field.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1') return undefined;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const hash = Buffer.from(parts[3] ?? '', 'base64');
  if (salt.length !== 20 || hash.length !== 20) return undefined;
  return (name) => timingSafeEqual(createHmac('sha1', salt).update(name).digest(), hash);
}

/** A hashed host field for `name`, as `ssh-keygen -H` writes it. */
export function hashKnownHostsName(name: string, salt: Buffer): string {
  const mac = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`;
}

/** Parses known_hosts text; malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostMarker | undefined;
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: OpenSSH skips the line
    }
    const [hostField, keyType, keyB64] = fields;
    if (!hostField || !keyType || !keyB64) continue;
    const key = Buffer.from(keyB64, 'base64');
    if (keyTypeOfBlob(key) !== keyType) continue;
    const hashed = hostField.startsWith('|');
    const matches = hashed ? hashedMatcher(hostField) : patternListMatcher(hostField);
    if (!matches) continue;
    entries.push({ file, line: i + 1, ...(marker ? { marker } : {}), keyType, key, hashed, matches });
  }
  return entries;
}

/** Decides what a presented key means for `name`, given every entry from every known_hosts file. */
export function judgeHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const forHost = entries.filter((e) => e.matches(name));
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return { kind: 'trusted', entry: same };
  if (plain.length > 0) return { kind: 'changed', known: plain };
  const cas = forHost.filter((e) => e.marker === 'cert-authority');
  if (cas.length > 0) return { kind: 'cert-authority-unsupported', entries: cas };
  return { kind: 'unknown' };
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  entries: KnownHostEntry[];
}

export interface KnownHostsOptions {
  /** Files read, in order. The first one is where accept-new records keys. */
  files: string[];
  /** How long to wait for another writer's lock before giving up (ms). */
  lockTimeoutMs?: number;
}

/**
 * A set of known_hosts files, re-read when they change on disk (cheap `stat` per lookup), with an append that is
 * safe against concurrent connections in this process and against other processes (an O_EXCL lock file).
 */
export class KnownHosts {
  readonly #files: string[];
  readonly #cache = new Map<string, CachedFile>();
  readonly #lockTimeoutMs: number;
  #appendChain: Promise<unknown> = Promise.resolve();

  constructor(options: KnownHostsOptions) {
    if (options.files.length === 0) throw new Error('KnownHosts needs at least one file');
    this.#files = options.files;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  get recordFile(): string {
    return this.#files[0] as string;
  }

  async entries(): Promise<KnownHostEntry[]> {
    const all: KnownHostEntry[] = [];
    for (const f of this.#files) all.push(...(await this.#load(f)));
    return all;
  }

  /** Key types known for the host, most useful first, for ordering the server host key algorithms. */
  async keyTypesFor(host: string, port: number): Promise<string[]> {
    const name = knownHostsName(host, port);
    const types: string[] = [];
    for (const e of await this.entries()) {
      if (e.marker === undefined && e.matches(name) && !types.includes(e.keyType)) types.push(e.keyType);
    }
    return types;
  }

  async verify(host: string, port: number, key: Buffer): Promise<HostKeyVerdict> {
    return judgeHostKey(await this.entries(), knownHostsName(host, port), key);
  }

  /**
   * Records a key for a host that was unknown (accept-new). Under the lock the files are read again: when another
   * writer recorded the same key meanwhile this is a no-op; when it recorded a DIFFERENT key the verdict is
   * `changed` and nothing is written. Entries are written plain (`[host]:port type key`), so an operator can read
   * and audit them; hashing is left to `ssh-keygen -H`, which reads them fine.
   */
  async record(host: string, port: number, key: Buffer): Promise<HostKeyVerdict> {
    const run = async (): Promise<HostKeyVerdict> => {
      const file = this.recordFile;
      const lock = await acquireLock(`${file}.lock`, this.#lockTimeoutMs);
      try {
        this.#cache.clear();
        const verdict = await this.verify(host, port, key);
        if (verdict.kind !== 'unknown') return verdict;
        const keyType = keyTypeOfBlob(key);
        if (!keyType) throw new Error('presented host key has no readable type');
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        const fh = await open(file, fsc.O_CREAT | fsc.O_RDWR | fsc.O_APPEND, 0o600);
        try {
          const { size } = await fh.stat();
          let lead = '';
          if (size > 0) {
            const last = Buffer.alloc(1);
            await fh.read(last, 0, 1, size - 1);
            if (last[0] !== 0x0a) lead = '\n';
          }
          await fh.write(`${lead}${knownHostsName(host, port)} ${keyType} ${key.toString('base64')}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        this.#cache.clear();
        const after = await this.verify(host, port, key);
        return after;
      } finally {
        await lock.release();
      }
    };
    const p = this.#appendChain.then(run, run);
    this.#appendChain = p.catch(() => undefined);
    return p;
  }

  async #load(file: string): Promise<KnownHostEntry[]> {
    let st;
    try {
      st = await stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#cache.delete(file);
        return [];
      }
      throw err;
    }
    const cached = this.#cache.get(file);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.entries;
    const entries = parseKnownHosts(await readFile(file, 'utf8'), file);
    this.#cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, entries });
    return entries;
  }
}

interface HeldLock {
  release(): Promise<void>;
}

/** An O_EXCL lock file; a lock older than a minute is taken to belong to a crashed writer and removed. */
async function acquireLock(path: string, timeoutMs: number): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
      await fh.write(String(process.pid));
      await fh.close();
      return { release: () => unlink(path).catch(() => undefined) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      const st = await stat(path);
      if (Date.now() - st.mtimeMs > 60_000) {
        await unlink(path).catch(() => undefined);
        continue;
      }
    } catch {
      continue; // vanished between open and stat: try again
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
