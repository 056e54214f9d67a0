/**
 * The lab (emulated Windows hosts, src/lab) stays off the production path: the built CLI (bin/svcfleet.js, as a
 * user runs it) loads no module under dist/lab/ for `plan --help`, nor for a `plan` or an `apply` on an inventory
 * of real (non-lab) hosts. The lab loads only through the dynamic imports of the `lab` and `demo` commands and
 * of the lab's `local` transport. Each command runs under a module hook (fixtures/record-loads.mjs) that logs
 * every module loaded and who imported it; a failure names the imports that pulled the lab in.
 *
 * Also checked: the build puts every file of src/ that tsc does not compile (the emulated SCM's PowerShell, C#,
 * service program and powershell.exe shim) next to its module in dist/, so the built CLI never reads src/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { reservePorts } from '../../../src/lab/fleet/ports.js';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(root, 'bin', 'svcfleet.js');
const recorder = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'record-loads.mjs');
const distUrl = pathToFileURL(join(root, 'dist')).href + '/';
const labUrl = `${distUrl}lab/`;
let dir: string;

function filesUnder(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(d, e.name)) : e.isFile() ? [join(d, e.name)] : []));
}
const isCompiled = (f: string) => /\.(ts|tsx)$/.test(f);

/** dist/ must be the build of these sources: every compiled module present and not older than its source. */
function requireFreshBuild(): void {
  const stale = filesUnder(join(root, 'src'))
    .filter((f) => isCompiled(f) && !f.endsWith('.d.ts'))
    .filter((f) => {
      const out = join(root, 'dist', relative(join(root, 'src'), f)).replace(/\.tsx?$/, '.js');
      return !existsSync(out) || statSync(out).mtimeMs < statSync(f).mtimeMs;
    });
  if (stale.length) {
    throw new Error(`this test runs the built CLI and dist/ is missing or older than ${relative(root, stale[0]!)}: run \`npm run build\``);
  }
}

interface Loads {
  /** dist-relative paths of the modules loaded (e.g. cli/main.js). */
  loaded: string[];
  /** "importer → module" for every import from outside dist/lab/ that resolved into it. */
  labEntries: string[];
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with the module recorder and returns what it loaded. */
async function svcfleet(name: string, args: string[]): Promise<Loads> {
  const log = join(dir, `${name}.loads`);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    XDG_STATE_HOME: join(dir, 'state'),
    SVCFLEET_LOAD_LOG: log,
    PRODPATH_PASSWORD: 'not-a-real-password',
  };
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(recorder).href, cli, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  const lines = existsSync(log) ? (await readFile(log, 'utf8')).split('\n').filter(Boolean) : [];
  const short = (url: string) => (url.startsWith(distUrl) ? `dist/${url.slice(distUrl.length)}` : url);
  const loaded = lines
    .filter((l) => l.startsWith('load\t'))
    .map((l) => l.slice(5))
    .filter((u) => u.startsWith(distUrl))
    .map((u) => u.slice(distUrl.length));
  const labEntries = lines
    .filter((l) => l.startsWith('resolve\t'))
    .map((l) => l.split('\t') as [string, string, string])
    .filter(([, from, to]) => to.startsWith(labUrl) && !from.startsWith(labUrl))
    .map(([, from, to]) => `${short(from)} → ${short(to)}`);
  return { loaded, labEntries: [...new Set(labEntries)], status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectNoLab(r: Loads): void {
  const lab = r.loaded.filter((m) => m.startsWith('lab/'));
  expect(lab, `lab modules loaded (${lab.length}), pulled in by:\n  ${r.labEntries.join('\n  ')}\n`).toEqual([]);
}

/** A loopback port nothing listens on (claimed, so nothing else binds it): the ssh host is refused at once. */
async function closedPort(): Promise<number> {
  return (await reservePorts(1))[0]!;
}

beforeAll(async () => {
  requireFreshBuild();
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-prodpath-'));
  await writeFile(
    join(dir, 'hosts.yml'),
    [
      'kind: svcfleet-inventory',
      'version: 1',
      'hosts:',
      `  web01: { transport: ssh, address: 127.0.0.1, port: ${await closedPort()}, user: Administrator, password: { env: PRODPATH_PASSWORD } }`,
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'fix.yml'), 'service: AppSvc\nset:\n  description: Payments API\n');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the built CLI carries its own assets', () => {
  test('every file of src/ that tsc does not compile sits at the same path in dist/, same bytes and mode', () => {
    const assets = filesUnder(join(root, 'src')).filter((f) => !isCompiled(f));
    expect(assets.map((f) => relative(root, f))).toContain('src/lab/scm/EmulatedScm.psm1');
    for (const f of assets) {
      const out = join(root, 'dist', relative(join(root, 'src'), f));
      expect(existsSync(out), `${relative(root, out)} is missing`).toBe(true);
      expect(readFileSync(out).equals(readFileSync(f)), `${relative(root, out)} differs from its source`).toBe(true);
      expect((statSync(out).mode & 0o777).toString(8), relative(root, out)).toBe((statSync(f).mode & 0o777).toString(8));
    }
  });
});

describe('the production path loads no lab module', () => {
  test('the recorder sees the lab when a lab command runs (control)', async () => {
    const r = await svcfleet('lab-up-help', ['lab', 'up', '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.loaded).toContain('lab/cli/fleet.js');
  });

  test('svcfleet plan --help', async () => {
    const r = await svcfleet('plan-help', ['plan', '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: svcfleet plan/);
    expect(r.loaded.length).toBeGreaterThan(0);
    expectNoLab(r);
  });

  test('svcfleet plan on an inventory of ssh hosts (unreachable)', async () => {
    const r = await svcfleet('plan', ['plan', 'fix.yml', '-i', 'hosts.yml', '--journal', 'journal', '--retries', '0', '--ui', 'plain']);
    expect(r.stdout).toMatch(/web01 unreachable/);
    expect(r.status).toBe(2);
    expectNoLab(r);
  });

  test('svcfleet apply on an inventory of ssh hosts (unreachable)', async () => {
    const r = await svcfleet('apply', ['apply', 'fix.yml', '-i', 'hosts.yml', '--journal', 'journal', '--retries', '0', '--ui', 'plain']);
    expect(r.stdout).toMatch(/web01 unreachable/);
    expect(r.status).toBe(2);
    expectNoLab(r);
  });
});
