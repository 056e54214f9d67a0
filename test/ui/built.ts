/**
 * The compiled CLI and dashboard bundle for tests that run them (the tmux e2e, the bundle test): `npm run build`
 * when dist/ is missing or older than what it is built from (src/, the bundle script, the lockfile). Test files
 * run in parallel, so the check and the build happen under a lock: the second caller finds dist/ fresh instead
 * of rebuilding it under a CLI the first one is running.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

function stale(probe: string): boolean {
  const inputs = ['src', join('scripts', 'build-ui.mjs'), 'package-lock.json'].map((p) => newestMtime(join(root, p)));
  const builtAt = [probe, join(root, 'dist', 'cli', 'main.js')].map((p) => (existsSync(p) ? statSync(p).mtimeMs : 0));
  return Math.min(...builtAt) < Math.max(...inputs);
}

/** Builds dist/ unless `probe` (a built file) and the CLI are newer than every input. */
export function ensureBuilt(probe = join(root, 'dist', 'ui', 'mount.js')): void {
  if (!stale(probe)) return;
  // In the checkout, not the temp dir: every test run of this checkout builds the same dist/, and each run has a
  // temp dir of its own (test/global-setup.ts).
  const lock = join(root, 'node_modules', '.svcfleet-build.lock');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run is stale after the longest build takes.
      if (waited > 180_000) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(pause, 0, 0, 200);
    }
  }
  try {
    if (stale(probe)) execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
