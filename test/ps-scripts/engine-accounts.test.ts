/**
 * The engine's account rules (ConvertTo-AccountKey, Get-AccountKind) against the vectors the TypeScript side
 * (src/util/windows-account.ts) is tested with, so plan and engine agree on which spellings are one account.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { callEngine, okValue, type HarnessResult } from './pwsh.js';

const vectors = JSON.parse(readFileSync(new URL('../util/fixtures/account-vectors.json', import.meta.url), 'utf8')) as Array<[string, string, string]>;
let results: HarnessResult[] = [];

beforeAll(async () => {
  results = await callEngine(
    vectors.flatMap(([name]) => [
      { fn: 'ConvertTo-AccountKey', args: [name] },
      { fn: 'Get-AccountKind', args: [name] },
    ]),
  );
}, 120_000);

describe('engine account rules', () => {
  it('match the TypeScript ones on every vector', () => {
    const got = vectors.map(([name], i) => [name, okValue(results[2 * i])[0], okValue(results[2 * i + 1])[0]]);
    expect(got).toEqual(vectors);
  });
});
