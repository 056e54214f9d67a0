/**
 * The import rules of src/ (.dependency-cruiser.cjs, explained in docs/architecture.md): no file-level cycle,
 * imports only down the layer order, the lab off the production path. The first test checks src/ itself; the
 * second runs the same rules on a small tree with deliberate wrong-way imports, so the check cannot pass by
 * checking nothing (a broken config, a resolver that finds no imports, a rule that never matches).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
// One cruise of src/ takes a few seconds alone, much longer on two cores shared with pwsh-heavy suites.
const TIMEOUT = 300_000;

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
  /** no-circular: the modules of the cycle, starting after `from`. */
  cycle?: ({ name: string } | string)[];
}

/** Run depcruise with the repository's rules on `<cwd>/src`; its exit code is the error count, so read stdout. */
async function cruise(cwd: string): Promise<Violation[]> {
  const args = [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'json'];
  const stdout = await promisify(execFile)(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => r.stdout,
    (err: { stdout?: string }) => {
      if (!err.stdout) throw err;
      return err.stdout;
    },
  );
  const result = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  expect(result.summary.totalCruised, 'depcruise found no modules').toBeGreaterThan(0);
  return result.summary.violations;
}

/** `rule: from → to`, and the whole loop for a cycle. */
function describeViolation(v: Violation): string {
  const line = `${v.rule.name}: ${v.from} → ${v.to}`;
  if (!v.cycle?.length) return line;
  return `${line} (cycle: ${[v.from, ...v.cycle.map((c) => (typeof c === 'string' ? c : c.name))].join(' → ')})`;
}

describe('layers of src/', () => {
  it(
    'has no import cycle and no wrong-way import',
    async () => {
      const violations = (await cruise(ROOT)).map(describeViolation);
      expect(violations, `dependency rules broken (see docs/architecture.md):\n${violations.join('\n')}`).toEqual([]);
    },
    TIMEOUT,
  );

  describe('the check itself', () => {
    let dir: string | undefined;
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(
      'reports each deliberate wrong-way import, lab import and cycle by its rule, and nothing allowed',
      async () => {
        dir = await mkdtemp(join(tmpdir(), 'svcfleet-layers-'));
        const files: Record<string, string> = {
          'tsconfig.json': JSON.stringify({
            compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true },
            include: ['src'],
          }),
          'src/util/text.ts': 'export const text = (s: string): string => s;\n',
          // allowed: down the order
          'src/plan/group.ts': "import { text } from '../util/text.js';\nexport const group = text('g');\n",
          'src/report/show.ts': "import { group } from '../plan/group.js';\nexport const show = group;\n",
          // wrong way: the engine reaching up into the journal, by a type-only import
          'src/engine/run.ts': "import type { Journal } from '../journal/store.js';\nexport type Run = Journal;\n",
          'src/journal/store.ts': 'export interface Journal { root: string }\n',
          // a file-level cycle inside one folder
          'src/journal/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
          'src/journal/b.ts': "import { a } from './a.js';\nexport const b = (): number => (a ? 0 : 1);\n",
          // the lab: reachable from src/main.ts dynamically, from nowhere else
          'src/lab/host.ts': 'export const host = 1;\n',
          'src/lab/demo.ts': 'export const demo = 1;\n',
          'src/ui/view.ts': "import { host } from '../lab/host.js';\nexport const view = host;\n",
          'src/cli/main.ts': "import { host } from '../lab/host.js';\nexport const cli = host;\n",
          'src/main.ts': "import { host } from './lab/host.js';\nexport const main = host;\nexport const demo = () => import('./lab/demo.js');\n",
          'src/app/plan.ts': "import { cli } from '../cli/main.js';\nexport const plan = cli;\n",
        };
        for (const [path, text] of Object.entries(files)) {
          await mkdir(dirname(join(dir, path)), { recursive: true });
          await writeFile(join(dir, path), text);
        }

        const violations = await cruise(dir);
        const found = violations
          .filter((v) => v.rule.name !== 'no-circular')
          .map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)
          .sort();
        expect(found).toEqual(
          [
            'app-must-not-import-cli: src/app/plan.ts → src/cli/main.ts',
            'cli-must-not-import-lab: src/cli/main.ts → src/lab/host.ts',
            'engine-must-not-import-journal: src/engine/run.ts → src/journal/store.ts',
            'main-may-import-lab-only-dynamically: src/main.ts → src/lab/host.ts',
            'only-lab-may-import-lab: src/ui/view.ts → src/lab/host.ts',
          ].sort(),
        );
        // A cycle is reported once, from whichever of its files the cruise reached first.
        const cycles = violations.filter((v) => v.rule.name === 'no-circular');
        expect(cycles).toHaveLength(1);
        const loop = describeViolation(cycles[0]!);
        expect(loop).toMatch(/\(cycle: src\/journal\/(a|b)\.ts → src\/journal\/(a|b)\.ts → src\/journal\/(a|b)\.ts\)$/);
        expect(loop).toContain('src/journal/a.ts');
        expect(loop).toContain('src/journal/b.ts');
      },
      TIMEOUT,
    );
  });
});
