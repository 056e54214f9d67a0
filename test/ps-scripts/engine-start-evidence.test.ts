/**
 * Start-failure evidence: the real engine on an emulated host. A service that cannot start, or dies during verify,
 * leaves its own exit codes and the last lines logged about it in the result - the Service Control Manager's
 * events and (in the lab) the service program's output, read through Get-WinEvent, the engine's one seam to the
 * event log (docs/reference/windows-services.md "Start-failure evidence").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabRunner } from '../../src/lab/runner/index.js';
import { freePort, LabRig, pool, type RigRun } from './lab-rig.js';

let runner: LabRunner;
let rig: LabRig;
const port: Record<string, number> = {};
const app = (p: number, extra = '') => `"C:\\Program Files\\App\\app.exe" --port ${p}${extra}`;

beforeAll(async () => {
  for (const k of ['flag', 'crash']) port[k] = await freePort();
  runner = pool('Legacy', 1);
  await runner.warm();
  rig = await LabRig.create(runner, {
    services: [
      { name: 'Flag', displayName: 'Flag Service', binaryPath: app(port.flag!) },
      { name: 'Crash', binaryPath: app(port.crash!) },
    ],
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

describe.concurrent('start-failure evidence', { timeout: 300_000 }, () => {
  it('a new binary path that cannot start: the service exit code and its own last lines, then the rollback', async () => {
    const run = await rig.run({
      op: 'apply',
      service: 'Flag',
      desired: { args: { set: { '--bogus': '1' } } },
      verify: { port: port.flag!, timeoutSeconds: 10 },
    });
    expectOutcome(run, 'rolled-back', 'start-failed');
    expect(run.result.message).toMatch(/exit code 1067, service exit code 2/);
    const ev = run.result.evidence!;
    expect(ev).toMatchObject({ service: 'Flag', win32ExitCode: 1067, serviceExitCode: 2 });
    const texts = ev.lines.map((l) => `${l.source} ${l.id} ${l.text}`);
    expect(
      texts.some((t) => t.startsWith('Application/Flag 0 flag provided but not defined: -bogus')),
      texts.join('\n'),
    ).toBe(true);
    expect(
      texts.some((t) => t.startsWith('System/Service Control Manager 7034 The Flag Service service terminated unexpectedly')),
      texts.join('\n'),
    ).toBe(true);
    // Only this start's lines: the output of the service's earlier, healthy start is not evidence.
    expect(texts.some((t) => t.includes('ready pid='))).toBe(false);
    expect(ev.lines.length).toBeLessThanOrEqual(20);
    expect(ev.lines.map((l) => l.at)).toEqual([...ev.lines.map((l) => l.at)].sort());
  });

  it('a service that dies during verify: the evidence says how it ended', async () => {
    // Running, then a config file that does not exist: the program exits 1 right after its start.
    const run = await rig.run({
      op: 'apply',
      service: 'Crash',
      desired: { args: { set: { '--config': 'C:\\missing\\app.yaml' } } },
      verify: { port: port.crash!, timeoutSeconds: 10 },
    });
    expectOutcome(run, 'rolled-back');
    const ev = run.result.evidence!;
    expect(ev).toMatchObject({ service: 'Crash', win32ExitCode: 1067, serviceExitCode: 1 });
    expect(ev.lines.map((l) => l.text).join('\n')).toContain('no such file or directory');
  });

  it('a successful apply carries no evidence', async () => {
    const run = await rig.run({ op: 'apply', service: 'Crash', desired: { description: 'fine' }, verify: { port: port.crash! } });
    expectOutcome(run, 'changed');
    expect(run.result.evidence).toBeUndefined();
  });
});
