/**
 * src/ui/fast-text.ts stands in front of string-width and @alcalzone/ansi-tokenize in the dashboard bundle
 * (scripts/build-ui.mjs), so Ink's frames must come out exactly as with the real functions. Checked here against
 * the real ones (the versions Ink resolves) on the dashboard's glyphs, on lines of real coloured dashboard frames,
 * and on random strings mixing what the fast path handles with what it must hand over (CJK, emoji, combining
 * marks, odd escape sequences, control characters).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { fastAnsiTokenize, fastStringWidth, LazySegmenter, NARROW_GLYPHS, simpleWidth, type AnsiTokenize } from '../../src/ui/fast-text.js';
import { FakeRun, fleetScript } from './fake-run.js';

// The copies Ink itself imports: the top-level ones (there is another string-width, wrap-ansi's own, which the
// bundle leaves alone). The first test checks that Ink has no nested copy of its own.
const inkModules = join(import.meta.dirname, '..', '..', 'node_modules', 'ink', 'node_modules');
const exactWidth = (await import('string-width')).default as (s: string, o?: object) => number;
const exactAnsi = (await import('@alcalzone/ansi-tokenize')) as unknown as AnsiTokenize;
const width = fastStringWidth(exactWidth);
const fast = fastAnsiTokenize(exactAnsi);

/** Every function the bundle replaces gives what the real one gives for `line`. */
function expectSame(line: string): void {
  expect(width(line), JSON.stringify(line)).toBe(exactWidth(line));
  const tokens = fast.tokenize(line);
  expect(tokens, JSON.stringify(line)).toEqual(exactAnsi.tokenize(line));
  const chars = fast.styledCharsFromTokens(tokens);
  expect(chars).toEqual(exactAnsi.styledCharsFromTokens(tokens));
  expect(fast.styledCharsToString(chars)).toBe(exactAnsi.styledCharsToString(exactAnsi.styledCharsFromTokens(tokens)));
}

test('every glyph the dashboard draws is one cell, as string-width says', () => {
  for (const name of ['string-width', '@alcalzone/ansi-tokenize']) expect(existsSync(join(inkModules, name)), name).toBe(false);
  for (const g of NARROW_GLYPHS) {
    expect(exactWidth(g), g).toBe(1);
    expect(simpleWidth(g)).toBe(1);
  }
  expect(simpleWidth('web01 · changed …')).toBe(17);
});

test('what the fast path does not know goes to the exact functions', () => {
  for (const s of ['漢字', '✅ ok', 'e\u0301', 'a\tb', 'x\u001b]8;;http://e\u0007y', '\u009b31mred', '\u001b[12345mz', '\u001b[31', '\u001b(B']) {
    expect(simpleWidth(s), JSON.stringify(s)).toBeUndefined();
    expectSame(s);
  }
  // string-width options other than the defaults always take the exact path.
  expect(width('a·b', { ambiguousIsNarrow: false })).toBe(exactWidth('a·b', { ambiguousIsNarrow: false }));
  expect(width('\u001b[31mab\u001b[39m', { countAnsiEscapeCodes: true })).toBe(exactWidth('\u001b[31mab\u001b[39m', { countAnsiEscapeCodes: true }));
  expect(fast.tokenize('abcdef', 3)).toEqual(exactAnsi.tokenize('abcdef', 3));
});

test('colour codes: plain, compound, 256 and true colour, resets, nesting', () => {
  const lines = [
    '\u001b[1mbold\u001b[22m \u001b[2mdim\u001b[22m plain',
    '\u001b[1;3;31mcompound\u001b[0m after',
    '\u001b[38;5;208morange\u001b[39m \u001b[48;2;10;20;30mbg\u001b[49m',
    '\u001b[7m\u001b[1m› web01   \u001b[36mrunning\u001b[39m  …\u001b[22m\u001b[27m',
    '[\u001b[32m████\u001b[39m\u001b[90m░░░░\u001b[39m] 4/8',
    '\u001b[31munclosed red to the end',
    '\u001b[mreset without parameters',
    '',
  ];
  for (const l of lines) expectSame(l);
});

test('lines of real coloured dashboard frames', async () => {
  // Ink picks its colour level when chalk loads: force it before loading the harness (and Ink).
  process.env['FORCE_COLOR'] = '1';
  const { mount } = await import('./harness.js');
  const run = new FakeRun('r-fast-text');
  run.queue(fleetScript({ hosts: 60, runId: run.runId, faults: { 4: 'access-denied', 6: 'crash', 9: 'unreachable' }, stopAfter: 30 }));
  const m = mount(run, { color: true, size: { columns: 150, rows: 40 } });
  try {
    const frame = await m.waitFor((f) => f.includes('Problems') && f.includes('\u001b['), 'a coloured frame');
    const lines = frame.split('\n');
    expect(lines.filter((l) => simpleWidth(l) !== undefined).length).toBeGreaterThan(lines.length / 2);
    for (const l of lines) expectSame(l);
  } finally {
    m.unmount();
  }
});

test('random strings mixing fast-path and exact-path pieces', () => {
  const pieces = [
    'a',
    'Z',
    ' ',
    '~',
    '0',
    ...NARROW_GLYPHS,
    '\u001b[31m',
    '\u001b[39m',
    '\u001b[1;4m',
    '\u001b[0m',
    '\u001b[38;5;12m',
    '\u001b[m',
    '\u001b[22m',
    '漢',
    '✅',
    '\u0301',
    '\t',
    '\u001b',
    '\u001b[',
    '\u001b[99999m',
    '\u009b',
    '\u200d',
    '👍🏽',
    'ｱ',
    '\u00ad',
  ];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let n = 0; n < 1500; n++) {
    let s = '';
    const len = next() % 24;
    // Two in three strings only from the fast-path pieces, so both paths get exercised.
    const pool = n % 3 ? pieces.slice(0, 5 + NARROW_GLYPHS.length + 7) : pieces;
    for (let i = 0; i < len; i++) s += pool[next() % pool.length];
    expectSame(s);
  }
});

test('LazySegmenter segments as Intl.Segmenter does', () => {
  const text = 'a👍🏽b 拒绝 cafe\u0301 🇩🇪!';
  const cases: ConstructorParameters<typeof Intl.Segmenter>[] = [[], [undefined, { granularity: 'grapheme' }], ['en', { granularity: 'word' }]];
  for (const args of cases) {
    const lazy = new LazySegmenter(...args);
    const real = new Intl.Segmenter(...args);
    expect([...lazy.segment(text)]).toEqual([...real.segment(text)]);
    expect(lazy.resolvedOptions()).toEqual(real.resolvedOptions());
  }
  expect(LazySegmenter.supportedLocalesOf(['en', 'de'])).toEqual(Intl.Segmenter.supportedLocalesOf(['en', 'de']));
});
