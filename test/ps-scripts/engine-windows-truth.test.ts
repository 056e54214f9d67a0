/**
 * The real remote engine (ps-scripts/engine/) on emulated hosts that behave as real Windows does where the engine's
 * old beliefs were wrong (docs/reference/discrepancies.md). Each case failed on the engine before its fix; the
 * emulated behaviour it relies on is tested on its own in test/lab-scm/ and listed in docs/windows-proof.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabRunner } from '../../src/lab/runner/index.js';
import { freePort, LabRig, pool, type RigRun } from './lab-rig.js';

let runner: LabRunner;
let rig: LabRig;
const port: Record<string, number> = {};
const app = (p: number, extra = '') => `"C:\\Program Files\\App\\app.exe" --port ${p}${extra}`;

beforeAll(async () => {
  for (const k of ['starts']) port[k] = await freePort();
  runner = pool('Legacy');
  await runner.warm();
  rig = await LabRig.create(runner, {
    services: [{ name: 'Starts', binaryPath: app(port.starts!), startType: 'delayed-auto' }],
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

describe('start type and the delayed flag', { timeout: 600_000 }, () => {
  it('every transition among auto, delayed-auto, demand and disabled writes and reads back exactly', async () => {
    // A walk through all twelve ordered pairs; it begins delayed -> demand -> auto and delayed -> disabled -> auto,
    // the two moves in which ChangeServiceConfig keeps a leftover flag (PowerShell-Docs #4354).
    const walk = ['demand', 'auto', 'delayed-auto', 'disabled', 'auto', 'demand', 'delayed-auto', 'auto', 'disabled', 'demand', 'disabled', 'delayed-auto'] as const;
    let from = 'delayed-auto';
    const seen: unknown[] = [];
    const wanted: unknown[] = [];
    for (const to of walk) {
      const run = await rig.run({ op: 'apply', service: 'Starts', desired: { startType: to }, restart: 'never' });
      const rec = rig.service('Starts');
      seen.push({ step: `${from} -> ${to}`, outcome: `${run.result.outcome}/${run.result.reason.code}`, readBack: run.result.after?.config.startType, scm: rec.startType, flag: rec.delayedAutoStart });
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
