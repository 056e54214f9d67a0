/**
 * The real remote engine on emulated hosts that behave as real Windows does where the engine used to believe
 * otherwise (docs/reference/discrepancies.md). Each describe block is one behaviour; each failed on the engine before
 * its fix.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHostState, withHostLock, writeHostState } from '../../src/lab/scm/state.js';
import type { LabRunner } from '../../src/lab/runner/index.js';
import { freePort, LabRig, pool, type RigRun } from './lab-rig.js';

let runner: LabRunner;
let rig: LabRig;
const port: Record<string, number> = {};

const RAW_DN = '@%ProgramFiles%\\App\\app.dll,-100';
const RAW_DESC = '@%ProgramFiles%\\App\\app.dll,-101';
const rawPath = (p: number, extra = '') => `"%ProgramFiles%\\App\\app.exe" --port ${p}${extra}`;
const app = (p: number, extra = '') => `"C:\\Program Files\\App\\app.exe" --port ${p}${extra}`;

beforeAll(async () => {
  for (const k of ['stored', 'stored2', 'nobody', 'virt', 'spell', 'usera', 'gmsa', 'logon', 'grant', 'bk']) port[k] = await freePort();
  runner = pool('Legacy', 1);
  await runner.warm();
  rig = await LabRig.create(runner, {
    resourceStrings: {
      '%ProgramFiles%\\App\\app.dll,-102': 'Lab App Two',
      '%ProgramFiles%\\App\\app.dll,-100': 'Lab App',
      '%ProgramFiles%\\App\\app.dll,-101': 'Serves the lab app.',
    },
    services: [
      { name: 'Stored', binaryPath: rawPath(port.stored!), displayName: RAW_DN, description: RAW_DESC },
      { name: 'Stored2', binaryPath: rawPath(port.stored2!), displayName: '@%ProgramFiles%\\App\\app.dll,-102', description: RAW_DESC },
      { name: 'Virt', binaryPath: app(port.virt!) },
      { name: 'Spell', binaryPath: app(port.spell!) },
      { name: 'UserA', binaryPath: app(port.usera!), account: '.\\svcuser', password: 'pw-user' },
      { name: 'Gmsa', binaryPath: app(port.gmsa!) },
      { name: 'Logon', binaryPath: app(port.logon!) },
      { name: 'Grant', binaryPath: app(port.grant!) },
      { name: 'Bk', binaryPath: app(port.bk!) },
    ],
    accounts: { '.\\svcuser': 'pw-user', '.\\other': 'pw-other', '.\\plain': { password: 'pw-plain', serviceLogonRight: false } },
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

// docs/reference/windows-services.md "Display name and description", "Binary path".
describe('snapshots read what is stored', () => {
  it('a snapshot holds the raw display name, description and binary path, not the served ones', async () => {
    const run = await rig.run({ op: 'snapshot', service: 'Stored' });
    expectOutcome(run, 'unchanged');
    const c = run.result.snapshot!.config;
    expect({ displayName: c.displayName, description: c.description, binaryPath: c.binaryPath }).toEqual({
      displayName: RAW_DN,
      description: RAW_DESC,
      binaryPath: rawPath(port.stored!),
    });
  });

  it('an argument edit keeps %ProgramFiles% in the stored path and reads back like with like', async () => {
    const run = await rig.run({ op: 'apply', service: 'Stored', desired: { args: { set: { '--workers': '2' } } }, verify: { port: port.stored! } });
    expectOutcome(run, 'changed');
    expect(rig.service('Stored').binaryPath).toBe(rawPath(port.stored!, ' --workers 2'));
    expect(rig.service('Stored').status.commandLine).toBe(rawPath(port.stored!, ' --workers 2'));
  });

  it('a rollback writes the indirect display name back, never the localised text', async () => {
    const run = await rig.run({ op: 'apply', service: 'Stored2', desired: { displayName: 'Renamed' }, verify: { port: port.nobody!, timeoutSeconds: 1 } });
    expectOutcome(run, 'rolled-back');
    expect(rig.service('Stored2').displayName).toBe('@%ProgramFiles%\\App\\app.dll,-102');
    expect(rig.service('Stored2').description).toBe(RAW_DESC);
  });
});

// docs/reference/windows-services.md "Accounts and passwords".
describe('accounts', () => {
  it('a virtual account is set with a NULL password and the service starts under it', async () => {
    const run = await rig.run({ op: 'apply', service: 'Virt', desired: { account: { name: 'NT SERVICE\\Virt' } }, verify: { port: port.virt! } });
    expectOutcome(run, 'changed');
    expect(rig.service('Virt').status.account).toBe('NT SERVICE\\Virt');
  });

  it('a managed account (name$) is set with a NULL password too', async () => {
    const run = await rig.run({ op: 'apply', service: 'Gmsa', desired: { account: { name: 'LAB\\svc-gmsa$' } }, verify: { port: port.gmsa! } });
    expectOutcome(run, 'changed');
    expect(rig.service('Gmsa').status.account).toBe('LAB\\svc-gmsa$');
  });

  it('a password for a virtual or managed account is refused before anything changes', async () => {
    const run = await rig.run({ op: 'plan', service: 'Spell', desired: { account: { name: 'NT SERVICE\\Spell', password: 'x' } } });
    expectOutcome(run, 'failed', 'bad-request');
    expect(run.result.message).toContain('takes no password');
  });

  it('every spelling of a built-in account is the same account: nothing to change', async () => {
    for (const name of ['.\\LocalSystem', 'NT AUTHORITY\\SYSTEM', 'localsystem']) {
      const run = await rig.run({ op: 'plan', service: 'Spell', desired: { account: { name } } });
      expectOutcome(run, 'unchanged');
      expect(run.result.diff).toEqual([]);
    }
  });

  it('leaving a password account needs an explicit choice in the plan, because a rollback cannot restore its password', async () => {
    const refused = await rig.run({ op: 'plan', service: 'UserA', desired: { account: { name: '.\\other', password: 'pw-other' } } });
    expectOutcome(refused, 'failed', 'rollback-password');
    expect(refused.result.message).toContain('rollbackPassword: none');
    const applyRefused = await rig.run({ op: 'apply', service: 'UserA', desired: { account: { name: 'LocalSystem' } }, verify: { port: port.usera! } });
    expectOutcome(applyRefused, 'failed', 'rollback-password');
    expect(rig.service('UserA').account).toBe('.\\svcuser');
    const accepted = await rig.run({
      op: 'plan',
      service: 'UserA',
      desired: { account: { name: '.\\other', password: 'pw-other', rollbackPassword: 'none' } },
    });
    expectOutcome(accepted, 'changed');
  });
});

// docs/reference/windows-services.md "Log on as a service right".
describe('log on as a service', () => {
  it('an account without the right is refused before anything is written, even with restart: never', async () => {
    const run = await rig.run({ op: 'apply', service: 'Logon', desired: { account: { name: '.\\plain', password: 'pw-plain' } }, restart: 'never' });
    expectOutcome(run, 'failed', 'logon-right-missing');
    expect(run.result.message).toContain('account.grantLogonRight');
    expect(rig.service('Logon').account).toBe('LocalSystem');
  });

  it('a wrong password is refused before anything is written, even with restart: never', async () => {
    const run = await rig.run({ op: 'apply', service: 'Logon', desired: { account: { name: '.\\other', password: 'wrong' } }, restart: 'never' });
    expectOutcome(run, 'failed', 'logon-failed');
    expect(rig.service('Logon').account).toBe('LocalSystem');
  });

  it('granting the right is an explicit opt-in: plan only says it, apply grants it and the service starts', async () => {
    const plan = await rig.run({ op: 'plan', service: 'Grant', desired: { account: { name: '.\\plain', password: 'pw-plain', grantLogonRight: true } } });
    expectOutcome(plan, 'changed');
    expect(plan.events.some((e) => (e.message ?? '').includes('would grant'))).toBe(true);
    expect(rig.accounts()['.\\plain']?.serviceLogonRight).toBe(false);
    const run = await rig.run({
      op: 'apply',
      service: 'Grant',
      desired: { account: { name: '.\\plain', password: 'pw-plain', grantLogonRight: true } },
      verify: { port: port.grant! },
    });
    expectOutcome(run, 'changed');
    expect(rig.accounts()['.\\plain']?.serviceLogonRight).toBe(true);
    expect(rig.service('Grant').status.account).toBe('.\\plain');
  });
});

// docs/reference/programdata-acl.md "A safe backup folder".
describe('the backup folder', () => {
  const USER = 'S-1-5-21-1004336348-1177238915-682003330-1001';
  const programData = () => join(rig.stateDir, 'fs', 'ProgramData');
  /** Record an owner and entries for a host path, as if an ordinary user had created it. */
  const plant = (path: string, acl: unknown) =>
    withHostLock(rig.stateDir, () => {
      const st = readHostState(rig.stateDir);
      st.acls[path] = acl;
      writeHostState(rig.stateDir, st);
    });
  const userOwned = {
    owner: USER,
    inheritance: 'e',
    grants: [
      { sid: USER, perms: '(I)(F)' },
      { sid: 'S-1-5-18', perms: '(I)(F)' },
      { sid: 'S-1-5-32-544', perms: '(I)(F)' },
    ],
  };

  it('a svcfleet folder an ordinary user created first is refused, and nothing is changed or repaired', async () => {
    const root = join(programData(), 'svcfleet');
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    plant(root, userOwned);
    try {
      const run = await rig.run({ op: 'apply', service: 'Bk', desired: { description: 'planted' }, verify: { port: port.bk! } });
      expectOutcome(run, 'failed', 'backup-unsafe');
      expect(run.result.message).toContain(USER);
      expect(rig.service('Bk').description).toBe('');
      expect(rig.acls()[root]).toEqual(userOwned);
    } finally {
      rmSync(root, { recursive: true, force: true });
      plant(root, undefined);
    }
  });

  it('old backups are pruned: the host keeps the last N per service', async () => {
    let last: RigRun | undefined;
    for (let i = 1; i <= 4; i++) {
      last = await rig.run({
        op: 'apply',
        service: 'Bk',
        runId: `prune-${i}`,
        desired: { description: `v${i}` },
        verify: { port: port.bk! },
        backups: { keep: 2 },
      });
      expectOutcome(last, 'changed');
    }
    const dir = dirname(last!.result.backupPath!);
    expect(readdirSync(dir).sort()).toEqual(['prune-3.json', 'prune-4.json']);
  });

  it('a backup file that is not owned by Administrators or SYSTEM is not restored', async () => {
    const run = await rig.run({ op: 'apply', service: 'Bk', runId: 'owned-1', desired: { description: 'owned' }, verify: { port: port.bk! } });
    expectOutcome(run, 'changed');
    const file = run.result.backupPath!;
    expect(existsSync(file)).toBe(true);
    plant(file, {
      owner: USER,
      inheritance: 'r',
      grants: [
        { sid: 'S-1-5-32-544', perms: 'F' },
        { sid: 'S-1-5-18', perms: 'F' },
      ],
    });
    const back = await rig.run({ op: 'rollback', service: 'Bk', restore: { fromRunId: 'owned-1' } });
    expectOutcome(back, 'failed', 'backup-unsafe');
    expect(rig.service('Bk').description).toBe('owned');
  });
});

// docs/reference/powershell.md "Exit codes through the PowerShell CLI": with OpenSSH's DefaultShell = powershell.exe any
// non-zero exit becomes 1, so the controller must take everything from the result frame.
describe('the outcome never depends on the exit code', () => {
  it('with every exit code forced to 1, changed, rolled-back, drifted and bad-request are still exact', async () => {
    rig.forcedExitCode = 1;
    try {
      const changed = await rig.run({ op: 'apply', service: 'Stored2', desired: { description: 'exit-1' }, verify: { port: port.stored2! } });
      expect(changed.exitCode).toBe(1);
      expectOutcome(changed, 'changed', 'ok');
      const rolled = await rig.run({ op: 'apply', service: 'Stored2', desired: { description: 'exit-2' }, verify: { port: port.nobody!, timeoutSeconds: 1 } });
      expectOutcome(rolled, 'rolled-back', 'verify-port');
      expect(rolled.result.rollback?.ok).toBe(true);
      const drifted = await rig.run({ op: 'apply', service: 'Stored2', desired: { description: 'exit-3' }, expectedHash: 'f'.repeat(64) });
      expectOutcome(drifted, 'drifted', 'drift');
      const bad = await rig.run({ op: 'apply', service: 'Stored2', desired: { startType: 'sometimes' as never } });
      expectOutcome(bad, 'failed', 'bad-request');
      expect(rig.service('Stored2').description).toBe('exit-1');
    } finally {
      rig.forcedExitCode = null;
    }
  });
});
