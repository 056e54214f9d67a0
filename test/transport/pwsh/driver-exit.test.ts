/**
 * The pwsh transport's local PowerShell leaves nothing behind in its temp dir, whether it is disposed (asked to exit)
 * or killed (a deadline, an abort): on a controller that cuts many hosts at their deadline, each kill would otherwise
 * leave several files (docs/reference/powershell.md#what-a-killed-pwsh-leaves-behind). Each case gives the pwsh an
 * empty temp dir of its own and lists it while the process runs and after it has gone.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processAlive } from '../../../src/lab/scm/state.js';
import { PwshDriver } from '../../../src/transport/pwsh/driver.js';
import { pwshBinary } from '../../../src/transport/pwsh/locate.js';
import { descendantPids } from '../../../src/transport/pwsh/process-tree.js';
import { runtimeFileNames } from '../../../src/transport/pwsh/runtime-files.js';
import { requirePwsh } from '../../lab/scm/helpers.js';

let root: string;
const savedTmp = process.env.TMPDIR;

/** A fresh, empty temp dir, made the pwsh's for the rest of the case (the driver passes its env on). */
function freshTemp(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  process.env.TMPDIR = dir;
  return dir;
}

/** A running driver, its process tree (the dotnet tool's `pwsh` is a launcher with a child) and its temp files. */
async function started(dir: string): Promise<{ driver: PwshDriver; tree: number[]; files: string[] }> {
  const driver = await PwshDriver.start(pwshBinary());
  const pid = driver.pid as number;
  expect((await driver.invoke("[Console]::Out.WriteLine('up')")).stdout).toContain('up');
  return { driver, tree: [pid, ...descendantPids(pid)], files: readdirSync(dir).sort() };
}

beforeAll(() => {
  requirePwsh();
  root = mkdtempSync(join(tmpdir(), 'svcfleet-driver-exit-'));
});

afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(root, { recursive: true, force: true });
});

describe("the pwsh transport's local PowerShell and its temp dir", () => {
  it('runs without the host IPC listener, so no PowerShell pipe socket exists to be left behind', async () => {
    const dir = freshTemp('listener');
    const { driver, files } = await started(dir);
    try {
      // The runtime's own files are there (what the other cases must see removed); PowerShell's socket is not.
      expect(files.some((f) => f.startsWith('dotnet-diagnostic-'))).toBe(true);
      expect(files.filter((f) => f.startsWith('CoreFxPipe_'))).toEqual([]);
    } finally {
      await driver.dispose();
    }
  });

  it('disposed: it exits on its own (stdin closed), its whole tree ends, and it removed its files', async () => {
    const dir = freshTemp('dispose');
    const { driver, tree, files } = await started(dir);
    expect(files.length).toBeGreaterThan(0);
    const t0 = Date.now();
    await driver.dispose();
    // Well inside the 5 s grace: it went by itself, it was not killed after waiting.
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(tree.filter((p) => processAlive(p, null))).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('killed: its whole tree ends and the files the runtime could not remove are removed', async () => {
    const dir = freshTemp('kill');
    const { driver, tree, files } = await started(dir);
    expect(files.length).toBeGreaterThan(0);
    driver.kill();
    await driver.gone;
    expect(tree.filter((p) => processAlive(p, null))).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('runtimeFileNames', () => {
  it("matches a process's files by pid AND start time, never another process's", () => {
    const names = [
      'clr-debug-pipe-100-5000-in',
      'clr-debug-pipe-100-5000-out',
      'dotnet-diagnostic-100-5000-socket',
      'dotnet-diagnostic-100-6000-socket', // an earlier process with the same pid
      'dotnet-diagnostic-1000-5000-socket',
      'clr-debug-pipe-10-5000-in',
      'CoreFxPipe_PSHost.DD84A77B.100.None.dotnet',
      'svcfleet-keep',
    ];
    expect(runtimeFileNames([{ pid: 100, startTicks: '5000' }], names)).toEqual([
      'clr-debug-pipe-100-5000-in',
      'clr-debug-pipe-100-5000-out',
      'dotnet-diagnostic-100-5000-socket',
    ]);
  });
});
