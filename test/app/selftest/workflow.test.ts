/**
 * .github/workflows/windows.yml cannot run here. This checks what can be checked on Linux: it is one YAML document
 * with the shape GitHub Actions reads (the keys and value kinds of the workflow syntax reference,
 * https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions), and it runs what
 * docs/selftest.md says it runs: Windows Server 2022 and 2025, Node 20, the engine in powershell.exe and pwsh, over
 * the OpenSSH server to the runner itself, `svcfleet selftest` with a JUnit report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

const file = join(import.meta.dirname, '..', '..', '..', '.github', 'workflows', 'windows.yml');
const text = readFileSync(file, 'utf8');

const step = z
  .strictObject({
    name: z.string().optional(),
    uses: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+@v\d+$/)
      .optional(),
    run: z.string().optional(),
    if: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    with: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    shell: z.string().optional(),
  })
  .refine((s) => (s.uses === undefined) !== (s.run === undefined), 'a step has exactly one of uses and run');

const workflow = z.strictObject({
  name: z.string(),
  on: z.strictObject({
    workflow_dispatch: z.null().optional(),
    push: z.strictObject({ branches: z.array(z.string()) }).optional(),
    pull_request: z.null().optional(),
  }),
  permissions: z.record(z.string(), z.enum(['read', 'write', 'none'])),
  concurrency: z.strictObject({ group: z.string(), 'cancel-in-progress': z.boolean() }),
  jobs: z.record(
    z.string().regex(/^[A-Za-z_][\w-]*$/),
    z.strictObject({
      name: z.string(),
      'runs-on': z.string(),
      'timeout-minutes': z.number().int().positive(),
      strategy: z.strictObject({ 'fail-fast': z.boolean(), matrix: z.record(z.string(), z.array(z.string())) }),
      defaults: z.strictObject({ run: z.strictObject({ shell: z.enum(['pwsh', 'powershell', 'bash', 'cmd']) }) }),
      steps: z.array(step).min(1),
    }),
  ),
});

describe('.github/workflows/windows.yml', () => {
  const docs = parseAllDocuments(text);

  it('is one YAML document without errors or warnings, with no tabs', () => {
    expect(docs).toHaveLength(1);
    const doc = docs[0]!;
    expect('errors' in doc ? doc.errors : []).toEqual([]);
    expect('warnings' in doc ? doc.warnings : []).toEqual([]);
    expect(text).not.toMatch(/\t/);
  });

  const wf = (docs[0] as { toJS(): unknown }).toJS() as z.infer<typeof workflow>;

  it('has the shape of a GitHub Actions workflow (known keys only, right kinds)', () => {
    const r = workflow.safeParse(wf);
    expect(r.success ? [] : r.error.issues).toEqual([]);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, meant literally
  it('every ${{ }} expression names a known context', () => {
    const exprs = [...text.matchAll(/\$\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]!);
    expect(exprs.length).toBeGreaterThan(0);
    for (const e of exprs) expect(e).toMatch(/^(matrix\.(os|shell)|github\.ref)$/);
  });

  it('runs selftest on Server 2022 and 2025, Node 20, engine in powershell.exe and pwsh, over OpenSSH to itself', () => {
    const job = wf.jobs['selftest']!;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, meant literally
    expect(job['runs-on']).toBe('${{ matrix.os }}');
    expect(job.strategy.matrix).toEqual({ os: ['windows-2022', 'windows-2025'], shell: ['powershell.exe', 'pwsh'] });
    const uses = job.steps.map((s) => s.uses).filter(Boolean);
    expect(uses).toEqual(['actions/checkout@v4', 'actions/setup-node@v4', 'actions/upload-artifact@v4']);
    expect(job.steps.find((s) => s.uses === 'actions/setup-node@v4')?.with?.['node-version']).toBe(20);
    const runs = job.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('Add-WindowsCapability -Online -Name $cap.Name');
    expect(runs).toContain('administrators_authorized_keys');
    expect(runs).toContain('ssh: { shell: $env:REMOTE_SHELL');
    expect(runs).toContain('node bin/svcfleet.js selftest -i selftest-inventory.yml --limit runner --junit selftest-junit.xml');
  });

  it('says in its header that it has never run', () => {
    expect(text.split('\n').slice(0, 20).join('\n')).toMatch(/NEVER RUN YET/);
  });
});
