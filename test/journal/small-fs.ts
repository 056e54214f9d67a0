/**
 * A small filesystem that a test can fill: a tmpfs mounted on a unique directory under the run's TMPDIR, and
 * unmounted and removed by `dispose`. Mounting needs root (the CI and dev machines run the suite as root); where
 * `mount` is refused the test fails and says so rather than quietly testing something else.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** tmpfs allocates whole pages: a file's last page has room that a full filesystem still lets it write into. */
const PAGE = 4096;

export interface SmallFs {
  dir: string;
  /** Take every free page with a filler file (written until ENOSPC). */
  fill(): void;
  /** Use up the slack in the last page of `file` with blank lines (which journal readers skip), so its next write needs a new page. */
  padToPage(file: string): void;
  /** Give the space back (delete the filler). */
  free(): void;
  dispose(): void;
}

export function mountSmallFs(prefix: string, size = '1m'): SmallFs {
  const dir = mkdtempSync(join(tmpdir(), `svcfleet-${prefix}-`));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs for the disk-full test (needs root): ${(err as Error).message}`);
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      const page = Buffer.alloc(PAGE, 0x66);
      try {
        for (;;) writeSync(fd, page);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
    },
    padToPage(file) {
      const slack = (PAGE - (statSync(file).size % PAGE)) % PAGE;
      try {
        if (slack) appendFileSync(file, '\n'.repeat(slack));
      } catch (err) {
        // A write of the program under test took the slack first: the page is full either way.
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    dispose() {
      try {
        unlinkSync(filler);
      } catch {}
      execFileSync('umount', [dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
