/**
 * The public API as a user gets it after `npm install svcfleet`: the packed tarball unpacked into a temp dir's
 * node_modules/svcfleet, imported BY NAME from an ESM script (so `exports` and the shipped files are what is
 * tested), running a plan on two emulated Windows hosts and returning the typed result. A TypeScript consumer
 * compiled against the shipped .d.ts checks that the types a user sees are sane.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argSpec, createLabFleet, writeSpec, type LabFleet } from '../app/fleet/lab-fleet.js';

const root = join(import.meta.dirname, '../..');
let dir: string;
let fleet: LabFleet | undefined;
let app: string;

/** The built package must be newer than the API's sources (npm test builds it through scripts/setup.sh). */
function requireBuilt(): void {
  const dist = join(root, 'dist/index.js');
  const newest = Math.max(...['src/index.ts', 'src/app/plan.ts', 'src/app/run.ts'].map((f) => statSync(join(root, f)).mtimeMs));
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest) throw new Error('this test packs the built package: run `npm run build` first');
}

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-api-'));
  // npm pack without scripts: dist/ is already built; this is what `npm publish` would ship.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })) as {
    filename: string;
  }[];
  app = join(dir, 'app');
  const modules = join(app, 'node_modules');
  mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, packed[0]!.filename), '-C', dir]);
  renameSync(join(dir, 'package'), join(modules, 'svcfleet'));
  // "npm install" of its dependencies: links to this checkout's copies (their own dependencies resolve from there).
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of [...Object.keys(pkg.dependencies), '@types']) {
    const target = join(root, 'node_modules', dep);
    mkdirSync(join(modules, dep, '..'), { recursive: true });
    symlinkSync(target, join(modules, dep), 'dir');
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'api-user', private: true, type: 'module' }));
  fleet = await createLabFleet({ dir: join(dir, 'lab'), count: 2 });
}, 240_000);

afterAll(async () => {
  await fleet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The lab's local transport is not part of the API: the script loads it from the package's files by path. */
function localTransportFile(): string {
  const pkg = join(app, 'node_modules', 'svcfleet', 'dist');
  return [join(pkg, 'lab/transport/index.js'), join(pkg, 'transport/local/index.js')].find(existsSync)!;
}

describe('import { plan } from "svcfleet"', () => {
  it('runs a plan on lab hosts and returns the typed result', () => {
    const spec = writeSpec(fleet!.dir, 'spec.yaml', argSpec('workers', '8'));
    writeFileSync(
      join(app, 'plan.mjs'),
      `import { plan, createTransportRegistry, registerBuiltinTransports, ExitCode, InputError } from 'svcfleet';
import { pathToFileURL } from 'node:url';
const { createLocalTransport } = await import(pathToFileURL(process.env.LOCAL_TRANSPORT).href);
const transports = registerBuiltinTransports(createTransportRegistry());
transports.register('local', () => createLocalTransport({ runner: { mode: 'pool', size: 2 } }));
const events = [];
try {
  const result = await plan(
    { spec: process.env.SPEC, inventory: [process.env.INVENTORY], settings: { journal: process.env.JOURNAL } },
    { env: process.env, cwd: process.cwd(), transports, onEvent: (e) => events.push(e.type) },
  );
  let bad = '';
  try { await plan({ spec: 'missing.yaml', inventory: [process.env.INVENTORY] }, { env: {}, cwd: process.cwd(), transports }); } catch (e) { bad = e instanceof InputError ? 'InputError' : String(e); }
  console.log(JSON.stringify({ exitCode: result.exitCode, ok: ExitCode.ok, runId: result.runId, view: result.view, counts: result.summary.counts, changes: result.summary.changes.map((c) => ({ service: c.service, hosts: c.hosts })), first: events[0], last: events.at(-1), bad }));
} finally {
  await transports.dispose();
}
`,
    );
    const stdout = execFileSync(process.execPath, ['plan.mjs'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, LOCAL_TRANSPORT: localTransportFile(), SPEC: spec, INVENTORY: fleet!.inventory, JOURNAL: fleet!.journal },
      timeout: 120_000,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(r).toMatchObject({
      exitCode: 0,
      ok: 0,
      view: 'none',
      counts: { hosts: 2, change: 2, unchanged: 0, unreachable: 0, error: 0 },
      changes: [{ service: 'AppSvc', hosts: fleet!.names }],
      first: 'run-start',
      last: 'run-done',
      bad: 'InputError',
    });
    expect(r.runId).toMatch(/^\d{8}T\d{6}Z-/);
    // A plan changes nothing, and it was journaled like the command line's.
    expect(readdirSync(join(fleet!.journal, 'runs'))).toContain(r.runId);
  }, 180_000);

  it('ships types a TypeScript user compiles against', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { plan, apply, rollback, resume, retry, loadInventory, loadSpec, ExitCode, type AppContext, type PlanResult, type FleetEvent, type RunResult } from 'svcfleet';
export async function run(ctx: AppContext): Promise<number> {
  const p: PlanResult = await plan({ spec: 'fix.yaml', inventory: ['hosts.ini'] }, ctx);
  const changed: number = p.summary.counts.change;
  const a: RunResult = await apply({ input: 'fix.yaml', inventory: ['hosts.ini'], settings: { concurrency: 5, canary: ['1'] } }, { ...ctx, onEvent: (e: FleetEvent) => void (e.type === 'host-done' && e.outcome) });
  const r = await rollback({ run: a.runId }, ctx);
  await resume({ run: a.runId }, ctx);
  await retry({ run: a.runId, hosts: 'web*' }, ctx);
  const inv = loadInventory({ sources: ['hosts.ini'] });
  const spec = loadSpec('fix.yaml');
  return changed + r.exitCode + inv.hosts.length + spec.services.length + ExitCode.hostsFailed;
}
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    // skipLibCheck off: the shipped .d.ts files themselves must compile (a dangling import there would otherwise
    // silently turn a type into any).
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
  }, 300_000);
});
