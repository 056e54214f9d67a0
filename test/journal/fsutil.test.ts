import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../../src/util/fsutil.js';
import { writeJunitFile } from '../../src/report/junit.js';
import { createRunState } from '../../src/state/run-state.js';
import { InputError } from '../../src/util/errors.js';

const temps: string[] = [];
const fresh = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-fsutil-'));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => vi.useRealTimers());

describe('writeFileAtomic', () => {
  it('writes mode 0600 and leaves no temp file behind', async () => {
    const dir = fresh();
    await writeFileAtomic(join(dir, 'plan.json'), '{}\n');
    expect(statSync(join(dir, 'plan.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['plan.json']);
  });

  it('uses an unpredictable temp name, created exclusively: a planted symlink at the old name is not followed', async () => {
    const dir = fresh();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_000);
    // The name the writer used to pick: .<base>.<pid>.<Date.now()>.tmp
    symlinkSync(victim, join(dir, `.plan.json.${process.pid}.${Date.now()}.tmp`));
    await writeFileAtomic(join(dir, 'plan.json'), 'new');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(readFileSync(join(dir, 'plan.json'), 'utf8')).toBe('new');
  });

  it('refuses to write through a symlink at the destination, naming the file', async () => {
    const dir = fresh();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched');
    symlinkSync(victim, join(dir, 'report.xml'));
    const err = await writeFileAtomic(join(dir, 'report.xml'), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).where.file).toBe(join(dir, 'report.xml'));
    expect((err as Error).message).toMatch(/symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
  });
});

describe('--junit output', () => {
  it('is written 0600 through writeFileAtomic and never through a symlink', async () => {
    const dir = fresh();
    await writeJunitFile(join(dir, 'junit.xml'), createRunState());
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/^<\?xml/);
    expect(statSync(join(dir, 'junit.xml')).mode & 0o777).toBe(0o600);
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched');
    symlinkSync(victim, join(dir, 'link.xml'));
    await expect(writeJunitFile(join(dir, 'link.xml'), createRunState())).rejects.toThrow(/symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
  });
});
