/**
 * The journal's append log on a filesystem that fills up (a real tmpfs, test/journal/small-fs.ts): a sync never
 * resolves for records that are not wholly on disk, a failed or short write leaves no torn line, and once space
 * is freed the same log catches up, in order, each record once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppendLog, JournalWriteError, readLog } from '../../src/journal/log.js';
import { mountSmallFs, type SmallFs } from './small-fs.js';

let fs: SmallFs | undefined;
afterEach(() => {
  fs?.dispose();
  fs = undefined;
});

describe('append log on a full disk', () => {
  it('rejects the sync, cuts the file back to whole lines, and catches up when space is freed', async () => {
    fs = mountSmallFs('logfull', '256k');
    const path = join(fs.dir, 'journal.ndjson');
    const log = await AppendLog.open(path);
    for (let i = 0; i < 5; i++) log.append({ n: i });
    await log.sync();
    fs.fill();
    fs.padToPage(path);
    // Bigger than a page: a short write is possible only if the kernel hands out part of one; either way nothing
    // of it may stay in the file.
    log.append({ n: 5, pad: 'x'.repeat(6000) });
    log.append({ n: 6 });
    const err = await log.sync().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).noSpace).toBe(true);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(/no space left on the filesystem holding it \(ENOSPC\)/);
    expect(log.failure).toBe(err);
    const during = await readLog<{ n: number }>(path);
    expect(during).toEqual({ records: [0, 1, 2, 3, 4].map((n) => ({ n })), damaged: 0, tornTail: false });
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    // Still full: appends are kept (not thrown), a second sync fails the same way.
    log.append({ n: 7 });
    await expect(log.sync()).rejects.toBeInstanceOf(JournalWriteError);

    fs.free();
    await log.sync();
    expect(log.failure).toBeUndefined();
    await log.close();
    const after = await readLog<{ n: number }>(path);
    expect(after.damaged).toBe(0);
    expect(after.tornTail).toBe(false);
    expect(after.records.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('close reports records it could not write, and the file keeps only whole lines', async () => {
    fs = mountSmallFs('logclose', '256k');
    const path = join(fs.dir, 'journal.ndjson');
    const log = await AppendLog.open(path);
    log.append({ n: 0 });
    await log.sync();
    fs.fill();
    fs.padToPage(path);
    log.append({ n: 1, pad: 'y'.repeat(5000) });
    await expect(log.close()).rejects.toBeInstanceOf(JournalWriteError);
    expect(await readLog(path)).toEqual({ records: [{ n: 0 }], damaged: 0, tornTail: false });
  });
});
