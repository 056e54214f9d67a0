import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listInventory } from '../../src/inventory/list.js';
import { loadInventory, readInventory, resolveHost } from '../../src/inventory/load.js';
import { InputError } from '../../src/util/errors.js';
import { tmpTree } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/inventories');
const SEEDS: Array<[string, string]> = [
  ['hosts.ini', readFileSync(join(FIXTURES, 'ini-ranges/hosts.ini'), 'utf8')],
  ['inv.yml', readFileSync(join(FIXTURES, 'yaml-groups/inventory.yml'), 'utf8')],
  ['inv.yml', readFileSync(join(FIXTURES, 'windows/hosts.yml'), 'utf8')],
  ['fleet.yml', readFileSync(join(import.meta.dirname, '../../inventory/fleet.yml'), 'utf8')],
];
const NASTY = [
  '[',
  ']',
  ':',
  '=',
  '"',
  "'",
  '‘',
  '’',
  '“',
  '”',
  '\0',
  '\n',
  '\t',
  '#',
  '{{',
  '}}',
  '*',
  '&',
  '!',
  '~',
  '\\',
  ',',
  '---',
  '- ',
  ': ',
  '[9:1]',
  '[a:',
  '%',
  '\u202e',
  'é',
  '__proto__',
  '!vault |',
  '&a',
  '*a',
  '<<: *a',
];

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(text: string, r: () => number): string {
  let s = text;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.4) s = s.slice(0, at) + NASTY[Math.floor(r() * NASTY.length)]! + s.slice(at);
    else if (op < 0.7) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 20));
    else if (op < 0.85) s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 0x250)) + s.slice(at);
    else {
      const lines = s.split('\n');
      const a = Math.floor(r() * lines.length);
      const b = Math.floor(r() * lines.length);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      s = lines.join('\n');
    }
  }
  return s;
}

describe('malformed inventories never crash', () => {
  it('every mutation either loads or fails with an InputError', () => {
    const dir = tmpTree({});
    const r = rng(20240501);
    let loaded = 0;
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const [name, seed] = SEEDS[i % SEEDS.length]!;
      const file = join(dir, name);
      const text = mutate(seed, r);
      writeFileSync(file, text);
      try {
        const data = readInventory({ sources: file });
        JSON.stringify(listInventory(data, { export: i % 2 === 0 }));
        const ctx = { defaults: {}, env: { SVCFLEET_PASSWORD: 'x' }, warn: () => undefined };
        for (const host of data.model.hosts.keys()) resolveHost(data, host, ctx);
        loaded++;
      } catch (err) {
        if (!(err instanceof InputError)) {
          throw new Error(`iteration ${i} (${name}) threw ${(err as Error).stack}\n--- input ---\n${text}`);
        }
        expect(err.where.file ?? err.where.field ?? err.where.host).toBeDefined();
        refused++;
      }
    }
    expect(loaded).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(40);
  });

  it('random bytes fail cleanly', () => {
    const dir = tmpTree({});
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)));
      const file = join(dir, i % 2 ? 'x.yml' : 'x.ini');
      writeFileSync(file, bytes);
      try {
        loadInventory({ sources: file });
      } catch (err) {
        if (!(err instanceof InputError)) throw new Error(`bytes ${bytes.toString('hex')} threw ${(err as Error).stack}`);
      }
    }
  });
});
