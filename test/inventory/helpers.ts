import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { InputError, type InputLocation } from '../../src/util/errors.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temporary directory holding `files` (path -> content); removed after the test file. */
export function tmpTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-inv-'));
  dirs.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}

/** `fn` must throw an InputError whose location includes `where` and whose message matches `message`. */
export function expectInputError(fn: () => unknown, where: Partial<InputLocation>, message?: RegExp): InputError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  return checkInputError(caught, where, message);
}

export async function expectInputErrorAsync(fn: () => Promise<unknown>, where: Partial<InputLocation>, message?: RegExp): Promise<InputError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  return checkInputError(caught, where, message);
}

function checkInputError(caught: unknown, where: Partial<InputLocation>, message?: RegExp): InputError {
  expect(caught, 'expected an InputError').toBeInstanceOf(InputError);
  const e = caught as InputError;
  expect(e.where).toMatchObject(where);
  if (message) expect(e.message).toMatch(message);
  return e;
}
