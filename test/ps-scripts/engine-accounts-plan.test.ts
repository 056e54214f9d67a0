/**
 * Accounts in plans: the real engine on an emulated host. A plan never carries a password (the request says
 * passwordAtApply instead), plan and apply agree on what changes, and a password is written only with a new
 * account or when the request asks for a rotation - never on every run (docs/spec.md "Accounts").
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabRunner } from '../../src/lab/runner/index.js';
import { freePort, LabRig, pool, type RigRun } from './lab-rig.js';

let runner: LabRunner;
let rig: LabRig;
const port: Record<string, number> = {};
const app = (p: number) => `"C:\\Program Files\\App\\app.exe" --port ${p}`;
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

beforeAll(async () => {
  for (const k of ['fresh', 'keep', 'rot']) port[k] = await freePort();
  runner = pool('Legacy', 1);
  await runner.warm();
  rig = await LabRig.create(runner, {
    services: [
      { name: 'Fresh', binaryPath: app(port.fresh!) },
      { name: 'Keep', binaryPath: app(port.keep!) },
      { name: 'Rot', binaryPath: app(port.rot!), account: '.\\svcuser', password: 'pw-user' },
    ],
    accounts: { '.\\svcuser': 'pw-user' },
  });
}, 180_000);

afterAll(async () => {
  await rig?.close();
  await runner?.close();
});

function expectOutcome(run: RigRun, outcome: string, code?: string): void {
  const where = `${run.result.outcome}/${run.result.reason.code}: ${run.result.message}`;
  expect(run.result.outcome, where).toBe(outcome);
  if (code) expect(run.result.reason.code, where).toBe(code);
}

const fields = (run: RigRun) => (run.result.diff ?? []).map((d) => [d.field, d.after]);

describe.concurrent('accounts in plans', { timeout: 300_000 }, () => {
  it('a plan of a new password account needs no password, shows the change, and apply then changes exactly that', async () => {
    const plan = await rig.run({ op: 'plan', service: 'Fresh', desired: { account: { name: '.\\svcuser', passwordAtApply: true } } });
    expectOutcome(plan, 'changed');
    expect(fields(plan)).toEqual([
      ['account', '.\\svcuser'],
      ['account.password', '(set)'],
    ]);
    expect(rig.service('Fresh').account).toBe('LocalSystem');
    // Without a password and without the promise of one, a new password account is still refused.
    const bare = await rig.run({ op: 'plan', service: 'Fresh', desired: { account: { name: '.\\svcuser' } } });
    expectOutcome(bare, 'failed', 'password-required');
    // The promise alone cannot be applied.
    const promised = await rig.run({ op: 'apply', service: 'Fresh', desired: { account: { name: '.\\svcuser', passwordAtApply: true } } });
    expectOutcome(promised, 'failed', 'password-required');
    expect(rig.service('Fresh').account).toBe('LocalSystem');

    const apply = await rig.run({
      op: 'apply',
      service: 'Fresh',
      desired: { account: { name: '.\\svcuser', password: 'pw-user', passwordAtApply: true } },
      verify: { port: port.fresh! },
    });
    expectOutcome(apply, 'changed');
    expect(apply.result.diff).toEqual(plan.result.diff);
    expect(rig.service('Fresh').passwordSha256).toBe(sha('pw-user'));
  });

  it('the same password spec applied twice: the second apply is unchanged and does not restart', async () => {
    const desired = { account: { name: '.\\svcuser', password: 'pw-user' } };
    const first = await rig.run({ op: 'apply', service: 'Keep', desired, verify: { port: port.keep! } });
    expectOutcome(first, 'changed');
    const pid = rig.service('Keep').status.pid;
    const plan = await rig.run({ op: 'plan', service: 'Keep', desired });
    expectOutcome(plan, 'unchanged');
    const second = await rig.run({ op: 'apply', service: 'Keep', desired, verify: { port: port.keep! } });
    expectOutcome(second, 'unchanged');
    expect(second.result.diff).toEqual([]);
    expect(second.result.restarted).toBe(false);
    expect(rig.service('Keep').status.pid).toBe(pid);
    // A plan made without the password agrees.
    const planned = await rig.run({ op: 'plan', service: 'Keep', desired: { account: { name: '.\\svcuser', passwordAtApply: true } } });
    expectOutcome(planned, 'unchanged');
  });

  it('rotatePassword writes the password again, says so in plan and apply, and checks it logs on first', async () => {
    const plan = await rig.run({
      op: 'plan',
      service: 'Rot',
      desired: { account: { name: '.\\svcuser', passwordAtApply: true, rotatePassword: true, rollbackPassword: 'none' } },
    });
    expectOutcome(plan, 'changed');
    expect(fields(plan)).toEqual([['account.password', '(rotate)']]);
    const pid = rig.service('Rot').status.pid;
    const wrong = await rig.run({
      op: 'apply',
      service: 'Rot',
      desired: { account: { name: '.\\svcuser', password: 'nope', rotatePassword: true, rollbackPassword: 'none' } },
    });
    expectOutcome(wrong, 'failed', 'logon-failed');
    expect(rig.service('Rot').status.pid).toBe(pid);
    const apply = await rig.run({
      op: 'apply',
      service: 'Rot',
      desired: { account: { name: '.\\svcuser', password: 'pw-user', rotatePassword: true, rollbackPassword: 'none' } },
      verify: { port: port.rot! },
    });
    expectOutcome(apply, 'changed');
    expect(fields(apply)).toEqual([['account.password', '(rotate)']]);
    expect(apply.result.restarted).toBe(true);
    const none = await rig.run({ op: 'plan', service: 'Rot', desired: { account: { name: '.\\svcuser', rotatePassword: true, rollbackPassword: 'none' } } });
    expectOutcome(none, 'failed', 'bad-request');
    expect(none.result.message).toContain('rotatePassword');
  });
});
