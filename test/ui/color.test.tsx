/**
 * NO_COLOR: the dashboard emits no colour escapes when it is set (https://no-color.org), and does otherwise.
 * Ink's colours go through chalk, which decides its level when first loaded: FORCE_COLOR is set before this file
 * loads Ink (dynamic imports), as a colour terminal would.
 */
import { afterEach, expect, test } from 'vitest';
import { colorWanted } from '../../src/ui/theme.js';
import { FakeRun, fleetScript } from './fake-run.js';
import type { Mounted } from './harness.js';

process.env['FORCE_COLOR'] = '1';
const { mount } = await import('./harness.js');

// SGR colour parameters: 30-37, 39, 40-47, 49, 90-97, 100-107, and 38;/48; extended colours.
const COLOUR = /\u001b\[(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[\d;]*)?m/;

let m: Mounted | undefined;
afterEach(() => {
  m?.unmount();
  m = undefined;
});

function run(): FakeRun {
  const r = new FakeRun('r-color');
  r.queue(fleetScript({ hosts: 20, runId: r.runId, faults: { 4: 'access-denied', 6: 'crash' }, stopAfter: 8 }));
  return r;
}

test('colourWanted follows NO_COLOR (set and non-empty means no colour)', () => {
  expect(colorWanted({})).toBe(true);
  expect(colorWanted({ NO_COLOR: '1' })).toBe(false);
  expect(colorWanted({ NO_COLOR: 'yes' })).toBe(false);
  expect(colorWanted({ NO_COLOR: '' })).toBe(true);
});

test('with colour: states are coloured; with NO_COLOR: no colour escape at all, glyphs carry the states', async () => {
  m = mount(run(), { color: true });
  const coloured = await m.waitFor((f) => f.includes('Problems'), 'coloured frame');
  expect(coloured).toMatch(COLOUR);
  m.unmount();

  m = mount(run(), { color: false });
  const plain = await m.waitFor((f) => f.includes('Problems'), 'plain frame');
  expect(plain).not.toMatch(COLOUR);
  for (const f of m.frames) expect(f).not.toMatch(COLOUR);
  const text = plain.replace(/\u001b\[[\d;]*m/g, '');
  expect(text).toMatch(/\[#+F+R+\.+\] \d+\/20/);
  expect(text).toContain('F failed 1');
  // The selected row stays visible without colour: a marker, and inverse video (an attribute, not a colour).
  expect(text).toMatch(/^› ?web05 +failed/m);
  expect(plain).toContain('\u001b[7m');
});
