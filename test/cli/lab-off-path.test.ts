/**
 * The lab stays off the production path: `svcfleet plan --help` and an apply on an inventory without lab hosts
 * load no module from dist/lab (nor the lab's local transport). Runs the built CLI with an ESM load hook that
 * lists every dist/ module Node loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireBuiltCli } from '../fleet/lab-fleet.js';

const root = join(import.meta.dirname, '../..');
let dir: string;

beforeAll(() => {
  requireBuiltCli();
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-laboff-'));
  writeFileSync(
    join(dir, 'hook.mjs'),
    `export async function load(url, context, next) {
  if (url.includes('/dist/')) process.stderr.write('LOADED ' + url.slice(url.indexOf('/dist/') + 6) + '\\n');
  return next(url, context);
}
`,
  );
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});\n`);
  // One ssh host on a closed loopback port: unreachable at once, without any lab code.
  writeFileSync(
    join(dir, 'inventory.yaml'),
    `kind: svcfleet-inventory
version: 1
defaults: { transport: ssh, user: deploy, password: { env: LABOFF_PW } }
hosts:
  web01: { address: 127.0.0.1, port: 1 }
`,
  );
  writeFileSync(join(dir, 'spec.yaml'), `service: AppSvc\nset:\n  description: new\n`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function loaded(args: string[]): { modules: string[]; code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), join(root, 'bin/svcfleet.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, LABOFF_PW: 'x', CI: '1' },
    timeout: 60_000,
  });
  const modules = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
  return { modules, code: r.status, stderr: r.stderr };
}

const labModules = (modules: string[]): string[] => modules.filter((m) => m.startsWith('lab/') || m.startsWith('transport/local/'));

it('plan --help loads no lab module', () => {
  const r = loaded(['plan', '--help']);
  expect(r.code).toBe(0);
  expect(r.modules).toContain('main.js');
  expect(labModules(r.modules)).toEqual([]);
});

it('an apply on an inventory without lab hosts loads no lab module', () => {
  const r = loaded(['apply', 'spec.yaml', '-i', 'inventory.yaml', '--journal', join(dir, 'journal'), '--output', 'plain', '--retries', '0']);
  expect(r.code, r.stderr).toBe(2);
  expect(r.modules).toContain('app/apply.js');
  expect(labModules(r.modules)).toEqual([]);
});

it('svcfleet lab --help does load the lab commands', () => {
  const r = loaded(['lab', '--help']);
  expect(r.code).toBe(0);
  expect(r.modules).toContain('lab/cli/index.js');
});
