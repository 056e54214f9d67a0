import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { argsDelta, formatPlanSummary, groupPlan, planHeadline, type PlanEntry } from '../../src/plan/group.js';
import {
  loadPlanFile,
  parsePlanFile,
  planHostTask,
  resolvePlanSecrets,
  serializePlan,
  toPlanService,
  planDigest,
  unsealPlanHost,
  type PlanDraft,
} from '../../src/plan/planfile.js';
import { parseSpec } from '../../src/spec/load.js';
import { renderHostRequests } from '../../src/spec/render.js';
import { Secret } from '../../src/util/secret.js';
import { expectInputError, tmpTree } from '../inventory/helpers.js';

const change = (before: string, after: string) => [{ field: 'binaryPath', before, after, restartNeeded: true }];
const bind = { connection: 'c'.repeat(64), vars: 'd'.repeat(64) };

describe('plan grouping', () => {
  const entries: PlanEntry[] = [
    ...Array.from(
      { length: 184 },
      (_, i): PlanEntry => ({
        host: `web${String(i + 1).padStart(3, '0')}`,
        service: 'Svc',
        status: 'planned',
        diff: change('A', 'B'),
        configHash: 'h',
      }),
    ),
    { host: 'db1', service: 'Svc', status: 'planned', diff: [], configHash: 'h' },
    { host: 'db2', service: 'Svc', status: 'planned', diff: [], configHash: 'h' },
    { host: 'db3', service: 'Svc', status: 'planned', diff: [], configHash: 'h' },
    { host: 'edge7', status: 'unreachable', message: 'connection refused' },
    { host: 'edge9', status: 'unreachable', message: 'connection refused' },
    { host: 'odd1', service: 'Svc', status: 'error', message: 'access denied', code: 'win32' },
  ];

  it('groups identical diffs with folded host ranges: "184 hosts: binaryPath A → B; 3 unchanged; 2 unreachable"', () => {
    const s = groupPlan(entries);
    expect(s.changes).toHaveLength(1);
    expect(s.changes[0]).toMatchObject({ service: 'Svc', folded: 'web[001-184]', restartNeeded: true });
    expect(s.changes[0]!.hosts).toHaveLength(184);
    expect(s.unchanged).toEqual([{ service: 'Svc', hosts: ['db1', 'db2', 'db3'], folded: 'db[1-3]' }]);
    expect(s.unreachable).toEqual([{ message: 'connection refused', hosts: ['edge7', 'edge9'], folded: 'edge[7,9]' }]);
    expect(s.counts).toEqual({ hosts: 190, change: 184, unchanged: 3, unreachable: 2, error: 1 });
    expect(planHeadline(s)).toBe('184 hosts to change, 3 unchanged, 2 unreachable, 1 error');
    expect(formatPlanSummary(s)).toEqual([
      'Svc on 184 hosts web[001-184]: (restart needed)',
      '  binaryPath: "A" → "B"',
      'Svc unchanged on 3 hosts db[1-3]',
      'unreachable: edge[7,9]: connection refused (2)',
      'error: odd1: [win32] access denied (1)',
      '184 hosts to change, 3 unchanged, 2 unreachable, 1 error',
    ]);
  });

  it('treats diffs in another field order as identical, and summarises many distinct diffs per field', () => {
    const a = { field: 'a', before: 1, after: 2, restartNeeded: false };
    const b = { field: 'b', before: { x: 1, y: 2 }, after: null, restartNeeded: false };
    const b2 = { field: 'b', before: { y: 2, x: 1 }, after: null, restartNeeded: false };
    const s = groupPlan([
      { host: 'h1', service: 'S', status: 'planned', diff: [a, b], configHash: 'x' },
      { host: 'h2', service: 'S', status: 'planned', diff: [b2, a], configHash: 'y' },
    ]);
    expect(s.changes).toHaveLength(1);
    const many = groupPlan(
      Array.from({ length: 30 }, (_, i): PlanEntry => ({ host: `n${i}`, service: 'S', status: 'planned', diff: change('old', `new${i}`), configHash: 'h' })),
    );
    const lines = formatPlanSummary(many, { maxGroups: 3 });
    expect(lines).toContain('… 27 more distinct changes on 27 hosts');
    expect(lines).toContain('  S binaryPath: 30 different values on 30 hosts');
    expect(
      formatPlanSummary(
        groupPlan([
          {
            host: 'h',
            service: 'S',
            status: 'planned',
            diff: [{ field: 'failure.actions', before: [], after: [{ type: 'restart', delayMs: 60000 }], restartNeeded: false }],
            configHash: 'h',
          },
        ]),
      )[1],
    ).toBe('  failure.actions: [] → [restart/60000]');
  });
});

describe('plan grouping of templated binary paths', () => {
  const exe = '"C:\\Program Files\\MyGo\\myapp.exe"';
  const host = (i: number, before: string, after: string): PlanEntry => ({
    host: `web${String(i).padStart(3, '0')}`,
    service: 'MyGo',
    status: 'planned',
    diff: [
      { field: 'binaryPath', before: `${exe} ${before}`, after: `${exe} ${after}`, restartNeeded: true },
      { field: 'description', before: '', after: 'Payments API', restartNeeded: false },
    ],
    configHash: String(i),
  });

  it('folds hosts whose command lines differ (a per-host port) but change the same way into one group, as an argument delta', () => {
    const s = groupPlan(Array.from({ length: 500 }, (_, i) => host(i + 1, `--port ${18000 + i}`, `--port ${18000 + i} --workers 8`)));
    expect(s.changes).toHaveLength(1);
    expect(formatPlanSummary(s)).toEqual([
      'MyGo on 500 hosts web[001-500]: (restart needed)',
      '  binaryPath: arguments adds --workers 8 (executable unchanged; 500 distinct command lines)',
      '  description: "" → "Payments API"',
      '500 hosts to change, 0 unchanged',
    ]);
  });

  it('keeps the flag a changed value belongs to, shows removals, and quotes arguments with spaces', () => {
    const s = groupPlan([
      host(1, '--port 1 --workers 4 --verbose', '--port 1 --workers 8 --config "C:\\x y.yaml"'),
      host(2, '--port 2 --workers 4 --verbose', '--port 2 --workers 8 --config "C:\\x y.yaml"'),
      host(3, '--port 3 --verbose', '--port 3'),
      host(4, '--port 4 --verbose', '--port 4'),
    ]);
    expect(formatPlanSummary(s).filter((l) => l.includes('binaryPath'))).toEqual([
      '  binaryPath: arguments --workers 4 --verbose → --workers 8 --config "C:\\x y.yaml" (executable unchanged; 2 distinct command lines)',
      '  binaryPath: arguments removes --verbose (executable unchanged; 2 distinct command lines)',
    ]);
  });

  it('shows the exact values when every host of a group has them, and a new executable as before → after', () => {
    const same = groupPlan([host(1, '--a', '--a --b'), host(2, '--a', '--a --b')]);
    expect(formatPlanSummary(same)[1]).toBe(`  binaryPath: ${JSON.stringify(`${exe} --a`)} → ${JSON.stringify(`${exe} --a --b`)}`);
    const moved = groupPlan([
      {
        host: 'h1',
        service: 'S',
        status: 'planned',
        diff: [{ field: 'binaryPath', before: 'C:\\a\\old.exe --p 1', after: 'C:\\b\\new.exe --p 1', restartNeeded: true }],
        configHash: 'x',
      },
      {
        host: 'h2',
        service: 'S',
        status: 'planned',
        diff: [{ field: 'binaryPath', before: 'C:\\a\\old.exe --p 2', after: 'C:\\b\\new.exe --p 2', restartNeeded: true }],
        configHash: 'y',
      },
    ]);
    expect(moved.changes).toHaveLength(2);
    expect(argsDelta('C:\\a\\old.exe --p 1', 'C:\\b\\new.exe --p 1')).toBeUndefined();
    expect(argsDelta('"C:\\A B\\x.exe" -x', '"c:\\a b\\X.EXE" -x -y')).toEqual({ removed: [], added: ['-y'] });
  });
});

describe('saved plans', () => {
  const dir = tmpTree({});
  const spec = parseSpec(
    "service: Svc\nset:\n  binaryPath: 'C:\\app\\svc.exe --port {{ p }}'\n  account: { name: '.\\svc', password: { env: PW } }\n",
    join(dir, 'spec.yml'),
  );
  const [req] = renderHostRequests(spec, { name: 'web01', vars: { p: 8081 } });
  const plan: PlanDraft = {
    kind: 'svcfleet-plan',
    version: 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    spec: { file: spec.file, digest: spec.digest },
    inventory: { sources: ['/inv/hosts.ini'], limit: 'web', digest: 'e'.repeat(64) },
    hosts: [{ host: 'web01', status: 'change', bind, services: [toPlanService(req!, { configHash: 'abc123', diff: change('old', 'new') })] }],
  };

  it('round-trips, never holds a password, and gives the engine its task with the drift guard', async () => {
    const text = serializePlan(plan);
    expect(text).not.toContain('password"');
    const back = parsePlanFile(text, join(dir, 'plan.json'));
    expect(back).toEqual({ ...plan, digest: planDigest(plan) });
    expect(Object.keys(JSON.parse(text)).slice(0, 3)).toEqual(['kind', 'version', 'digest']);
    const secrets = await resolvePlanSecrets(back, { env: { PW: 'pw1' }, baseDir: dir });
    const task = planHostTask(back.hosts[0]!, secrets);
    expect(task.plannedHashes).toEqual({ Svc: 'abc123' });
    expect(task.changes[0]!.desired!.binaryPath).toBe('C:\\app\\svc.exe --port 8081');
    expect((task.changes[0]!.desired!.account!.password as Secret).reveal()).toBe('pw1');
    expect(() => planHostTask(back.hosts[0]!)).toThrow(/not resolved/);
  });

  it('refuses to save a resolved password', () => {
    const withSecret = { ...req!, desired: { ...req!.desired, account: { name: 'x', password: new Secret('pw') } } };
    expect(() => toPlanService(withSecret, {})).toThrow(/must not hold a password/);
  });

  it('loads with clear errors: file, line, field', () => {
    const files = tmpTree({
      'other.json': '{"kind": "something"}',
      'bad.json': serializePlan(plan).replace('"status": "change"', '"status": "maybe"'),
      'dup.json': JSON.stringify({ ...plan, digest: 'a'.repeat(64), hosts: [plan.hosts[0], plan.hosts[0]] }, null, 2),
      'typo.json': serializePlan(plan).replace('"createdAt"', '"created"'),
    });
    expectInputError(() => loadPlanFile(join(files, 'other.json')), { field: 'kind' }, /not a svcfleet plan/);
    const bad = expectInputError(() => loadPlanFile(join(files, 'bad.json')), { file: join(files, 'bad.json'), field: 'hosts[0].status' });
    expect(bad.where.line).toBeGreaterThan(10);
    expectInputError(() => loadPlanFile(join(files, 'dup.json')), { host: 'web01' }, /twice/);
    expectInputError(() => loadPlanFile(join(files, 'typo.json')), { field: 'createdAt' }, /also .*field created: unknown key "created"/);
    expectInputError(() => loadPlanFile(join(files, 'missing.json')), { file: join(files, 'missing.json') }, /ENOENT/);
    const v1 = tmpTree({ 'v1.json': serializePlan(plan).replace('"version": 2', '"version": 1') });
    expectInputError(() => loadPlanFile(join(v1, 'v1.json')), { field: 'version' }, /older svcfleet .*make the plan again/);
  });
});

describe('secrets in saved plans', () => {
  const dir = tmpTree({});
  const specText = `service: Svc
set:
  environment: { DB_PASSWORD: 'pw-{{ db_pw }}', Api_Token: literal-token, SIGNING_KEY: k3y, db_pwd: p, MyCredential: c, PLAIN: '{{ db_pw }}' }
`;
  const specFile = join(dir, 'spec.yml');
  writeFileSync(specFile, specText);
  const spec = parseSpec(specText, specFile);
  const web01 = { name: 'web01', vars: { db_pw: 'hunter2' } };
  const [req] = renderHostRequests(spec, web01);
  const env = (v: string) => ({ DB_PASSWORD: v, Api_Token: v, SIGNING_KEY: v, db_pwd: v, MyCredential: v, PLAIN: 'hunter2' });
  const plan: PlanDraft = {
    kind: 'svcfleet-plan',
    version: 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    spec: { file: spec.file, digest: spec.digest },
    inventory: { sources: ['/inv/hosts.ini'], digest: 'e'.repeat(64) },
    hosts: [
      {
        host: 'web01',
        status: 'change',
        bind,
        services: [
          toPlanService(req!, {
            diff: [{ field: 'environment', before: { DB_PASSWORD: 'old-secret', PLAIN: 'x' }, after: req!.desired!.environment, restartNeeded: true }],
          }),
        ],
      },
    ],
  };

  it('seals secret-looking environment values (request and diff) in the file', () => {
    const text = serializePlan(plan);
    for (const secret of ['pw-hunter2', 'literal-token', 'k3y', '"p"', '"c"', 'old-secret']) expect(text).not.toContain(secret);
    const back = parsePlanFile(text, join(dir, 'plan.json'));
    expect(back.hosts[0]!.services[0]!.request.desired!.environment).toEqual(env('[SEALED]'));
    expect(back.hosts[0]!.services[0]!.diff![0]!.before).toEqual({ DB_PASSWORD: '[SEALED]', PLAIN: 'x' });
  });

  it('never sends a sealed value: apply fills it in again from the unchanged spec, or refuses', () => {
    const back = parsePlanFile(serializePlan(plan), join(dir, 'plan.json'));
    expectInputError(() => planHostTask(back.hosts[0]!), { host: 'web01' }, /sealed/);
    const task = planHostTask(unsealPlanHost(back, back.hosts[0]!, web01));
    expect(task.changes[0]!.desired!.environment).toEqual(req!.desired!.environment);
    expect(req!.desired!.environment).toMatchObject({ DB_PASSWORD: 'pw-hunter2', Api_Token: 'literal-token', PLAIN: 'hunter2' });
    const edited = { ...back, spec: { ...back.spec, digest: 'f'.repeat(64) } };
    expectInputError(() => unsealPlanHost(edited, back.hosts[0]!, web01), { host: 'web01' }, /changed since the plan was made/);
  });

  it('cannot hold a value that came from a Secret', () => {
    const secretVar = parseSpec("service: Svc\nset:\n  environment: { X: '{{ db_password }}' }\n", specFile);
    expectInputError(() => renderHostRequests(secretVar, { name: 'web01', vars: { db_password: new Secret('s3') } }), { host: 'web01' }, /holds a secret/);
    const leaked = { ...plan, hosts: [{ ...plan.hosts[0]!, message: new Secret('s3') as unknown as string }] };
    expect(() => serializePlan(leaked)).toThrow(/must not hold a secret/);
  });
});
