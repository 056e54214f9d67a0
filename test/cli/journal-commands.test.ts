/**
 * The journal-driven commands through the real CLI (in-process), on the in-memory fake fleet
 * (test/engine/fake-fleet.ts): retry --failed, resume of an interrupted run, rollback (journal snapshots and
 * the host's own backup), runs, show, plan -o + apply plan.json, inspect, ping, render. The same commands run
 * on emulated hosts in test/app/fleet/.
 */
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/store.js';
import { startRun } from '../../src/engine/run.js';
import { newRunId } from '../../src/engine/run-id.js';
import { CHANGE, FakeFleet } from '../engine/fake-fleet.js';
import { cli } from '../app/fleet/lab-fleet.js';
import { validateStream } from './event-schema.js';

const HOSTS = ['web01', 'web02', 'web03', 'web04'];
let dir: string;
let inv: string;
let spec: string;
let journal: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-jcmd-'));
  inv = join(dir, 'inv.yaml');
  writeFileSync(
    inv,
    [
      'kind: svcfleet-inventory',
      'version: 1',
      'defaults: { transport: local }',
      'groups:',
      '  web: { hosts: [web01, web02, web03, web04] }',
      'hosts:',
      ...HOSTS.map((h) => `  ${h}: { address: 127.0.0.1, local: { stateDir: /nonexistent/${h} } }`),
    ].join('\n'),
  );
  spec = join(dir, 'spec.yaml');
  writeFileSync(spec, "service: Svc\nset:\n  binaryPath: 'C:\\app\\app.exe --port 2'\n  description: fixed\n");
  journal = join(dir, 'journal');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('journal commands', () => {
  it('retry --failed re-runs only the hosts that did not make it, in the same run', async () => {
    const fleet = new FakeFleet(HOSTS, ['Svc'], { web02: { unreachable: Infinity }, web03: { verifyFails: true } });
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson', '--max-failures', '5', '--retries', '0'], fleet.io);
    expect(a.code).toBe(2);
    const runId = validateStream(a.stdout).events[0]!.runId;
    fleet.setFaults('web02', {});
    fleet.setFaults('web03', {});
    const before = fleet.calls.length;
    const r = await cli(['retry', runId, '--failed', '--journal', journal, '--output', 'plain'], fleet.io);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(new Set(fleet.calls.slice(before).map((c) => c.host))).toEqual(new Set(['web02', 'web03']));
    const show = JSON.parse((await cli(['show', runId, '--journal', journal, '--output', 'json'], undefined)).stdout);
    expect(show.hosts.map((h: { outcome: string }) => h.outcome)).toEqual(['changed', 'changed', 'changed', 'changed']);
    expect(show.manifest.segments).toBe(2);
    // The whole run is one event stream: seq continues across segments.
    const nd = await cli(['show', runId, '--journal', journal, '--output', 'ndjson'], undefined);
    const seqs = nd.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).seq as number);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const nothing = await cli(['retry', runId, '--failed', '--journal', journal], fleet.io);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).toMatch(/nothing to retry/);
  });

  it('resume finishes an interrupted run; an apply that landed before the crash counts as changed', async () => {
    const fleet = new FakeFleet(HOSTS);
    // An interrupted run as kill -9 leaves it: web01 done, web02 snapshot journaled and applied on the host,
    // web03/web04 never started; the manifest names a dead controller.
    const j = new Journal(journal);
    const runId = newRunId();
    const writer = await j.createRun({
      runId,
      mode: 'apply',
      specFile: spec,
      inventorySources: [inv],
      hosts: HOSTS.map((h) => ({ name: h, groups: ['web'], vars: {}, connection: {} })),
    });
    const handle = startRun({ runId, mode: 'apply', tasks: [{ host: fleet.spec('web01'), changes: [CHANGE] }], io: fleet.io, snapshots: writer });
    writer.attach(handle);
    await handle.done;
    const snap = { config: fleet.config('web02'), configHash: '', state: 'running' as const, pid: 1, takenAt: '', findings: [] };
    const { hashConfig } = await import('../engine/fake-fleet.js');
    snap.configHash = hashConfig(snap.config);
    await writer.saveSnapshots('web02', [{ service: 'Svc', snapshot: snap }]);
    await writer.close();
    const mpath = join(journal, 'runs', runId, 'manifest.json');
    writeFileSync(mpath, JSON.stringify({ ...JSON.parse(readFileSync(mpath, 'utf8')), pid: 2 ** 22 + 4321 }));
    fleet.config('web02').binaryPath = 'C:\\app\\app.exe --port 2';
    fleet.config('web02').description = 'fixed';

    const shown = await cli(['show', runId, '--journal', journal], undefined);
    expect(shown.stdout).toMatch(/interrupted/);
    expect(shown.stdout).toMatch(/web02\s+no outcome recorded: never started; before-snapshot journaled/);
    expect(shown.stdout).toMatch(/web03\s+no outcome recorded: never started; nothing was sent to it/);
    const runs = await cli(['runs', '--journal', journal], undefined);
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s+apply\\s+interrupted`));

    const r = await cli(['resume', runId, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    // Journaled without the run's inputs (as an older svcfleet did): resumed from the spec file, with a warning.
    expect(r.stderr).toMatch(/warning: run \S+ was journaled without its inputs \(an older svcfleet\): resume reads the spec or plan file as it is now/);
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(Object.fromEntries(lastOutcome)).toEqual({ web02: 'changed', web03: 'changed', web04: 'changed' });
    expect(events.find((e) => e.type === 'host-done' && e.host === 'web02')).toMatchObject({ reason: { code: 'applied-earlier' } });
    const after = JSON.parse((await cli(['show', runId, '--journal', journal, '--output', 'json'], undefined)).stdout);
    expect(after.status).toBe('done');
    expect(after.hosts.map((h: { outcome: string }) => h.outcome)).toEqual(['changed', 'changed', 'changed', 'changed']);

    // rollback restores every host with a journaled snapshot, the pre-crash one included.
    const rb = await cli(['rollback', runId, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(rb.code, rb.stderr).toBe(0);
    for (const h of HOSTS) expect([h, fleet.config(h).binaryPath]).toEqual([h, 'C:\\app\\app.exe --port 1']);
    expect(validateStream(rb.stdout).events[0]!.runId).not.toBe(runId);
  });

  it("rollback --hosts restores from the journal, or from the host's own backup when the journal has no snapshot", async () => {
    const fleet = new FakeFleet(HOSTS);
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(a.code).toBe(0);
    const runId = validateStream(a.stdout).events[0]!.runId;
    // Lose web02's snapshot from the journal (as if the journal were restored from an older copy).
    const jpath = join(journal, 'runs', runId, 'journal.ndjson');
    writeFileSync(
      jpath,
      readFileSync(jpath, 'utf8')
        .split('\n')
        .filter((l) => !(l.includes('"r":"snapshot"') && l.includes('"web02"')))
        .join('\n'),
    );
    const r = await cli(['rollback', runId, '--hosts', 'web01:web02', '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(Object.fromEntries(lastOutcome)).toEqual({ web01: 'rolled-back', web02: 'rolled-back' });
    const web02Done = events.find((e) => e.type === 'host-done' && e.host === 'web02');
    expect(web02Done && web02Done.type === 'host-done' ? web02Done.message : '').toMatch(/host backup/);
    expect(fleet.config('web01').binaryPath).toBe('C:\\app\\app.exe --port 1');
    expect(fleet.config('web02').binaryPath).toBe('C:\\app\\app.exe --port 1');
    expect(fleet.config('web03').binaryPath).toBe('C:\\app\\app.exe --port 2'); // not selected
    const runs = await cli(['runs', '--journal', journal, '--output', 'json'], undefined);
    const listed = JSON.parse(runs.stdout) as { mode: string; parentRunId?: string }[];
    expect(listed.find((m) => m.mode === 'rollback')!.parentRunId).toBe(runId);
  });

  it('plan -o then apply plan.json: exactly the plan, with the drift guard', async () => {
    const fleet = new FakeFleet(HOSTS);
    fleet.config('web04').binaryPath = 'C:\\app\\app.exe --port 2';
    fleet.config('web04').description = 'fixed';
    const planFile = join(dir, 'plan.json');
    const p = await cli(['plan', spec, '-i', inv, '--journal', journal, '--output', 'plain', '-o', planFile], fleet.io);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Svc on 3 hosts web\[01-03\]/);
    expect(p.stdout).toMatch(/3 hosts to change, 1 unchanged/);
    expect(fleet.applied()).toEqual([]);
    fleet.config('web03').startType = 'disabled'; // someone changed web03 since the plan
    const a = await cli(['apply', planFile, '--journal', journal, '--output', 'ndjson'], fleet.io);
    const { lastOutcome } = validateStream(a.stdout);
    expect(Object.fromEntries(lastOutcome)).toEqual({ web01: 'changed', web02: 'changed', web03: 'drifted' });
    expect(fleet.applied().sort()).toEqual(['web01', 'web02']);
    expect(a.code).toBe(2);
  });

  it('inspect groups hosts by configuration, outliers first; ping reports who answered', async () => {
    const fleet = new FakeFleet(HOSTS, ['Svc'], { web04: { unreachable: Infinity } });
    fleet.config('web02').startType = 'disabled';
    const i = await cli(['inspect', 'Svc', '-i', inv, '--output', 'json', '--retries', '0'], fleet.io);
    expect(i.code).toBe(2);
    const report = JSON.parse(i.stdout);
    expect(report.groups.map((g: { hosts: string[]; baseline: boolean }) => [g.hosts, g.baseline])).toEqual([
      [['web02'], false],
      [['web01', 'web03'], true],
    ]);
    expect(report.groups[0].differences).toEqual([{ field: 'startType', value: 'disabled', baseline: 'auto' }]);
    expect(report.problems[0].hosts).toEqual(['web04']);
    const plain = await cli(['inspect', 'Svc', '-i', inv], fleet.io);
    expect(plain.stdout.split('\n')[1]).toMatch(/^1 host web02 .*outlier/);
    const ping = await cli(['ping', '-i', inv], fleet.io);
    expect(ping.code).toBe(2);
    expect(ping.stdout).toMatch(/web01 ok/);
    expect(ping.stdout).toMatch(/web04 unreachable/);
    expect(ping.stdout).toMatch(/3\/4 hosts answered; not ok: web04/);
  });

  it('render prints the bootstrap and payload for one host, contacting nothing and redacting the password', async () => {
    writeFileSync(
      spec,
      "service: Svc\nset:\n  account: { name: 'CORP\\svc', password: { env: SVC_PW } }\n  description: ‘smart’ “quotes” $(Remove-Item C:\\)\n",
    );
    const r = await cli(['render', spec, '--host', 'web01', '-i', inv], undefined, { SVC_PW: 'hunter2' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/-EncodedCommand [A-Za-z0-9+/=]+/);
    expect(r.stdout).toMatch(/\[REDACTED\]/);
    expect(r.stdout).toContain('\\u2018smart\\u2019'); // non-ASCII escaped on the wire: data, never code
    expect(r.stdout).not.toContain('hunter2');
    const json = JSON.parse((await cli(['render', spec, '--host', 'web01', '-i', inv, '--output', 'json'], undefined)).stdout);
    expect(Buffer.from(json.requests[0].encodedCommand, 'base64').toString('utf16le')).toBe(json.requests[0].bootstrap);
    // The password never goes into the JSON line: it has a stdin line of its own, shown redacted.
    expect(json.requests[0].payload.request.desired.account).toEqual({ name: 'CORP\\svc', passwordAtApply: true });
    expect(json.requests[0].passwordLine).toBe('hex:[REDACTED]');
  });

  it('journals under $XDG_STATE_HOME/svcfleet by default', async () => {
    const fleet = new FakeFleet(HOSTS);
    const state = join(dir, 'xdg-state');
    const a = await cli(['apply', spec, '-i', inv, '--output', 'plain'], fleet.io, { XDG_STATE_HOME: state });
    expect(a.code, a.stderr).toBe(0);
    const runs = await cli(['runs', '--output', 'json'], undefined, { XDG_STATE_HOME: state });
    const listed = JSON.parse(runs.stdout) as { runId: string }[];
    expect(listed).toHaveLength(1);
    expect(a.stderr).toContain(join(state, 'svcfleet', 'runs', listed[0]!.runId));
  });
});

// Which hosts resume and rollback --hosts pick (docs/cli.md): a Ctrl-C's skipped hosts are resumed, a safety
// stop's are held back unless named; a selected host the run never sent a change to is left out of a rollback.
describe('resume after the run was stopped', () => {
  it('finishes the hosts a Ctrl-C left skipped, and only those', async () => {
    const fleet = new FakeFleet(HOSTS);
    const j = new Journal(journal);
    const runId = newRunId();
    const writer = await j.createRun({
      runId,
      mode: 'apply',
      specFile: spec,
      inventorySources: [inv],
      hosts: HOSTS.map((h) => ({ name: h, groups: [], vars: {}, connection: {} })),
    });
    const handle = startRun({
      runId,
      mode: 'apply',
      tasks: HOSTS.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })),
      io: fleet.io,
      snapshots: writer,
      strategy: { concurrency: 1 },
    });
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

describe('resume, retry and rollback use what the run was reviewed with', () => {
  const PORT2 = 'C:\\app\\app.exe --port 2';
  const PORT3 = 'C:\\app\\app.exe --port 3';
  const editSpec = (): void => writeFileSync(spec, "service: Svc\nset:\n  binaryPath: 'C:\\app\\app.exe --port 3'\n  description: edited\n");
  const runStart = (stdout: string) =>
    validateStream(stdout).events[0] as { type: string; hosts: string[]; strategy: { concurrency: number; failureBudget: number } };

  it('journals the change, selection and rollout before any host is contacted, with no secret value', async () => {
    writeFileSync(
      spec,
      [
        'service: Svc',
        'set:',
        "  binaryPath: 'C:\\app\\app.exe --port 2'",
        '  account: { name: .\\svc, password: { env: SVC_PW } }',
        '  environment: { DB_PASSWORD: hunter2-in-spec, MODE: fast }',
        '',
      ].join('\n'),
    );
    const fleet = new FakeFleet(HOSTS, ['Svc'], { web02: { verifyFails: true } });
    const env = { SVC_PW: 'pw-from-env-7731' };
    const a = await cli(
      ['apply', spec, '-i', inv, '--limit', 'web01:web02', '--journal', journal, '--output', 'ndjson', '-c', '1', '--max-failures', '10'],
      fleet.io,
      env,
    );
    expect(a.code).toBe(2);
    const runId = validateStream(a.stdout).events[0]!.runId;
    const text = readFileSync(join(journal, 'runs', runId, 'inputs.json'), 'utf8');
    expect(text).not.toMatch(/pw-from-env-7731|hunter2-in-spec/);
    const inputs = JSON.parse(text);
    expect(inputs).toMatchObject({
      source: { kind: 'spec', file: spec },
      selection: { hosts: ['web01', 'web02'], inventory: [inv], limit: 'web01:web02' },
      rollout: { concurrency: 1, failureBudget: { kind: 'count', n: 10 }, canaryHosts: [] },
    });
    expect(inputs.requests.web02[0]).toMatchObject({
      service: 'Svc',
      passwordRef: { env: 'SVC_PW' },
      desired: { binaryPath: PORT2, account: { name: '.\\svc' }, environment: { DB_PASSWORD: '[REDACTED]', MODE: 'fast' } },
    });
    // retry sends the journaled change again: the password resolved from its reference, the sealed value from
    // the (unchanged) spec.
    fleet.setFaults('web02', {});
    const r = await cli(['retry', runId, '--journal', journal, '--output', 'ndjson'], fleet.io, env);
    expect(r.code, r.stderr).toBe(0);
    expect(fleet.config('web02').environment).toEqual({ DB_PASSWORD: 'hunter2-in-spec', MODE: 'fast' });
    // What the host received on the wire (the fake fleet reveals the Secret as the transport would).
    expect((fleet.config('web02').account as unknown as { password: string }).password).toBe('pw-from-env-7731');
  });

  it('resume applies the journaled change at the run’s concurrency and budget; the edited spec is reported and ignored', async () => {
    const fleet = new FakeFleet(HOSTS, ['Svc'], { web02: { dropAfterApply: true } });
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson', '-c', '1', '--max-failures', '3', '--retries', '1'], fleet.io);
    const first = validateStream(a.stdout);
    expect(first.lastOutcome.get('web02')).toBe('unknown');
    const runId = first.events[0]!.runId;
    editSpec();
    fleet.setFaults('web02', {});
    const r = await cli(['resume', runId, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    expect(runStart(r.stdout)).toMatchObject({ hosts: ['web02'], strategy: { concurrency: 1, failureBudget: 3 } });
    expect(fleet.config('web02').binaryPath).toBe(PORT2);
    expect(r.stderr).toMatch(/spec\.yaml changed on disk since the run started; it is ignored: resume applies the change run \S+ journaled \(pass --spec FILE/);
    expect(r.stderr).toMatch(
      /resume of run \S+ with the run's rollout: concurrency 1, max-failures 3, canary none, batches 100%, retries 1, deadline none, on-failure continue/,
    );
  });

  it('retry: flags given again override the run’s and are reported; --spec given applies that file, loudly', async () => {
    const fleet = new FakeFleet(HOSTS, ['Svc'], { web02: { verifyFails: true } });
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson', '-c', '1', '--max-failures', '10'], fleet.io);
    expect(a.code).toBe(2);
    const runId = validateStream(a.stdout).events[0]!.runId;
    editSpec();
    fleet.setFaults('web02', {});
    const r = await cli(['retry', runId, '--spec', spec, '-c', '2', '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    expect(runStart(r.stdout)).toMatchObject({ hosts: ['web02'], strategy: { concurrency: 2, failureBudget: 10 } });
    expect(fleet.config('web02').binaryPath).toBe(PORT3);
    expect(r.stderr).toMatch(/--concurrency 2 \(the run had 1\) overrides the run's setting/);
    expect(r.stderr).toMatch(
      /warning: --spec \S+spec\.yaml: retry applies this file, NOT the change run \S+ journaled \(the file differs from what the run applied\)/,
    );
  });

  it('never resumes or retries a host that a later rollback run took back', async () => {
    const fleet = new FakeFleet(HOSTS, ['Svc'], { web02: { verifyFails: true }, web03: { dropAfterApply: true } });
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson', '--max-failures', '10'], fleet.io);
    const first = validateStream(a.stdout);
    expect(Object.fromEntries(first.lastOutcome)).toMatchObject({ web02: 'rolled-back', web03: 'unknown' });
    const runId = first.events[0]!.runId;
    const rb = await cli(['rollback', runId, '--hosts', 'web02:web03', '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(rb.code, rb.stderr).toBe(0);
    const rbId = validateStream(rb.stdout).events[0]!.runId;
    expect(fleet.config('web03').binaryPath).toBe('C:\\app\\app.exe --port 1');
    fleet.setFaults('web02', {});
    fleet.setFaults('web03', {});

    const before = fleet.calls.length;
    const resumed = await cli(['resume', runId, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`not resuming web03: rollback run ${rbId} took them back; run apply again to change them`));
    expect(resumed.stderr).toMatch(/nothing to resume in run \S+: every remaining host was taken back by a rollback run/);
    const retried = await cli(['retry', runId, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toMatch(new RegExp(`not retrying web\\[02-03\\]: rollback run ${rbId} took them back`));
    expect(fleet.calls.length).toBe(before); // nothing contacted
    for (const h of ['web02', 'web03']) expect([h, fleet.config(h).binaryPath]).toEqual([h, 'C:\\app\\app.exe --port 1']);
  });

  it('rollback uses the run’s concurrency unless given again', async () => {
    const fleet = new FakeFleet(HOSTS, ['Svc'], {});
    const a = await cli(['apply', spec, '-i', inv, '--journal', journal, '--output', 'ndjson', '-c', '1'], fleet.io);
    expect(a.code, a.stderr).toBe(0);
    const runId = validateStream(a.stdout).events[0]!.runId;
    const rb = await cli(['rollback', runId, '--journal', journal, '--output', 'ndjson'], fleet.io);
    expect(rb.code, rb.stderr).toBe(0);
    expect(runStart(rb.stdout).strategy.concurrency).toBe(1);
    expect(rb.stderr).toMatch(/rollback of run \S+ with the run's concurrency 1/);
  });
});
