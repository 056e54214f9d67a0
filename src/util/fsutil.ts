/**
 * The two durability primitives the journal is built from: fsync of a directory (so a new or renamed entry
 * survives a crash) and an atomic file replace (write tmp, fsync, rename, fsync dir: a reader sees the old
 * file or the new one, never a torn one). Plans and JUnit reports use the same replace.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replace `path` atomically with `data`, mode 0600 by default. Safe in a directory others can write to: the temp
 * file has an unpredictable name and is created exclusively ('wx': an existing file or planted symlink there
 * fails instead of being followed), and a symlink at `path` itself is refused rather than replaced or followed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const existing = await lstat(path).catch(() => undefined);
  if (existing?.isSymbolicLink()) throw new InputError('refusing to write through a symbolic link; remove it or choose another file', { file: path });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dir);
}
