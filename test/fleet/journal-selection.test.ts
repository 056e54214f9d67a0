/**
 * Which hosts the journal commands pick (docs/cli.md), through the real CLI in-process on the in-memory fake fleet
 * (test/engine/fake-fleet.ts; the commands on emulated hosts are in journal-lab.test.ts):
 * - `resume`: hosts a person stopped (Ctrl-C, abort) are resumed; hosts the run's own safety stop left alone
 *   (failure budget, failed canary) are held back unless named with --hosts.
 * - `rollback --hosts`: a selected host the run never sent a change to is left out (it has no backup of the run),
 *   instead of failing as rollback-failed (exit 4).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/store.js';
import { startRun } from '../../src/engine/run.js';
import { newRunId } from '../../src/engine/run-id.js';
import { CHANGE, FakeFleet } from '../engine/fake-fleet.js';
import { validateStream } from '../cli/event-schema.js';
import { cli } from './lab-fleet.js';

const HOSTS = ['web01', 'web02', 'web03', 'web04'];
let dir: string;
let inv: string;
let spec: string;
let journal: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-resume-'));
  inv = join(dir, 'inv.yaml');
  writeFileSync(
    inv,
    ['kind: svcfleet-inventory', 'version: 1', 'defaults: { transport: local }', 'hosts:', ...HOSTS.map((h) => `  ${h}: { address: 127.0.0.1, local: { stateDir: /nonexistent/${h} } }`)].join('\n'),
  );
  spec = join(dir, 'spec.yaml');
  // CHANGE of the fake fleet: the same binary path and description.
  writeFileSync(spec, "service: Svc\nset:\n  binaryPath: 'C:\\app\\app.exe --port 2'\n  description: fixed\n");
  journal = join(dir, 'journal');
});

describe('resume after the run was stopped', () => {
  it('finishes the hosts a Ctrl-C left skipped, and only those', async () => {
    const fleet = new FakeFleet(HOSTS);
    const j = new Journal(journal);
    const runId = newRunId();
    const writer = await j.createRun({ runId, mode: 'apply', specFile: spec, inventorySources: [inv], hosts: HOSTS.map((h) => ({ name: h, groups: [], vars: {}, connection: {} })) });
    const handle = startRun({ runId, mode: 'apply', tasks: HOSTS.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })), io: fleet.io, snapshots: writer, strategy: { concurrency: 1 } });
    writer.attach(handle);
    // What the first Ctrl-C does (engine/signals.ts): no new host starts, the one in flight finishes.
    handle.subscribe((e) => {
      if (e.type === 'host-done' && e.host === 'web01') handle.send({ type: 'abort', reason: 'signal', inFlight: 'finish' });
    });
    const done = await handle.done;
    await writer.finish(done);
    expect(done.exitCode).toBe(3);
    expect(fleet.applied()).toEqual(['web01']);

    const before = fleet.calls.length;
    const r = await cli(['resume', runId, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    const { lastOutcome } = validateStream(r.stdout);
    expect(Object.fromEntries(lastOutcome)).toEqual({ web02: 'changed', web03: 'changed', web04: 'changed' });
    expect(new Set(fleet.calls.slice(before).map((c) => c.host))).toEqual(new Set(['web02', 'web03', 'web04']));
    const shown = JSON.parse((await cli(['show', runId, '--journal', journal, '--output', 'json'], undefined)).stdout);
    expect(shown.hosts.map((h: { outcome: string }) => h.outcome)).toEqual(['changed', 'changed', 'changed', 'changed']);
    expect(shown.manifest).toMatchObject({ counts: { changed: 4 }, exitCode: 0 });
  });

  it('holds back the hosts a failure-budget stop left skipped unless --hosts names them', async () => {
    const fleet = new FakeFleet(HOSTS, ['Svc'], { web01: { verifyFails: true } });
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson', '-c', '1'], fleet.io);
    expect(a.code).toBe(3); // budget 0: the first failure stops the rollout
    const first = validateStream(a.stdout);
    expect(Object.fromEntries(first.lastOutcome)).toEqual({ web01: 'rolled-back', web02: 'skipped', web03: 'skipped', web04: 'skipped' });
    const runId = first.events[0]!.runId;

    const before = fleet.calls.length;
    const held = await cli(['resume', runId, '--journal', journal], fleet.io);
    expect(held.code).toBe(0);
    expect(held.stderr).toMatch(/not resuming web\[02-04\] \(skipped: abort-budget\); name them with --hosts/);
    expect(held.stderr).toMatch(/nothing to resume/);
    expect(fleet.calls.length).toBe(before); // nothing contacted

    const r = await cli(['resume', runId, '--hosts', 'web02', '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.fromEntries(validateStream(r.stdout).lastOutcome)).toEqual({ web02: 'changed' });
    expect(new Set(fleet.calls.slice(before).map((c) => c.host))).toEqual(new Set(['web02']));
  });
});

describe('rollback --hosts over hosts the run never changed', () => {
  it('leaves them out instead of asking them for a backup they cannot have', async () => {
    const fleet = new FakeFleet(HOSTS);
    fleet.config('web04').binaryPath = 'C:\\app\\app.exe --port 2';
    fleet.config('web04').description = 'fixed';
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(a.code, a.stderr).toBe(0);
    const first = validateStream(a.stdout);
    expect(first.lastOutcome.get('web04')).toBe('unchanged');
    const runId = first.events[0]!.runId;

    const before = fleet.calls.length;
    const r = await cli(['rollback', runId, '--hosts', 'web*', '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not rolling back web04: run \S+ ended there without sending a change/);
    expect(Object.fromEntries(validateStream(r.stdout).lastOutcome)).toEqual({ web01: 'rolled-back', web02: 'rolled-back', web03: 'rolled-back' });
    expect(fleet.calls.slice(before).map((c) => c.host)).not.toContain('web04');
    for (const h of HOSTS.slice(0, 3)) expect([h, fleet.config(h).binaryPath]).toEqual([h, 'C:\\app\\app.exe --port 1']);
  });
});
