/**
 * The dashboard users get is the bundle `npm run build` makes (scripts/build-ui.mjs → dist/ui/mount.js), not the
 * sources the component tests render. Here the built dashboard runs a whole 1,000-host stream to its summary the
 * way the CLI loads it (dist/ui/index.js `runDashboard`, which imports the bundle lazily), from a copy of dist/
 * with no node_modules anywhere above it: so React, Ink, Yoga and the rest really are inside the bundle, in
 * production mode (no NODE_ENV set), and the fast text paths and the lazily loaded exact ones draw correct frames.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { FleetEvent } from '../../src/engine/events.js';
import { ensureBuilt, root } from './built.js';
import { fleetScript } from './fake-run.js';

let dir = '';

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-bundle-'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the bundle imports only Node built-ins and the controller modules next to it', () => {
  const text = readFileSync(join(root, 'dist', 'ui', 'mount.js'), 'utf8');
  const specifiers = new Set([...text.matchAll(/(?:\bfrom|\bimport\()\s*["']([^"']+)["']/g)].map((m) => m[1]!));
  const foreign = [...specifiers].filter((s) => !s.startsWith('node:') && !s.startsWith('../'));
  // Ink imports its devtools only when DEV=true; the bundle leaves that one import to the (absent) package.
  expect(foreign).toEqual(['react-devtools-core']);
  expect(text).not.toMatch(/react\.development|react-reconciler\.development/);
});

test('the built dashboard draws a 1,000-host run to its summary, outside any node_modules', () => {
  const events: FleetEvent[] = fleetScript({
    hosts: 1000,
    batchSize: 100,
    runId: 'r-bundle',
    faults: { 3: 'access-denied', 7: 'crash', 11: 'unreachable' },
  });
  // One message the fast text paths do not handle (wide CJK, an emoji, a combining mark): the exact
  // string-width and tokenizer, loaded on first use, must lay it out.
  const odd = events.find((e) => e.type === 'host-done' && e.outcome === 'failed');
  if (odd?.type !== 'host-done') throw new Error('the script has no failed host');
  odd.message = 'Zugriff verweigert: 拒绝访问 ✅ cafe\u0301';
  writeFileSync(join(dir, 'events.json'), JSON.stringify(events));
  writeFileSync(
    join(dir, 'run.mjs'),
    `
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { runDashboard } from './dist/ui/index.js';
const events = JSON.parse(readFileSync(new URL('./events.json', import.meta.url), 'utf8'));
let out = '';
const stdout = new Writable({ write(chunk, _enc, cb) { out += chunk; cb(); } });
Object.assign(stdout, { isTTY: true, columns: 150, rows: 45 });
const stdin = new Readable({ read() {} });
Object.assign(stdin, { isTTY: false });
const listeners = new Set();
let settle;
const handle = {
  subscribe(l) { listeners.add(l); return () => listeners.delete(l); },
  send() {},
  done: new Promise((r) => (settle = r)),
};
const ui = runDashboard(handle, { stdout, stdin, stderr: stdout, exitOnDone: true, color: true });
for (let i = 0; i < events.length; i++) {
  for (const l of listeners) l(events[i]);
  if (events[i].type === 'run-done') settle(events[i]);
  // Let the dashboard draw while the run goes on.
  if (i % 500 === 0) await new Promise((r) => setTimeout(r, 30));
}
const { done } = await ui;
process.stdout.write(JSON.stringify({ out, exitCode: done.exitCode, nodeEnv: process.env.NODE_ENV ?? null }));
`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '1' };
  delete env['NODE_ENV'];
  // Ink draws no live frames in CI (is-in-ci); .ci/run sets CI=true, and this test is about the live frames.
  delete env['CI'];
  delete env['CONTINUOUS_INTEGRATION'];
  const result = JSON.parse(execFileSync(process.execPath, [join(dir, 'run.mjs')], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as {
    out: string;
    exitCode: number;
    nodeEnv: string | null;
  };
  const plain = result.out.replace(/\u001b\[[\d;?]*[A-Za-z]/g, '');
  // Live frames: the header, the state bar and the host table.
  expect(plain).toMatch(/svcfleet apply · run r-bundle/);
  expect(plain).toMatch(/Hosts 1000 · 1-\d+/);
  expect(result.out).toMatch(/\u001b\[3\dm/); // coloured
  // The summary, last, with the odd message intact.
  expect(plain).toMatch(/Run r-bundle \(apply\) finished in/);
  expect(plain).toContain('Zugriff verweigert: 拒绝访问 ✅ cafe\u0301');
  expect(result.exitCode).toBe(2);
  // runDashboard asks for React's production build when nothing else did.
  expect(result.nodeEnv).toBe('production');
}, 120_000);
