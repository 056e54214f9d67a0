/**
 * The real remote engine (ps-scripts/) on emulated Windows hosts (src/lab), in pwsh with Windows PowerShell 5.1's
 * native-argument passing: every operation for every setting, the documented outcome of every injected fault with
 * nothing lost, and hostile values that must land as data. What the engine reports is checked against the emulated
 * SCM's own record and against the running service processes (their /args and /env).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabRunner, type LabRunner } from '../../src/lab/runner/index.js';
import type { Snapshot } from '../../src/remote/protocol.js';
import { Secret } from '../../src/util/secret.js';
import { hostileCorpus } from './hostile.js';
import { freePort, httpGet, LabRig, pool, type RigRun } from './lab-rig.js';

const PASSWORD = 'S3cr3t\u2018pw\u2019 "x" $(y)';
const pwned = join(mkdtempSync(join(tmpdir(), 'svcfleet-pwned-')), 'PWNED');
const corpus = hostileCorpus(pwned);
const WEIRD = 'Svc \u2018q\u2019 \u201cd\u201d $(x);|&';

let runner: LabRunner;
let rig: LabRig;
let faults: LabRig;
const port: Record<string, number> = {};

// The reference's WaaSMedicSvc failure actions (docs/reference/windows-services.md#the-failureactions-registry-value worked example): restart, restart, then NONE.
const NONE_ORIGINAL = {
  resetPeriod: 900,
  rebootMessage: '',
  command: '',
  actions: [
    { type: 'restart' as const, delayMs: 120000 },
    { type: 'restart' as const, delayMs: 300000 },
    { type: 'none' as const, delayMs: 0 },
  ],
  nonCrashFailures: false,
};

/** FailureActions layout (docs/reference/windows-services.md#the-failureactions-registry-value): little-endian DWORDs, reset, two placeholders, cActions, offset, {type, delay}. */
function decodeFailureActions(b: Buffer): { resetPeriod: number; count: number; offset: number; actions: Array<{ type: string; delayMs: number }> } {
  const names = ['none', 'restart', 'reboot', 'run']; // SC_ACTION_* = 0..3 (docs/reference/windows-services.md#failure-count-and-repetition)
  const count = b.readUInt32LE(12);
  const offset = b.readUInt32LE(16);
  const actions = Array.from({ length: count }, (_, i) => ({ type: names[b.readUInt32LE(offset + 8 * i)]!, delayMs: b.readUInt32LE(offset + 8 * i + 4) }));
  expect(b.length).toBe(20 + 8 * count);
  expect([b.readUInt32LE(4), b.readUInt32LE(8)]).toEqual([0, 0]);
  return { resetPeriod: b.readUInt32LE(0), count, offset, actions };
}

/** How each failure-settings write went: the `via` of the apply/rollback events that wrote failure actions. */
const failureWrites = (run: RigRun): unknown[] => run.events.filter((e) => e.data?.command === 'failure').map((e) => e.data?.via);

const app = (p: number, extra = '') => `"C:\\Program Files\\App\\app.exe" --port ${p}${extra}`;

beforeAll(async () => {
  for (const k of [
    'bin',
    'bin2',
    'args',
    'meta',
    'fail',
    'env',
    'acct',
    'flow',
    'policy',
    'weird',
    'legacy',
    'norb',
    'hostile',
    'std',
    'issue4',
    'noneback',
    'nonehostile',
  ])
    port[k] = await freePort();
  for (const k of ['denied', 'gone', 'marked', 'timeout', 'logon', 'crash', 'stuck', 'bad', 'double', 'http']) port[`f-${k}`] = await freePort();
  runner = pool('Legacy');
  await runner.warm();
  rig = await LabRig.create(runner, {
    accounts: { '.\\svcuser': PASSWORD },
    services: [
      { name: 'Bin', binaryPath: app(port.bin!, ' --log-level info') },
      { name: 'Args', binaryPath: app(port.args!, ' --workers 2 --log-level info') },
      { name: 'Meta', binaryPath: app(port.meta!), startType: 'delayed-auto', description: 'before' },
      { name: 'Fail', binaryPath: app(port.fail!), failure: { resetPeriod: 86400, actions: [{ type: 'restart', delayMs: 60000 }] } },
      { name: 'Env', binaryPath: app(port.env!), environment: { APP_MODE: 'prod' } },
      { name: 'Acct', binaryPath: app(port.acct!) },
      { name: 'Flow', binaryPath: app(port.flow!) },
      { name: 'Policy', binaryPath: app(port.policy!) },
      { name: WEIRD, binaryPath: app(port.weird!) },
      { name: 'Legacy', binaryPath: `C:\\Program Files\\Legacy App\\app.exe --port ${port.legacy}` },
      { name: 'NoRollback', binaryPath: app(port.norb!) },
      { name: 'Hostile', binaryPath: app(port.hostile!) },
      { name: 'Issue4', binaryPath: app(port.issue4!) },
      { name: 'NoneBack', binaryPath: app(port.noneback!), failure: NONE_ORIGINAL },
      { name: 'NoneHostile', binaryPath: app(port.nonehostile!) },
    ],
  });
  faults = await LabRig.create(runner, {
    startTimeoutMs: 2000,
    accounts: { '.\\svcuser': PASSWORD },
    // `contains` narrows each fault to the calls this test makes (the subject of a config change is its new
    // values; of a start or stop, the binary path).
    faults: [
      { kind: 'access-denied', service: 'FDenied', ops: ['config', 'registry-write'], contains: '=' },
      { kind: 'marked-for-delete', service: 'FMarked', ops: ['config'], contains: '=' },
      { kind: 'start-timeout', service: 'FTimeout', contains: '--workers 7' },
      { kind: 'logon-failure', service: 'FLogon', contains: 'app.exe' },
      { kind: 'crash-after-start', service: 'FCrash', contains: '--workers 5', afterMs: 600 },
      { kind: 'stuck-stop-pending', service: 'FStuck', times: 1, contains: 'app.exe' },
      { kind: 'start-timeout', service: 'FDouble', contains: 'app.exe' },
    ],
    services: [
      { name: 'FDenied', binaryPath: app(port['f-denied']!) },
      { name: 'FMarked', binaryPath: app(port['f-marked']!) },
      { name: 'FTimeout', binaryPath: app(port['f-timeout']!) },
      { name: 'FLogon', binaryPath: app(port['f-logon']!) },
      { name: 'FCrash', binaryPath: app(port['f-crash']!) },
      { name: 'FStuck', binaryPath: app(port['f-stuck']!) },
      { name: 'FBad', binaryPath: app(port['f-bad']!) },
      { name: 'FHttp', binaryPath: app(port['f-http']!) },
      { name: 'FDouble', binaryPath: app(port['f-double']!), start: true },
    ],
  });
}, 180_000);

afterAll(async () => {
  await rig?.close();
  await faults?.close();
  await runner?.close();
  rmSync(dirname(pwned), { recursive: true, force: true });
});

function expectOutcome(run: RigRun, outcome: string, code?: string): void {
  const where = `${run.result.outcome}/${run.result.reason.code}: ${run.result.message}`;
  expect(run.result.outcome, where).toBe(outcome);
  if (code) expect(run.result.reason.code, where).toBe(code);
}

/** Exit codes of docs/remote-protocol.md. */
const EXIT: Record<string, number> = { unchanged: 0, changed: 0, drifted: 10, failed: 11, 'rolled-back': 12, 'rollback-failed': 13 };

/**
 * The backup exists, holds the state before the call (apply: the result's snapshot; rollback: what it replaced),
 * and is readable only by Administrators and SYSTEM.
 */
function expectBackup(on: LabRig, run: RigRun, beforeHash = run.result.snapshot!.configHash): void {
  const path = run.result.backupPath!;
  expect(path, 'backupPath').toBeTruthy();
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { kind: string; snapshot: Snapshot };
  expect(doc.kind).toBe('svcfleet-backup');
  expect(doc.snapshot.configHash).toBe(beforeHash);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  const acl = JSON.stringify(on.acls());
  expect(acl).toContain('S-1-5-32-544');
  expect(acl).toContain('S-1-5-18');
  expect(acl).not.toContain('S-1-5-32-545');
}

/** Rolled back with nothing lost: the SCM's record is the before-config, and the service runs it again. */
async function expectRestored(on: LabRig, name: string, run: RigRun, servicePort: number): Promise<void> {
  expectOutcome(run, 'rolled-back');
  expect(run.exitCode).toBe(EXIT['rolled-back']);
  expect(run.result.rollback?.ok).toBe(true);
  expect(run.result.after?.configHash).toBe(run.result.snapshot?.configHash);
  const rec = on.service(name);
  expect(rec.binaryPath).toBe(run.result.snapshot!.config.binaryPath);
  expect(rec.status.state).toBe('running');
  expect(await httpGet(servicePort, '/')).toBe('ok');
  expectBackup(on, run);
}

describe.concurrent('every setting, through the real engine', { timeout: 300_000 }, () => {
  it('binaryPath: changed through Change(), restarted, new PID, the new command line really runs', async () => {
    const before = rig.service('Bin').status.pid;
    const next = app(port.bin2!, ' --log-level debug');
    const run = await rig.run({ op: 'apply', service: 'Bin', desired: { binaryPath: next }, verify: { port: port.bin2!, settleSeconds: 1 } });
    expectOutcome(run, 'changed', 'ok');
    expect(run.exitCode).toBe(0);
    expect(run.result.restarted).toBe(true);
    expect(run.result.diff).toEqual([{ field: 'binaryPath', before: app(port.bin!, ' --log-level info'), after: next, restartNeeded: true }]);
    const rec = rig.service('Bin');
    expect(rec.binaryPath).toBe(next);
    expect(rec.status.pid).not.toBe(before);
    expect(run.result.after?.pid).toBe(rec.status.pid);
    expect(JSON.parse(await httpGet(port.bin2!, '/args'))).toEqual(['--port', String(port.bin2), '--log-level', 'debug']);
    expect(run.events.map((e) => e.phase)).toEqual(
      expect.arrayContaining(['start', 'snapshot', 'plan', 'backup', 'apply', 'readback', 'stop', 'start-service', 'verify', 'done']),
    );
    expectBackup(rig, run);
  });

  it('args edit: sets and removes flags, keeps the executable quoted and untouched arguments byte-identical', async () => {
    const run = await rig.run({
      op: 'apply',
      service: 'Args',
      desired: { args: { set: { 'log-level': 'warn', '--workers': '4' }, remove: ['--nothing-here'] } },
      verify: { port: port.args!, http: { url: `http://127.0.0.1:${port.args}/health`, status: 200 } },
    });
    expectOutcome(run, 'changed');
    expect(run.events.some((e) => e.data?.gate === 'http')).toBe(true);
    expect(rig.service('Args').binaryPath).toBe(app(port.args!, ' --workers 4 --log-level warn'));
    expect(JSON.parse(await httpGet(port.args!, '/args'))).toEqual(['--port', String(port.args), '--workers', '4', '--log-level', 'warn']);
  });

  it('startType (delayed-auto <-> demand/auto/disabled), errorControl, displayName, dependencies (+group), loadOrderGroup: no restart needed where none is', async () => {
    const pid = rig.service('Meta').status.pid;
    const first = await rig.run({
      op: 'apply',
      service: 'Meta',
      desired: {
        startType: 'demand',
        errorControl: 'severe',
        displayName: 'Meta \u2018display\u2019',
        description: 'after',
        dependencies: ['+NetworkProvider', 'Tcpip'],
        loadOrderGroup: 'NetworkProvider',
      },
      restart: 'never',
    });
    expectOutcome(first, 'changed');
    expect(first.result.restarted).toBe(false);
    expect(first.result.message).toMatch(/takes effect at the next start/);
    expect(Object.fromEntries((first.result.diff ?? []).map((d) => [d.field, d.restartNeeded]))).toEqual({
      startType: false,
      errorControl: false,
      displayName: false,
      description: false,
      dependencies: true,
      loadOrderGroup: true,
    });
    let rec = rig.service('Meta');
    expect(rec).toMatchObject({
      startType: 'demand',
      errorControl: 2,
      displayName: 'Meta \u2018display\u2019',
      description: 'after',
      dependencies: ['Tcpip', '+NetworkProvider'],
      loadOrderGroup: 'NetworkProvider',
    });
    expect(rec.status.pid).toBe(pid);

    const second = await rig.run({
      op: 'apply',
      service: 'Meta',
      desired: { startType: 'delayed-auto', dependencies: [], loadOrderGroup: '' },
      restart: 'never',
    });
    expectOutcome(second, 'changed');
    rec = rig.service('Meta');
    expect(rec).toMatchObject({ startType: 'auto', delayedAutoStart: true, dependencies: [], loadOrderGroup: '' });
    expect(second.result.after?.config.startType).toBe('delayed-auto');

    const third = await rig.run({ op: 'apply', service: 'Meta', desired: { startType: 'auto' }, restart: 'never' });
    expectOutcome(third, 'changed');
    expect(rig.service('Meta')).toMatchObject({ startType: 'auto', delayedAutoStart: false });

    const fourth = await rig.run({ op: 'apply', service: 'Meta', desired: { startType: 'disabled' }, restart: 'never' });
    expectOutcome(fourth, 'changed');
    rec = rig.service('Meta');
    expect(rec.startType).toBe('disabled');
    expect(rec.status.state).toBe('running'); // a start type never stops a running service (docs/reference/windows-services.md#when-a-change-takes-effect)
  });

  it('failure settings: reset period, reboot message, command, actions, non-crash flag; then cleared', async () => {
    const failure = {
      resetPeriod: 3600,
      rebootMessage: 'going down \u201cnow\u201d',
      command: 'C:\\tools\\notify.exe --svc "Fail"',
      actions: [
        { type: 'restart' as const, delayMs: 1000 },
        { type: 'run' as const, delayMs: 2000 },
        { type: 'reboot' as const, delayMs: 300000 },
      ],
      nonCrashFailures: true,
    };
    const run = await rig.run({ op: 'apply', service: 'Fail', desired: { failure } });
    expectOutcome(run, 'changed');
    expect(failureWrites(run)).toEqual(['sc.exe']); // no NONE: sc.exe, no native helper compiled
    expect(run.result.restarted).toBe(false); // failure settings apply at the next failure
    expect(rig.service('Fail').failure).toEqual(failure);
    expect(run.result.after?.config.failure).toEqual(failure);
    const infinite = await rig.run({
      op: 'apply',
      service: 'Fail',
      desired: { failure: { resetPeriod: 'infinite', actions: [{ type: 'restart', delayMs: 5 }] } },
    });
    expectOutcome(infinite, 'changed');
    expect(infinite.result.after?.config.failure.resetPeriod).toBe('infinite');
    expect(rig.service('Fail').failure.resetPeriod).toBe(4294967295);

    const cleared = await rig.run({
      op: 'apply',
      service: 'Fail',
      desired: { failure: { actions: [], rebootMessage: '', command: '', nonCrashFailures: false } },
    });
    expectOutcome(cleared, 'changed');
    expect(rig.service('Fail').failure).toEqual({ resetPeriod: 0, rebootMessage: '', command: '', actions: [], nonCrashFailures: false });
  });

  it('environment: set (the restarted process sees it), then removed', async () => {
    const run = await rig.run({ op: 'apply', service: 'Env', desired: { environment: { APP_MODE: 'staging', EXTRA: 'a=b; c' } }, verify: { port: port.env! } });
    expectOutcome(run, 'changed');
    expect(run.result.restarted).toBe(true);
    const env = JSON.parse(await httpGet(port.env!, '/env')) as Record<string, string>;
    expect(env).toMatchObject({ APP_MODE: 'staging', EXTRA: 'a=b; c' });
    const removed = await rig.run({ op: 'apply', service: 'Env', desired: { environment: null }, verify: { port: port.env! } });
    expectOutcome(removed, 'changed');
    expect(removed.result.after?.config.environment).toBeNull();
    const env2 = JSON.parse(await httpGet(port.env!, '/env')) as Record<string, string>;
    expect(env2.APP_MODE).toBeUndefined();
  });

  it('account with a password: set through Change(), the service logs on, and the password is never echoed, backed up or put in an event', async () => {
    const run = await rig.run({
      op: 'apply',
      service: 'Acct',
      desired: { account: { name: '.\\svcuser', password: new Secret(PASSWORD) } },
      verify: { port: port.acct! },
    });
    expectOutcome(run, 'changed');
    expect(rig.service('Acct').account).toBe('.\\svcuser');
    expect(rig.service('Acct').status.account).toBe('.\\svcuser');
    expect(run.result.diff?.find((d) => d.field === 'account.password')).toEqual({
      field: 'account.password',
      before: null,
      after: '(set)',
      restartNeeded: true,
    });
    for (const text of [run.raw, JSON.stringify(run.result), JSON.stringify(run.events), readFileSync(run.result.backupPath!, 'utf8')]) {
      expect(text).not.toContain('S3cr3t');
      expect(text).not.toContain(Buffer.from('S3cr3t').toString('base64').slice(0, 6));
    }
    // Leaving a password account: a rollback could not restore its password, so the request says it accepts that.
    const back = await rig.run({
      op: 'apply',
      service: 'Acct',
      desired: { account: { name: 'LocalSystem', rollbackPassword: 'none' } },
      verify: { port: port.acct! },
    });
    expectOutcome(back, 'changed');
    expect(rig.service('Acct').account).toBe('LocalSystem');
  });
});

describe.concurrent('operations', { timeout: 300_000 }, () => {
  it('snapshot, plan (diff, nothing changed), drift guard, apply, idempotent re-apply, rollback from the backup and from a snapshot', async () => {
    const snap = await rig.run({ op: 'snapshot', service: 'Flow' });
    expectOutcome(snap, 'unchanged', 'ok');
    const s = snap.result.snapshot!;
    expect(s.state).toBe('running');
    expect(s.config).toMatchObject({ name: 'Flow', binaryPath: app(port.flow!), startType: 'auto', account: 'LocalSystem', environment: null });
    expect(s.configHash).toMatch(/^[0-9a-f]{64}$/);

    const desired = { description: 'planned', args: { set: { workers: '3' } } };
    const plan = await rig.run({ op: 'plan', service: 'Flow', desired });
    expectOutcome(plan, 'changed');
    expect(plan.result.diff?.map((d) => d.field)).toEqual(['binaryPath', 'description']);
    expect(plan.result.restartNeeded).toBe(true);
    expect(rig.service('Flow').description).toBe('');
    expect(plan.result.backupPath).toBeUndefined();

    const drift = await rig.run({ op: 'apply', service: 'Flow', desired, expectedHash: '0'.repeat(64) });
    expectOutcome(drift, 'drifted', 'drift');
    expect(drift.exitCode).toBe(EXIT.drifted);
    expect(rig.service('Flow').description).toBe('');
    expect(drift.result.backupPath).toBeUndefined();

    const apply = await rig.run({ op: 'apply', service: 'Flow', desired, expectedHash: s.configHash, runId: 'flow-1', verify: { port: port.flow! } });
    expectOutcome(apply, 'changed');
    expect(rig.service('Flow').binaryPath).toBe(app(port.flow!, ' --workers 3'));

    const again = await rig.run({ op: 'apply', service: 'Flow', desired, runId: 'flow-2' });
    expectOutcome(again, 'unchanged', 'ok');
    expect(again.result.backupPath).toBeUndefined();
    expect(again.result.restarted).toBe(false);

    const fromSnapshot = await rig.run({ op: 'rollback', service: 'Flow', restore: { snapshot: s }, runId: 'flow-3' });
    expectOutcome(fromSnapshot, 'changed');
    expect(rig.service('Flow')).toMatchObject({ binaryPath: app(port.flow!), description: '' });
    expect(fromSnapshot.result.after?.configHash).toBe(s.configHash);
    expect(fromSnapshot.result.restarted).toBe(true);
    expect(JSON.parse(await httpGet(port.flow!, '/args'))).toEqual(['--port', String(port.flow)]);
    expectBackup(rig, fromSnapshot, apply.result.after!.configHash); // the rollback backs up what it replaces, too

    expectOutcome(await rig.run({ op: 'apply', service: 'Flow', desired, runId: 'flow-4' }), 'changed');
    const fromBackup = await rig.run({ op: 'rollback', service: 'Flow', restore: { fromRunId: 'flow-4' }, runId: 'flow-5' });
    expectOutcome(fromBackup, 'changed');
    expect(fromBackup.result.after?.configHash).toBe(s.configHash);
    expect(rig.service('Flow').status.state).toBe('running');

    const same = await rig.run({ op: 'rollback', service: 'Flow', restore: { snapshot: s } });
    expectOutcome(same, 'unchanged');

    const missing = await rig.run({ op: 'rollback', service: 'Flow', restore: { fromRunId: 'never-ran' } });
    expectOutcome(missing, 'failed', 'backup-not-found');
  });

  it("restart policy 'never' keeps the process (change pending), 'always' restarts even without a change", async () => {
    const pid = rig.service('Policy').status.pid;
    const never = await rig.run({ op: 'apply', service: 'Policy', desired: { args: { set: { workers: '2' } } }, restart: 'never' });
    expectOutcome(never, 'changed');
    expect(never.result.restartNeeded).toBe(true);
    expect(never.result.restarted).toBe(false);
    expect(rig.service('Policy').status.pid).toBe(pid);
    expect(JSON.parse(await httpGet(port.policy!, '/args'))).toEqual(['--port', String(port.policy)]); // old command line still runs

    const always = await rig.run({ op: 'apply', service: 'Policy', restart: 'always', verify: { port: port.policy! } });
    expectOutcome(always, 'changed');
    expect(always.result.restarted).toBe(true);
    expect(rig.service('Policy').status.pid).not.toBe(pid);
    expect(JSON.parse(await httpGet(port.policy!, '/args'))).toEqual(['--port', String(port.policy), '--workers', '2']);
  });

  it('a service name full of quotes, smart quotes and shell characters is just a name', async () => {
    const snap = await rig.run({ op: 'snapshot', service: WEIRD });
    expectOutcome(snap, 'unchanged');
    expect(snap.result.snapshot?.config.name).toBe(WEIRD);
    const run = await rig.run({ op: 'apply', service: WEIRD, desired: { description: corpus.smartQuoteBreakout! } });
    expectOutcome(run, 'changed');
    expect(rig.service(WEIRD).description).toBe(corpus.smartQuoteBreakout);
    expect(existsSync(run.result.backupPath!)).toBe(true);
    expect(existsSync(pwned)).toBe(false);
  });

  it('CWE-428: snapshot flags an unquoted path, apply refuses to write one, an args edit quotes it', async () => {
    const snap = await rig.run({ op: 'snapshot', service: 'Legacy' });
    expect(snap.result.snapshot?.findings.map((f) => f.code)).toEqual(['unquoted-path']);
    const refuse = await rig.run({ op: 'apply', service: 'Flow', desired: { binaryPath: 'C:\\Program Files\\App\\app.exe --port 1' } });
    expectOutcome(refuse, 'failed', 'unquoted-path');
    expect(refuse.exitCode).toBe(EXIT.failed);
    expect(refuse.result.message).toMatch(/CWE-428/);
    const fix = await rig.run({ op: 'apply', service: 'Legacy', desired: { args: { set: { workers: '2' } } }, verify: { port: port.legacy! } });
    expectOutcome(fix, 'changed');
    expect(rig.service('Legacy').binaryPath).toBe(`"C:\\Program Files\\Legacy App\\app.exe" --port ${port.legacy} --workers 2`);
    expect(fix.result.after?.findings).toEqual([]);
  });

  it("rollback 'never': a failed change is left as it is, reported as failed", async () => {
    const run = await rig.run({
      op: 'apply',
      service: 'NoRollback',
      desired: { args: { set: { bogus: '1' } } },
      rollback: 'never',
      timeouts: { startSeconds: 10 },
    });
    expectOutcome(run, 'failed', 'start-failed');
    expect(run.result.message).toMatch(/rollback policy is never/);
    expect(rig.service('NoRollback').binaryPath).toContain('--bogus 1');
    expect(rig.service('NoRollback').status.state).toBe('stopped');
  });

  it('refuses a bad request with a clear reason and exit 20', async () => {
    const run = await rig.run({ op: 'apply', service: 'Flow', desired: { startType: 'sometimes' } as never });
    expectOutcome(run, 'failed', 'bad-request');
    expect(run.exitCode).toBe(20);
    expect(run.result.message).toMatch(/desired\.startType/);
  });
});

describe.concurrent('failure actions ending in NONE (docs/reference/windows-services.md#failure-count-and-repetition): ChangeServiceConfig2, not sc.exe', {
  timeout: 300_000,
}, () => {
  it("applies the issue's example exactly: the registry blob decodes to restart/60000, restart/60000, none/0", async () => {
    const failure = {
      resetPeriod: 86400,
      actions: [
        { type: 'restart' as const, delayMs: 60000 },
        { type: 'restart' as const, delayMs: 60000 },
        { type: 'none' as const, delayMs: 0 },
      ],
      nonCrashFailures: true,
    };
    const run = await rig.run({ op: 'apply', service: 'Issue4', desired: { failure } });
    expectOutcome(run, 'changed', 'ok');
    expect(run.result.restarted).toBe(false);
    // sc.exe has no word for NONE (docs/reference/sc-exe.md#description-and-failure), so the actions go through the API; the non-crash flag stays sc.exe's.
    expect(failureWrites(run)).toEqual(['ChangeServiceConfig2']);
    expect(run.events.find((e) => e.data?.command === 'failureflag')?.data?.via).toBe('sc.exe');
    const blob = decodeFailureActions(await rig.registryBinary('Issue4', 'FailureActions'));
    expect(blob).toEqual({ resetPeriod: 86400, count: 3, offset: 0x14, actions: failure.actions });
    expect(rig.service('Issue4').failure).toEqual({ ...failure, rebootMessage: '', command: '' });
    expect(run.result.after?.config.failure).toEqual({ ...failure, rebootMessage: '', command: '' });
    const again = await rig.run({ op: 'apply', service: 'Issue4', desired: { failure } });
    expectOutcome(again, 'unchanged');
  });

  it('a rollback restores original actions that contain a NONE exactly (from the backup, and after a failed apply)', async () => {
    const first = await rig.run({ op: 'snapshot', service: 'NoneBack' });
    const original = first.result.snapshot!;
    expect(original.config.failure).toEqual(NONE_ORIGINAL);

    const apply = await rig.run({
      op: 'apply',
      service: 'NoneBack',
      runId: 'noneback-1',
      desired: { failure: { resetPeriod: 60, actions: [{ type: 'restart', delayMs: 1000 }] } },
    });
    expectOutcome(apply, 'changed');
    expect(failureWrites(apply)).toEqual(['sc.exe']); // the new list has no NONE
    expect(rig.service('NoneBack').failure.actions).toEqual([{ type: 'restart', delayMs: 1000 }]);

    const back = await rig.run({ op: 'rollback', service: 'NoneBack', restore: { fromRunId: 'noneback-1' }, runId: 'noneback-2' });
    expectOutcome(back, 'changed');
    expect(failureWrites(back)).toEqual(['ChangeServiceConfig2']);
    expect(back.result.after?.configHash).toBe(original.configHash);
    expect(rig.service('NoneBack').failure).toEqual(NONE_ORIGINAL);
    expect(decodeFailureActions(await rig.registryBinary('NoneBack', 'FailureActions'))).toEqual({
      resetPeriod: 900,
      count: 3,
      offset: 0x14,
      actions: NONE_ORIGINAL.actions,
    });

    // An apply that fails after writing (the program rejects the flag) rolls back through the same native write.
    const failed = await rig.run({
      op: 'apply',
      service: 'NoneBack',
      desired: { args: { set: { bogus: '1' } }, failure: { resetPeriod: 30, actions: [{ type: 'run', delayMs: 5 }] } },
      verify: { port: port.noneback! },
      timeouts: { startSeconds: 10 },
    });
    await expectRestored(rig, 'NoneBack', failed, port.noneback!);
    expect(failureWrites(failed)).toEqual(['sc.exe', 'ChangeServiceConfig2']);
    expect(rig.service('NoneBack').failure).toEqual(NONE_ORIGINAL);
  });

  it('hostile reboot messages and commands go through the native call as data', async () => {
    // The quoting-sensitive part of the corpus (the sc.exe path gets all of it above): smart quotes, $(...), etc.
    const values = (
      [
        'smartQuotes',
        'smartQuoteBreakout',
        'subexpression',
        'smartSubexpression',
        'backticks',
        'newlines',
        'backslashQuote',
        'semicolon',
        'unicode',
        'long',
      ] as const
    ).map((k) => corpus[k]!);
    for (let i = 0; i < values.length; i += 2) {
      const [rebootMessage = '', command = ''] = values.slice(i, i + 2);
      const failure = {
        resetPeriod: 'infinite' as const,
        rebootMessage,
        command,
        actions: [
          { type: 'reboot' as const, delayMs: 1000 + i },
          { type: 'run' as const, delayMs: 2000 },
          { type: 'restart' as const, delayMs: 3000 },
          { type: 'none' as const, delayMs: 0 },
        ],
      };
      const run = await rig.run({ op: 'apply', service: 'NoneHostile', restart: 'never', desired: { failure } });
      expectOutcome(run, 'changed');
      expect(failureWrites(run)).toEqual(['ChangeServiceConfig2']);
      const rec = rig.service('NoneHostile').failure;
      expect({ rebootMessage: rec.rebootMessage, command: rec.command, resetPeriod: rec.resetPeriod, actions: rec.actions }).toEqual({
        rebootMessage,
        command,
        resetPeriod: 4294967295,
        actions: failure.actions,
      });
      expect(run.result.after?.config.failure).toMatchObject(failure);
    }
    expect(existsSync(pwned)).toBe(false);
  });
});

describe.concurrent('hostile values land as data, never code', { timeout: 300_000 }, () => {
  const values = Object.values(corpus);
  /** Spreads the corpus over the text fields, a few values per apply; the environment takes all of them at once. */
  async function applyCorpus(on: LabRig, service: string, servicePort: number): Promise<void> {
    const env = Object.fromEntries(Object.entries(corpus).map(([k, v]) => [`V_${k}`, v]));
    env['\u2018NAME\u2019_$(x)'] = 'weird name';
    for (let i = 0; i < values.length; i += 4) {
      const [a = '', b = '', c = '', d = ''] = values.slice(i, i + 4);
      const displayName = b.length > 0 && b.length <= 256 ? b : `dn ${i}`;
      const binaryPath = `"C:\\Program Files\\App\\app.exe" --port ${servicePort} --config ${JSON.stringify(d)}`;
      const run = await on.run({
        op: 'apply',
        service,
        restart: 'never',
        desired: {
          description: a,
          displayName,
          failure: { command: c, rebootMessage: d, actions: [{ type: 'restart', delayMs: 1000 }] },
          binaryPath,
          ...(i === 0 ? { environment: env } : {}),
        },
      });
      expectOutcome(run, 'changed');
      const rec = on.service(service);
      expect({
        description: rec.description,
        displayName: rec.displayName,
        command: rec.failure.command,
        rebootMessage: rec.failure.rebootMessage,
        binaryPath: rec.binaryPath,
      }).toEqual({
        description: a,
        displayName,
        command: c,
        rebootMessage: d,
        binaryPath,
      });
      expect(run.result.after?.config.description).toBe(a);
      if (i === 0) expect(run.result.after?.config.environment).toEqual(env);
    }
    expect(existsSync(pwned)).toBe(false);
  }

  it('with Windows PowerShell 5.1 quoting ($PSNativeCommandArgumentPassing = Legacy): descriptions, display names, failure command and reboot message, environment, binary-path arguments', async () => {
    await applyCorpus(rig, 'Hostile', port.hostile!);
  });

  it('with pwsh 7.3+ quoting (Standard), on a freshly spawned pwsh like a real host', async () => {
    const spawn = createLabRunner({ mode: 'spawn', nativeArgs: 'Standard' });
    const std = await LabRig.create(spawn, { services: [{ name: 'Std', binaryPath: app(port.std!) }] });
    try {
      const [a = '', b = ''] = [corpus.backslashQuote, corpus.smartSubexpression];
      const run = await std.run({
        op: 'apply',
        service: 'Std',
        restart: 'never',
        desired: { description: a, loadOrderGroup: b, dependencies: ['Tcpip'], environment: { X: corpus.newlines! } },
      });
      expectOutcome(run, 'changed');
      expect(run.events.find((e) => e.phase === 'start')?.data?.nativeArguments).toBe('Standard');
      expect(std.service('Std')).toMatchObject({ description: a, loadOrderGroup: b, dependencies: ['Tcpip'] });
      expect(run.result.after?.config.environment).toEqual({ X: corpus.newlines });
      expect(existsSync(pwned)).toBe(false);
    } finally {
      await std.close();
    }
  });
});

describe.concurrent('injected faults end in their documented outcome, with nothing lost', { timeout: 300_000 }, () => {
  it('access denied (5): failed, nothing changed, backup present', async () => {
    const run = await faults.run({ op: 'apply', service: 'FDenied', desired: { description: 'x', args: { set: { workers: '2' } } } });
    expectOutcome(run, 'failed', 'apply-failed');
    expect(run.result.reason.win32).toBe(5);
    expect(run.result.message).toMatch(/nothing was changed/);
    expect(faults.service('FDenied').binaryPath).toBe(app(port['f-denied']!));
    expect(faults.service('FDenied').status.state).toBe('running');
    expectBackup(faults, run);
  });

  it('the native failure-actions write fails like sc.exe does: apply-failed with its Win32 code, nothing changed', async () => {
    const failure = {
      resetPeriod: 60,
      actions: [
        { type: 'restart' as const, delayMs: 1000 },
        { type: 'none' as const, delayMs: 0 },
      ],
    };
    const denied = await faults.run({ op: 'apply', service: 'FDenied', desired: { failure } });
    expectOutcome(denied, 'failed', 'apply-failed');
    expect(denied.result.reason.win32).toBe(5); // OpenService under the access-denied fault (docs/reference/sc-exe.md#exit-codes)
    expect(denied.result.message).toMatch(/ChangeServiceConfig2.*OpenService returned 5.*nothing was changed/);
    const marked = await faults.run({ op: 'apply', service: 'FMarked', desired: { failure } });
    expectOutcome(marked, 'failed', 'apply-failed');
    expect(marked.result.reason.win32).toBe(1072); // ChangeServiceConfig2 on a service marked for deletion (MS-SCMR)
    expect(faults.service('FMarked').failure.actions).toEqual([]);
  });

  it('no such service (1060): failed before anything', async () => {
    const run = await faults.run({ op: 'apply', service: 'NoSuchService', desired: { description: 'x' } });
    expectOutcome(run, 'failed', 'not-found');
    expect(run.result.reason.win32).toBe(1060);
    expect(run.result.backupPath).toBeUndefined();
  });

  it('marked for deletion (1072): failed, nothing changed', async () => {
    const run = await faults.run({ op: 'apply', service: 'FMarked', desired: { args: { set: { workers: '2' } } } });
    expectOutcome(run, 'failed', 'apply-failed');
    expect(run.result.reason.win32).toBe(1072);
    expect(faults.service('FMarked').binaryPath).toBe(app(port['f-marked']!));
    expectBackup(faults, run);
  });

  it('start timeout (1053): rolled back, old command line running', async () => {
    const run = await faults.run({ op: 'apply', service: 'FTimeout', desired: { args: { set: { workers: '7' } } }, timeouts: { startSeconds: 8 } });
    expect(run.result.reason.code).toMatch(/^start-(failed|timeout)$/);
    expect(run.result.reason.win32).toBe(1053);
    await expectRestored(faults, 'FTimeout', run, port['f-timeout']!);
  });

  it('logon failure (1069): rolled back to the old account', async () => {
    const run = await faults.run({ op: 'apply', service: 'FLogon', desired: { account: { name: '.\\svcuser', password: new Secret(PASSWORD) } } });
    expect(run.result.reason.win32).toBe(1069);
    await expectRestored(faults, 'FLogon', run, port['f-logon']!);
    expect(faults.service('FLogon').account).toBe('LocalSystem');
    expect(run.raw).not.toContain('S3cr3t');
  });

  it('crash shortly after start: the settle gate catches it, rolled back', async () => {
    const run = await faults.run({
      op: 'apply',
      service: 'FCrash',
      desired: { args: { set: { workers: '5' } } },
      verify: { port: port['f-crash']!, settleSeconds: 2 },
    });
    expectOutcome(run, 'rolled-back', 'verify-settle');
    await expectRestored(faults, 'FCrash', run, port['f-crash']!);
  });

  it('stuck in STOP_PENDING: stop times out, the rollback ends the stuck process and restores the old service', async () => {
    const run = await faults.run({
      op: 'apply',
      service: 'FStuck',
      desired: { args: { set: { workers: '2' } } },
      timeouts: { stopSeconds: 2, startSeconds: 10 },
    });
    expect(run.result.reason).toEqual({ code: 'stop-timeout', win32: 1053 });
    await expectRestored(faults, 'FStuck', run, port['f-stuck']!);
  });

  it('an HTTP check that answers the wrong status: rolled back', async () => {
    const url = `http://127.0.0.1:${port['f-http']}/no-such-page`;
    const run = await faults.run({
      op: 'apply',
      service: 'FHttp',
      desired: { args: { set: { workers: '2' } } },
      verify: { port: port['f-http']!, timeoutSeconds: 3, http: { url, status: 200 } },
    });
    expectOutcome(run, 'rolled-back', 'verify-http');
    expect(run.result.message).toContain('404');
    await expectRestored(faults, 'FHttp', run, port['f-http']!);
  });

  it('a hot-fix the program rejects (unknown flag, exit 2): rolled back', async () => {
    const run = await faults.run({ op: 'apply', service: 'FBad', desired: { args: { set: { bogus: '1' } } }, verify: { port: port['f-bad']! } });
    expectOutcome(run, 'rolled-back', 'start-failed');
    await expectRestored(faults, 'FBad', run, port['f-bad']!);
  });

  it('when the rollback cannot start the old service either: rollback-failed, exit 13, backup kept', async () => {
    const run = await faults.run({ op: 'apply', service: 'FDouble', desired: { args: { set: { workers: '2' } } }, timeouts: { startSeconds: 5 } });
    expectOutcome(run, 'rollback-failed');
    expect(run.exitCode).toBe(EXIT['rollback-failed']);
    expect(run.result.rollback?.ok).toBe(false);
    expect(run.result.rollback?.reason?.win32).toBe(1053);
    expect(faults.service('FDouble').binaryPath).toBe(app(port['f-double']!)); // the config itself was restored
    expectBackup(faults, run);
  });
});
