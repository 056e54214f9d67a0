/**
 * The real remote engine (ps-scripts/engine/) on emulated hosts that behave as real Windows does where the engine's
 * old beliefs were wrong (docs/reference/discrepancies.md). Each case failed on the engine before its fix; the
 * emulated behaviour it relies on is tested on its own in test/lab/scm/ and listed in docs/windows-proof.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLabFaults } from '../../src/lab/host.js';
import type { LabRunner } from '../../src/lab/runner/index.js';
import { freePort, LabRig, pool, type RigRun } from './lab-rig.js';

let runner: LabRunner;
let rig: LabRig;
/** Processes: two services in one process, a dedicated one with recovery actions, and a critical one. */
let proc: LabRig;
/** Service control: a stop handler that takes its time; the SCM's control timeout is 2 s here (30 s on Windows). */
let ctl: LabRig;
/** Base <- Dep1 <- Dep2: running dependents. */
let dep: LabRig;
const port: Record<string, number> = {};
const app = (p: number, extra = '') => `"C:\\Program Files\\App\\app.exe" --port ${p}${extra}`;

beforeAll(async () => {
  for (const k of ['starts', 'shared', 'ded', 'crit', 'slow', 'base', 'dep1', 'dep2', 'unused']) port[k] = await freePort();
  runner = pool('Legacy');
  await runner.warm();
  rig = await LabRig.create(runner, {
    services: [{ name: 'Starts', binaryPath: app(port.starts!), startType: 'delayed-auto' }],
  });
  proc = await LabRig.create(runner, {
    services: [
      { name: 'ShA', binaryPath: `${SHARED} --port ${port.shared}`, serviceType: 0x20, start: false },
      { name: 'ShB', binaryPath: `${SHARED} --port ${port.shared}`, serviceType: 0x20, start: false },
      { name: 'Ded', binaryPath: app(port.ded!), failure: DED_FAILURE },
      { name: 'Crit', binaryPath: app(port.crit!), failure: DED_FAILURE, criticalProcess: true },
    ],
  });
  ctl = await LabRig.create(runner, {
    startTimeoutMs: 2000,
    services: [{ name: 'Slow', binaryPath: app(port.slow!, ' --stop-ms 4000') }],
  });
  dep = await LabRig.create(runner, {
    services: [
      { name: 'Base', binaryPath: app(port.base!) },
      { name: 'Dep1', binaryPath: app(port.dep1!), dependencies: ['Base'] },
      { name: 'Dep2', binaryPath: app(port.dep2!), dependencies: ['Dep1'] },
    ],
  });
  // initLabHost gives every service a process of its own; the SCM puts the second into the first one's process.
  await proc.exec(
    `sc.exe start ShA | Out-Null; $n = 0; while ((Get-CimInstance Win32_Service -Filter "Name='ShA'").State -ne 'Running' -and $n -lt 400) { Start-Sleep -Milliseconds 25; $n++ }; sc.exe start ShB | Out-Null`,
  );
}, 180_000);

const SHARED = '"C:\\Program Files\\App\\shared.exe"';
const DED_FAILURE = { resetPeriod: 3600, rebootMessage: '', command: '', actions: [{ type: 'restart' as const, delayMs: 300 }], nonCrashFailures: false };

afterAll(async () => {
  await rig?.close();
  await proc?.close();
  await ctl?.close();
  await dep?.close();
  await runner?.close();
});

function expectOutcome(run: RigRun, outcome: string, code?: string): void {
  const where = `${run.result.outcome}/${run.result.reason.code}: ${run.result.message}`;
  expect(run.result.outcome, where).toBe(outcome);
  if (code) expect(run.result.reason.code, where).toBe(code);
}

describe('start type and the delayed flag', { timeout: 600_000 }, () => {
  it('every transition among auto, delayed-auto, demand and disabled writes and reads back exactly', async () => {
    // A walk through all twelve ordered pairs; it begins delayed -> demand -> auto and delayed -> disabled -> auto,
    // the two moves in which ChangeServiceConfig keeps a leftover flag (PowerShell-Docs #4354).
    const walk = [
      'demand',
      'auto',
      'delayed-auto',
      'disabled',
      'auto',
      'demand',
      'delayed-auto',
      'auto',
      'disabled',
      'demand',
      'disabled',
      'delayed-auto',
    ] as const;
    let from = 'delayed-auto';
    const seen: unknown[] = [];
    const wanted: unknown[] = [];
    for (const to of walk) {
      const run = await rig.run({ op: 'apply', service: 'Starts', desired: { startType: to }, restart: 'never' });
      const rec = rig.service('Starts');
      seen.push({
        step: `${from} -> ${to}`,
        outcome: `${run.result.outcome}/${run.result.reason.code}`,
        readBack: run.result.after?.config.startType,
        scm: rec.startType,
        flag: rec.delayedAutoStart,
      });
      // The flag is written explicitly every time: true only for delayed-auto (as Ansible's SCManager does).
      wanted.push({ step: `${from} -> ${to}`, outcome: 'changed/ok', readBack: to, scm: to === 'delayed-auto' ? 'auto' : to, flag: to === 'delayed-auto' });
      from = to;
    }
    expect(seen).toEqual(wanted);
    const back = await rig.run({ op: 'snapshot', service: 'Starts' });
    expectOutcome(back, 'unchanged', 'ok');
    expect(back.result.snapshot?.config.startType).toBe('delayed-auto');
  });
});

describe('processes: shared, dedicated, and the recovery actions of a killed one', { timeout: 600_000 }, () => {
  it('a correct change to a shared-process service passes verify although the host process keeps its PID', async () => {
    const before = proc.service('ShA').status.pid;
    expect(proc.service('ShB').status.pid).toBe(before);
    const run = await proc.run({ op: 'apply', service: 'ShA', desired: { args: { set: { workers: '2' } } } });
    expectOutcome(run, 'changed', 'ok');
    expect(run.result.restarted).toBe(true);
    expect(run.result.after?.pid).toBe(before);
    // The signal true for both kinds of process: the engine saw STOPPED, then RUNNING; the PID gate is skipped
    // with its reason on record.
    const gate = run.events.find((e) => e.data?.gate === 'pid');
    expect(gate?.data).toMatchObject({ gate: 'pid', skipped: true });
    expect(String(gate?.data?.reason)).toMatch(/ShB|0x20/);
    expect(proc.service('ShB').status).toMatchObject({ state: 'running', pid: before });
  });

  it('a shared process stuck in STOP_PENDING is never ended: rollback-failed with the reason, the other service untouched', async () => {
    const s0 = (await proc.run({ op: 'snapshot', service: 'ShA' })).result.snapshot!;
    const shared = proc.service('ShB').status.pid;
    const change = await proc.run({ op: 'apply', service: 'ShA', desired: { args: { set: { workers: '3' } } }, restart: 'never' });
    expectOutcome(change, 'changed');
    setLabFaults(proc.stateDir, [{ kind: 'stuck-stop-pending', service: 'ShA', times: 1 }]);
    const back = await proc.run({ op: 'rollback', service: 'ShA', restore: { snapshot: s0 }, timeouts: { stopSeconds: 2 } });
    expectOutcome(back, 'rollback-failed', 'kill-refused');
    expect(back.result.message).toMatch(/ShB/);
    expect(proc.service('ShB').status).toMatchObject({ state: 'running', pid: shared });
    expect(proc.service('ShA').status.state).toBe('stop-pending');
    expect(proc.recoveryFired()).toEqual([]);
  });

  it('a dedicated process stuck in STOP_PENDING is ended with its recovery actions suspended, then restored; nothing fires', async () => {
    const s0 = (await proc.run({ op: 'snapshot', service: 'Ded' })).result.snapshot!;
    const change = await proc.run({ op: 'apply', service: 'Ded', desired: { args: { set: { workers: '3' } } }, restart: 'never' });
    expectOutcome(change, 'changed');
    setLabFaults(proc.stateDir, [{ kind: 'stuck-stop-pending', service: 'Ded', times: 1 }]);
    const back = await proc.run({ op: 'rollback', service: 'Ded', restore: { snapshot: s0 }, timeouts: { stopSeconds: 2 } });
    expectOutcome(back, 'changed');
    // Long enough for a queued restart/300 to fire at the next look.
    await new Promise((r) => setTimeout(r, 600));
    await proc.run({ op: 'snapshot', service: 'Ded' });
    const rec = proc.service('Ded');
    expect(rec.recovery?.log.map((e) => e.action)).toEqual(['none']);
    expect(proc.recoveryFired().filter((f) => f.service === 'Ded')).toEqual([]);
    expect(rec.failure).toEqual(DED_FAILURE);
    expect(rec.status.state).toBe('running');
    const said = back.events.map((e) => e.message).join('\n');
    expect(said).toMatch(/suspended the failure actions/);
    expect(said).toMatch(/ending process \d+/);
    expect(said).toMatch(/restored the failure actions/);
  });
});

describe('processes: a critical one', { timeout: 600_000 }, () => {
  // docs/reference/windows-services.md "Killing a service process": IsProcessCritical, asked on the kill path only.
  it('a critical dedicated process stuck in STOP_PENDING is never ended: rollback-failed with the exact reason', async () => {
    const s0 = (await proc.run({ op: 'snapshot', service: 'Crit' })).result.snapshot!;
    const change = await proc.run({ op: 'apply', service: 'Crit', desired: { args: { set: { workers: '3' } } }, restart: 'never' });
    expectOutcome(change, 'changed');
    const pid = proc.service('Crit').status.pid;
    expect(pid).toBeGreaterThan(0);
    setLabFaults(proc.stateDir, [{ kind: 'stuck-stop-pending', service: 'Crit', times: 1 }]);
    const back = await proc.run({ op: 'rollback', service: 'Crit', restore: { snapshot: s0 }, timeouts: { stopSeconds: 2 } });
    expectOutcome(back, 'rollback-failed', 'kill-refused');
    expect(back.result.message).toContain(`PID ${pid} is a critical process (IsProcessCritical): ending it stops Windows`);
    // Not ended, nothing suspended, nothing fired.
    expect(proc.service('Crit').status).toMatchObject({ state: 'stop-pending', pid });
    expect(proc.service('Crit').failure).toEqual(DED_FAILURE);
    expect(proc.recoveryFired().filter((f) => f.service === 'Crit')).toEqual([]);
    const said = back.events.map((e) => e.message).join('\n');
    expect(said).toMatch(new RegExp(`not ending process ${pid}: .*critical process`));
    expect(said).not.toMatch(/suspended the failure actions|ending process \d+$/m);
  });
});

describe('stopping and starting: one stop control, then wait', { timeout: 600_000 }, () => {
  it('a service that cleans up in its stop handler (still RUNNING for 4 s) is restarted; the stop is never sent twice', async () => {
    const before = ctl.service('Slow').status.pid;
    const run = await ctl.run({ op: 'apply', service: 'Slow', desired: { args: { set: { workers: '2' } } }, verify: { port: port.slow! } });
    expectOutcome(run, 'changed', 'ok');
    expect(run.result.restarted).toBe(true);
    const rec = ctl.service('Slow');
    expect(rec.status.state).toBe('running');
    expect(rec.status.pid).not.toBe(before);
    expect(rec.recovery).toBeUndefined(); // stopped through the SCM: never a failure
    expect(run.events.filter((e) => e.phase === 'stop' && e.data?.control === 'stop')).toHaveLength(1);
  });
});

describe('running dependents (a stop fails with 1051 while they run)', { timeout: 600_000 }, () => {
  const pids = () => Object.fromEntries(['Base', 'Dep1', 'Dep2'].map((n) => [n, dep.service(n).status.pid]));
  const running = () => ['Base', 'Dep1', 'Dep2'].map((n) => dep.service(n).status.state);

  it('the plan shows them, in stop order', async () => {
    const plan = await dep.run({ op: 'plan', service: 'Base', desired: { args: { set: { workers: '2' } } } });
    expectOutcome(plan, 'changed');
    expect(plan.result.runningDependents).toEqual(['Dep2', 'Dep1']);
    expect(plan.result.message).toMatch(/Dep2, Dep1.*refuse/);
  });

  it('dependents: refuse (default): nothing changed, a clear reason, no backup', async () => {
    const before = pids();
    const run = await dep.run({ op: 'apply', service: 'Base', desired: { args: { set: { workers: '2' } } } });
    expectOutcome(run, 'failed', 'dependents-running');
    expect(run.result.reason.win32).toBe(1051);
    expect(run.result.message).toMatch(/Dep2, Dep1.*nothing was changed/);
    expect(run.result.runningDependents).toEqual(['Dep2', 'Dep1']);
    expect(run.result.backupPath).toBeUndefined();
    expect(dep.service('Base').binaryPath).toBe(app(port.base!));
    expect(pids()).toEqual(before);
    expect(running()).toEqual(['running', 'running', 'running']);
  });

  it('dependents: stop-and-restart: stopped in order, restarted after verify', async () => {
    const before = pids();
    const run = await dep.run({
      op: 'apply',
      service: 'Base',
      desired: { args: { set: { workers: '2' } } },
      dependents: 'stop-and-restart',
      verify: { port: port.base! },
    });
    expectOutcome(run, 'changed', 'ok');
    expect(run.result.restarted).toBe(true);
    const order = run.events.filter((e) => e.data?.dependent).map((e) => e.message);
    expect(order).toEqual(['stopping dependent Dep2', 'stopping dependent Dep1', 'starting dependent Dep1', 'starting dependent Dep2']);
    expect(running()).toEqual(['running', 'running', 'running']);
    const after = pids();
    for (const n of ['Base', 'Dep1', 'Dep2']) expect(after[n], n).not.toBe(before[n]);
  });

  it('stop-and-restart, then verify fails: the service is rolled back and the dependents run again', async () => {
    const run = await dep.run({
      op: 'apply',
      service: 'Base',
      desired: { args: { set: { workers: '3' } } },
      dependents: 'stop-and-restart',
      verify: { port: port.unused!, timeoutSeconds: 2 },
    });
    expectOutcome(run, 'rolled-back', 'verify-port');
    expect(run.result.rollback?.message).toMatch(/started the dependents again: Dep2, Dep1/);
    expect(dep.service('Base').binaryPath).toBe(app(port.base!, ' --workers 2'));
    expect(running()).toEqual(['running', 'running', 'running']);
  });

  it('rollback with running dependents, dependents: refuse (default): nothing changed, a clear reason, no backup', async () => {
    const base = dep.service('Base').binaryPath;
    const applied = await dep.run({
      op: 'apply',
      runId: 'deps-apply',
      service: 'Base',
      desired: { args: { set: { workers: '4' } } },
      dependents: 'stop-and-restart',
    });
    expectOutcome(applied, 'changed', 'ok');
    const before = pids();
    const run = await dep.run({ op: 'rollback', service: 'Base', restore: { fromRunId: 'deps-apply' } });
    expectOutcome(run, 'failed', 'dependents-running');
    expect(run.result.reason.win32).toBe(1051);
    expect(run.result.message).toMatch(/Dep2, Dep1.*nothing was changed/);
    expect(run.result.runningDependents).toEqual(['Dep2', 'Dep1']);
    expect(run.result.backupPath).toBeUndefined();
    expect(dep.service('Base').binaryPath).not.toBe(base);
    expect(pids()).toEqual(before);
    expect(running()).toEqual(['running', 'running', 'running']);
  });

  it('rollback with dependents: stop-and-restart: stopped in order before the restart, started after it', async () => {
    const before = pids();
    const snapshot = (await dep.run({ op: 'snapshot', service: 'Base' })).result.snapshot!;
    const run = await dep.run({ op: 'rollback', service: 'Base', restore: { fromRunId: 'deps-apply' }, dependents: 'stop-and-restart' });
    expectOutcome(run, 'changed', 'ok');
    expect(run.result.restarted).toBe(true);
    expect(run.result.runningDependents).toEqual(['Dep2', 'Dep1']);
    expect(run.result.message).toMatch(/started the dependents again: Dep2, Dep1/);
    const steps = run.events.filter((e) => e.data?.dependent || e.message === 'stopping' || e.message === 'starting').map((e) => e.message);
    expect(steps).toEqual([
      'stopping dependent Dep2',
      'stopping',
      'stopping dependent Dep1',
      'stopping',
      'stopping',
      'starting',
      'starting dependent Dep1',
      'starting',
      'starting dependent Dep2',
      'starting',
    ]);
    expect(dep.service('Base').binaryPath).not.toBe(snapshot.config.binaryPath);
    expect(dep.service('Base').binaryPath).not.toMatch(/--workers 4/);
    expect(running()).toEqual(['running', 'running', 'running']);
    const after = pids();
    for (const n of ['Base', 'Dep1', 'Dep2']) expect(after[n], n).not.toBe(before[n]);
  });
});
