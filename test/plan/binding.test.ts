import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostBinding, inventoryDigest, verifyPlanBinding } from '../../src/plan/binding.js';
import { checkExpectedDigest, parseExpectedDigest, stableJson } from '../../src/plan/digest.js';
import { parsePlanFile, type PlanDraft, type PlanFile, serializePlan, toPlanService } from '../../src/plan/planfile.js';
import type { HostSpec } from '../../src/inventory/types.js';
import { parseSpec } from '../../src/spec/load.js';
import { renderHostRequests } from '../../src/spec/render.js';
import { Secret } from '../../src/util/secret.js';
import { expectInputError, tmpTree } from '../inventory/helpers.js';

const host = (name: string, vars: Record<string, unknown> = {}, address = '10.0.0.1'): HostSpec => ({
  name,
  groups: ['web'],
  vars: { port: 8080, ...vars },
  connection: { transport: 'winrm', address, user: 'admin', password: new Secret('pw') },
});

describe('plan digest', () => {
  it('is the same for the same content in any key order, and never shows a secret', () => {
    expect(stableJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
    expect(stableJson({ pw: new Secret('hunter2') })).toBe('{"pw":"[secret]"}');
  });

  it('--expect-digest takes the short (12) or full (64) hex form, in any case', () => {
    const d = 'ab'.repeat(32);
    expect(() => checkExpectedDigest(d, 'ABABABABABAB', 'p.json')).not.toThrow();
    expect(() => checkExpectedDigest(d, d, 'p.json')).not.toThrow();
    expectInputError(() => checkExpectedDigest(d, 'abababababac', 'p.json'), { file: 'p.json', field: '--expect-digest' }, /not the expected/);
    for (const bad of ['', 'abab', 'g'.repeat(12), 'a'.repeat(13)])
      expectInputError(() => parseExpectedDigest(bad), { field: '--expect-digest' }, /12 or 64 hex/);
  });
});

describe('host binding', () => {
  it('covers the connection and variables, never a password or a secret-looking value', () => {
    const base = hostBinding(host('web01'));
    expect(hostBinding({ ...host('web01'), connection: { ...host('web01').connection, password: new Secret('other') } })).toEqual(base);
    expect(hostBinding(host('web01', {}, '10.0.0.2')).connection).not.toBe(base.connection);
    // Not a secret although the name says "key": weakening host key checking must count.
    const checking = (mode: 'strict' | 'accept-new') =>
      hostBinding({ ...host('web01'), connection: { ...host('web01').connection, ssh: { hostKeyPolicy: mode } } });
    expect(checking('strict').connection).not.toBe(checking('accept-new').connection);
    expect(hostBinding(host('web01', { extra: 1 })).vars).not.toBe(base.vars);
    // A digest of a short password could be guessed: a secret's value is left out, its presence counts.
    const withSecret = hostBinding(host('web01', { db_password: 'a' }));
    expect(withSecret.vars).not.toBe(base.vars);
    expect(hostBinding(host('web01', { db_password: 'b' }))).toEqual(withSecret);
    expect(hostBinding(host('web01', { x: new Secret('a') }))).toEqual(hostBinding(host('web01', { x: new Secret('b') })));
  });
});

describe('verifyPlanBinding', () => {
  const dir = tmpTree({});
  const text = `service: Svc
set:
  binaryPath: 'C:\\app\\svc.exe --port {{ port }}'
  account: { name: '.\\svc', password: { env: SVC_PW } }
  environment: { DB_PASSWORD: '{{ port }}-x', PLAIN: 'y' }
verify: { port: '{{ port }}' }
`;
  const spec = parseSpec(text, join(dir, 'spec.yml'));
  const hosts = [host('web01'), host('web02', { port: 8081 })];
  const binds = hosts.map((h) => ({ host: h.name, bind: hostBinding(h) }));
  const draft: PlanDraft = {
    kind: 'svcfleet-plan',
    version: 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    spec: { file: spec.file, digest: spec.digest },
    inventory: { sources: ['/inv.yml'], digest: inventoryDigest(binds) },
    hosts: hosts.map((h) => ({ host: h.name, status: 'change', bind: hostBinding(h), services: renderHostRequests(spec, h).map((r) => toPlanService(r, {})) })),
  };
  const saved = (): PlanFile => parsePlanFile(serializePlan(draft), join(dir, 'plan.json'));
  const check = (plan: PlanFile, now: HostSpec[] = hosts) => verifyPlanBinding({ file: 'plan.json', plan, spec, hosts: now });

  it('accepts the plan its spec and inventory give, sealed values included', () => {
    const plan = saved();
    expect(plan.hosts[0]!.services[0]!.request.desired!.environment).toEqual({ DB_PASSWORD: '[SEALED]', PLAIN: 'y' });
    expect(() => check(plan)).not.toThrow();
  });

  it('names the host and field of any difference', () => {
    const cases: [(p: PlanFile) => void, RegExp, string][] = [
      [
        (p) => void (p.hosts[1]!.services[0]!.request.verify!.port = 9999),
        /^web02: verify\.port differs from the plan/,
        'hosts[1].services[0].request.verify.port',
      ],
      [
        (p) => void (p.hosts[0]!.services[0]!.request.desired!.environment = { PLAIN: 'y' }),
        /^web01: environment\.DB_PASSWORD differs/,
        'hosts[0].services[0].request.desired.environment.DB_PASSWORD',
      ],
      [(p) => void (p.hosts[0]!.services[0]!.passwordRef = { file: '/etc/shadow' }), /^web01: passwordRef differs/, 'hosts[0].services[0].passwordRef'],
      [(p) => void delete p.hosts[0]!.services[0]!.passwordRef, /^web01: passwordRef differs/, 'hosts[0].services[0].passwordRef'],
      [(p) => void (p.hosts[0]!.services[0]!.request.restart = 'never'), /^web01: restart differs/, 'hosts[0].services[0].request.restart'],
      [(p) => void (p.hosts[0]!.services[0]!.service = 'Other'), /^web01: service "Other" differs/, 'hosts[0].services[0].service'],
      [(p) => void p.hosts[0]!.services.push(p.hosts[0]!.services[0]!), /^web01: the plan has 2 services, the spec 1/, 'hosts[0].services'],
    ];
    for (const [edit, message, field] of cases) {
      const plan = saved();
      edit(plan);
      expectInputError(() => check(plan), { field, host: field.startsWith('hosts[1]') ? 'web02' : 'web01' }, message);
    }
  });

  it('refuses another spec, other hosts, another inventory, and an edit elsewhere in the file', () => {
    expectInputError(
      () => check({ ...saved(), spec: { ...saved().spec, digest: 'f'.repeat(64) } }),
      { file: spec.file },
      /spec changed since the plan was made/,
    );
    expectInputError(() => check(saved(), [hosts[0]!]), { host: 'web02' }, /no longer selects hosts of the plan: web02/);
    expectInputError(() => check(saved(), [...hosts, host('web03')]), { host: 'web03' }, /selects hosts the plan does not have: web03/);
    expectInputError(
      () => check(saved(), [host('web01', {}, '10.9.9.9'), hosts[1]!]),
      { host: 'web01', field: 'hosts[0].bind.connection' },
      /connection settings/,
    );
    expectInputError(() => check(saved(), [hosts[0]!, host('web02', { port: 8081, x: 1 })]), { host: 'web02', field: 'hosts[1].bind.vars' }, /variables/);
    expectInputError(() => check({ ...saved(), createdAt: 'yesterday' }), { field: 'digest' }, /plan file was edited/);
    const p = saved();
    p.inventory.digest = 'a'.repeat(64);
    expectInputError(() => check(p), { field: 'digest' }, /plan file was edited/);
  });
});
