/**
 * The journal commands on emulated hosts (src/lab: the real ps-scripts in real pwsh against the emulated SCM,
 * services as real processes on loopback ports): `resume` after the controller was killed mid-run, `rollback
 * --hosts` from the host's own backup when the journal lost that host's before-snapshot, and `retry --failed`
 * after a fault was cleared. test/cli/journal-commands.test.ts runs the same commands on the in-memory fake fleet;
 * here the hosts' own state (emulated registry, the process really listening on the port, backup files) is the
 * judge.
 */
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateStream } from '../../cli/event-schema.js';
import {
  argSpec,
  cli,
  createLabFleet,
  labTransport,
  pwshDescendants,
  requireBuiltCli,
  spawnCli,
  waitProcessesGone,
  writeSpec,
  type LabFleet,
} from './lab-fleet.js';

const lab = labTransport(2);
let fleet: LabFleet;

interface ShownHost {
  name: string;
  outcome: string | null;
  reason?: { code: string };
  message?: string;
  snapshots: string[];
}
interface Shown {
  status: string;
  hosts: ShownHost[];
  journal: { damagedLines: number; tornTail: boolean };
  manifest: { segments: number; counts?: Record<string, number>; exitCode?: number };
}

async function show(runId: string, journal: string): Promise<Shown> {
  const r = await cli(['show', runId, '--journal', journal, '--output', 'json'], undefined);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Shown;
}

/** The `--port N --flag V ...` arguments after the executable, as the emulated SCM's registry holds them. */
const argsOf = (binaryPath: string): string => binaryPath.replace(/^"[^"]*"\s*/, '');

/**
 * `apply` as a child process, killed with SIGKILL once `after` hosts' outcomes are in the journal; waits for the
 * killed controller's pwsh workers to finish the op they were running. Returns the events it printed (whole
 * lines only: the kill may cut the last one).
 */
async function applyKilledAfter(after: number, args: string[], journal: string): Promise<{ runId: string; order: string[]; seq: number }> {
  const child = spawnCli(['apply', ...args, '--journal', journal, '--output', 'ndjson'], { SVCFLEET_LAB_RUNNER: 'pool', SVCFLEET_LAB_POOL_SIZE: '1' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let out = '';
  let workers: number[] = [];
  // Events are group-committed a few ms after stdout shows them; a host whose outcome never reached the
  // journal is unfinished as far as the run knows.
  const journaledDone = (): number => {
    const runId = /"runId":"([^"]+)"/.exec(out)?.[1];
    if (!runId) return 0;
    try {
      return (readFileSync(join(journal, 'runs', runId, 'journal.ndjson'), 'utf8').match(/"type":"host-done"/g) ?? []).length;
    } catch {
      return 0;
    }
  };
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (journaledDone() < after) return;
      clearInterval(poll);
      workers = pwshDescendants(child.pid!);
      child.kill('SIGKILL');
      resolve();
    }, 5);
    void exited.then(() => {
      clearInterval(poll);
      reject(new Error(`the controller ended before it could be killed:\n${out}`));
    });
  });
  expect(await exited).toBe(null); // killed, no exit code
  // The killed controller's pwsh worker finishes the op it was running (as a remote host would).
  await waitProcessesGone(workers, 60_000);
  const killed = out
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as { type: string; runId: string; seq: number; hosts?: string[] });
  return { runId: killed[0]!.runId, order: killed[0]!.hosts!, seq: Math.max(...killed.map((e) => e.seq)) };
}

beforeAll(async () => {
  requireBuiltCli();
  fleet = await createLabFleet({ dir: mkdtempSync(join(tmpdir(), 'svcfleet-jlab-')), count: 4, prefix: 'jl', args: '--log-level info' });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await lab.runner.close();
  if (fleet) rmSync(fleet.dir, { recursive: true, force: true });
});

describe('journal commands on emulated hosts', () => {
  it('resume after kill -9 of the controller finishes exactly the unfinished hosts, in the same run', async () => {
    const journal = join(fleet.dir, 'journal-resume');
    const spec = writeSpec(fleet.dir, 'resume.yaml', argSpec('workers', '7'));
    const before = new Map(fleet.names.map((n) => [n, fleet.binaryPath(n)]));
    // One host at a time, so "the first two finished, the others had not" is a clean cut.
    const killed = await applyKilledAfter(2, [spec, '-i', fleet.inventory, '-c', '1', '--retries', '0'], journal);
    const { runId, order } = killed; // the run's host order (inventory order)

    // Before resume: the run reads back as interrupted and show accounts for every host.
    const mid = await show(runId, journal);
    expect(mid.status).toBe('interrupted');
    expect(mid.hosts.map((h) => h.name).sort()).toEqual([...fleet.names].sort());
    const finished = mid.hosts.filter((h) => h.outcome !== null).map((h) => h.name);
    const unfinished = order.filter((n) => !finished.includes(n));
    // -c 1: the first two hosts finished, the third was in flight (or just queued), the fourth never started.
    expect([...finished].sort()).toEqual(order.slice(0, 2).sort());
    for (const h of mid.hosts) if (finished.includes(h.name)) expect([h.name, h.outcome]).toEqual([h.name, 'changed']);
    for (const n of unfinished.slice(1)) expect([n, mid.hosts.find((h) => h.name === n)!.snapshots]).toEqual([n, []]);
    const plainMid = await cli(['show', runId, '--journal', journal], undefined);
    for (const n of unfinished) expect(plainMid.stdout).toMatch(new RegExp(`^${n}\\s+no outcome recorded`, 'm'));
    const runs = await cli(['runs', '--journal', journal], undefined);
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s+apply\\s+interrupted`));

    // What the finished hosts look like now: resume must not touch them again.
    const finishedRaw = new Map(finished.map((n) => [n, fleet.raw(n)]));
    const finishedBackups = new Map(finished.map((n) => [n, fleet.backups(n)]));
    // The host that was in flight when the controller died may have been changed by its orphaned op.
    const appliedEarlier = unfinished.filter((n) => fleet.binaryPath(n).includes('--workers 7'));
    for (const n of appliedEarlier) expect(mid.hosts.find((h) => h.name === n)!.snapshots).toEqual(['AppSvc']);

    const r = await cli(['resume', runId, '--journal', journal, '--output', 'ndjson', '-c', '2'], lab.transport);
    expect(r.code, r.stderr).toBe(0); // docs/cli.md: 0 when every host ended changed/unchanged
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(events[0]).toMatchObject({ type: 'run-start', runId });
    expect(events[0]!.type === 'run-start' && [...events[0]!.hosts].sort()).toEqual([...unfinished].sort());
    expect(Object.fromEntries(lastOutcome)).toEqual(Object.fromEntries(unfinished.map((n) => [n, 'changed'])));
    // Nothing of this segment went to the finished hosts: no event names them, their state did not move.
    expect(events.filter((e) => 'host' in e && finished.includes((e as { host: string }).host))).toEqual([]);
    for (const n of finished) {
      expect([n, fleet.raw(n)]).toEqual([n, finishedRaw.get(n)]);
      expect([n, fleet.backups(n)]).toEqual([n, finishedBackups.get(n)]);
    }
    for (const n of appliedEarlier) {
      expect(events.find((e) => e.type === 'host-done' && e.host === n)).toMatchObject({ reason: { code: 'applied-earlier' } });
    }
    // Every host of the run is now changed, on the host itself: registry and the process on the port.
    for (const n of fleet.names) {
      expect([n, argsOf(fleet.binaryPath(n))]).toEqual([n, `${argsOf(before.get(n)!)} --workers 7`]);
      expect([n, await fleet.runningArgs(n)]).toEqual([n, argsOf(fleet.binaryPath(n)).split(' ')]);
    }
    // The sequence numbers continue the killed segment's.
    expect(events[0]!.seq).toBeGreaterThan(killed.seq);

    const after = await show(runId, journal);
    expect(after.status).toBe('done');
    expect(after.manifest.segments).toBe(2);
    expect(Object.fromEntries(after.hosts.map((h) => [h.name, h.outcome]))).toEqual(Object.fromEntries(fleet.names.map((n) => [n, 'changed'])));
    // The run's manifest sums up the whole run (both segments), not only the resumed hosts.
    expect(after.manifest.counts).toEqual({ changed: 4 });
    expect(after.manifest.exitCode).toBe(0);
    const nothing = await cli(['resume', runId, '--journal', journal], lab.transport);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).toMatch(/nothing to resume/);
  }, 120_000);

  it('rollback --hosts restores a host whose journaled before-snapshot was lost from its own backup', async () => {
    const journal = join(fleet.dir, 'journal-backup');
    const hosts = ['jl01', 'jl02'];
    const before = new Map(hosts.map((n) => [n, fleet.binaryPath(n)]));
    const spec = writeSpec(fleet.dir, 'backup.yaml', argSpec('log-level', 'warn'));
    const a = await cli(['apply', spec, '-i', fleet.inventory, '--limit', hosts.join(':'), '--journal', journal, '--output', 'ndjson'], lab.transport);
    expect(a.code, a.stderr).toBe(0);
    const runId = validateStream(a.stdout).events[0]!.runId;
    for (const n of hosts) {
      expect(fleet.binaryPath(n)).toContain('--log-level warn');
      // The remote engine backed the service up on the host before changing it, named by the run.
      expect(fleet.backups(n)).toContain(`${runId}.json`);
    }

    // Damage jl02's before-snapshot record in the journal as a bad disk would: one flipped byte, so its CRC-32
    // no longer matches and readers skip it.
    const jpath = join(journal, 'runs', runId, 'journal.ndjson');
    const lines = readFileSync(jpath, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"r":"snapshot"') && l.includes('"host":"jl02"'));
    expect(at).toBeGreaterThan(-1);
    lines[at] = lines[at]!.replace('"configHash":"', '"configHash":"X');
    writeFileSync(jpath, lines.join('\n'));
    const damaged = await show(runId, journal);
    expect(damaged.journal.damagedLines).toBe(1);
    expect(damaged.hosts.find((h) => h.name === 'jl02')!.snapshots).toEqual([]);
    expect(damaged.hosts.find((h) => h.name === 'jl01')!.snapshots).toEqual(['AppSvc']);

    const r = await cli(['rollback', runId, '--hosts', 'jl01:jl02', '--journal', journal, '--output', 'ndjson'], lab.transport);
    expect(r.code, r.stderr).toBe(0); // docs/cli.md: 0 when every host is restored
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(Object.fromEntries(lastOutcome)).toEqual({ jl01: 'rolled-back', jl02: 'rolled-back' });
    const doneOf = (h: string): { message: string; reason: { code: string } } => events.find((e) => e.type === 'host-done' && e.host === h) as never;
    // The outcome names the source: jl02 from the host's own backup of the run, jl01 from the journal.
    expect(doneOf('jl02').message).toMatch(new RegExp(`host's own backup of run ${runId}`));
    expect(doneOf('jl02').reason.code).toBe('restored-from-host-backup');
    expect(doneOf('jl01').message).not.toMatch(/backup/);
    expect(doneOf('jl01').reason.code).toBe('restored');
    // Both hosts are back: the emulated registry's command line and the process actually listening.
    for (const n of hosts) {
      expect([n, fleet.binaryPath(n)]).toEqual([n, before.get(n)]);
      expect([n, await fleet.runningArgs(n)]).toEqual([n, argsOf(before.get(n)!).split(' ')]);
    }
    // The rollback run is journaled with the same facts.
    const rbId = events[0]!.runId;
    expect(rbId).not.toBe(runId);
    const rb = await show(rbId, journal);
    expect(rb.hosts.find((h) => h.name === 'jl02')).toMatchObject({ outcome: 'rolled-back', reason: { code: 'restored-from-host-backup' } });
  }, 60_000);

  it('retry --failed reapplies only to the host that failed, once its fault is cleared', async () => {
    const journal = join(fleet.dir, 'journal-retry');
    const hosts = ['jl03', 'jl04'];
    const before = new Map(hosts.map((n) => [n, fleet.binaryPath(n)]));
    // The new command line never reaches RUNNING on jl04: StartService fails with 1053 after the start timeout.
    fleet.setFaults('jl04', [{ kind: 'start-timeout', contains: '--workers 8' }]);
    const spec = writeSpec(fleet.dir, 'retry.yaml', argSpec('workers', '8'));
    const a = await cli(
      ['apply', spec, '-i', fleet.inventory, '--limit', hosts.join(':'), '--journal', journal, '--output', 'ndjson', '--max-failures', '1'],
      lab.transport,
    );
    const first = validateStream(a.stdout);
    expect(Object.fromEntries(first.lastOutcome)).toEqual({ jl03: 'changed', jl04: 'rolled-back' });
    expect(a.code).toBe(2); // some hosts rolled back, not aborted (the budget allows one)
    expect(fleet.binaryPath('jl04')).toBe(before.get('jl04'));
    expect(await fleet.runningArgs('jl04')).toEqual(argsOf(before.get('jl04')!).split(' '));
    const runId = first.events[0]!.runId;

    fleet.setFaults('jl04', []);
    const jl03Raw = fleet.raw('jl03');
    const r = await cli(['retry', runId, '--failed', '--journal', journal, '--output', 'ndjson'], lab.transport);
    expect(r.code, r.stderr).toBe(0);
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(events[0]).toMatchObject({ type: 'run-start', runId, hosts: ['jl04'] });
    expect(Object.fromEntries(lastOutcome)).toEqual({ jl04: 'changed' });
    expect(fleet.raw('jl03')).toBe(jl03Raw); // not contacted again
    expect(fleet.binaryPath('jl04')).toMatch(/--workers 8$/);
    expect(await fleet.runningArgs('jl04')).toEqual(argsOf(fleet.binaryPath('jl04')).split(' '));

    const after = await show(runId, journal);
    expect(Object.fromEntries(after.hosts.map((h) => [h.name, h.outcome]))).toEqual({ jl03: 'changed', jl04: 'changed' });
    expect(after.manifest).toMatchObject({ segments: 2, counts: { changed: 2 }, exitCode: 0 });
  }, 60_000);
});

describe('resume, retry and rollback use what the run was reviewed with', () => {
  it('retry applies the journaled change with the run’s rollout flags, ignoring the spec edited since', async () => {
    const journal = join(fleet.dir, 'journal-replay-retry');
    const hosts = ['jl03', 'jl04'];
    fleet.setFaults('jl04', [{ kind: 'start-timeout', contains: '--workers 3' }]);
    const spec = writeSpec(fleet.dir, 'replay-retry.yaml', argSpec('workers', '3'));
    const a = await cli(
      ['apply', spec, '-i', fleet.inventory, '--limit', hosts.join(':'), '--journal', journal, '--output', 'ndjson', '-c', '1', '--max-failures', '10'],
      lab.transport,
    );
    const first = validateStream(a.stdout);
    expect(Object.fromEntries(first.lastOutcome)).toEqual({ jl03: 'changed', jl04: 'rolled-back' });
    const runId = first.events[0]!.runId;

    // After review and run, someone edits the spec on disk.
    writeSpec(fleet.dir, 'replay-retry.yaml', argSpec('workers', '99'));
    fleet.setFaults('jl04', []);
    const r = await cli(['retry', runId, '--journal', journal, '--output', 'ndjson'], lab.transport);
    expect(r.code, r.stderr).toBe(0);
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(Object.fromEntries(lastOutcome)).toEqual({ jl04: 'changed' });
    // The run's -c 1 and --max-failures 10, not today's defaults (20 and 0).
    expect(events[0]).toMatchObject({ type: 'run-start', runId, hosts: ['jl04'], strategy: { concurrency: 1, failureBudget: 10 } });
    expect(fleet.binaryPath('jl04')).toMatch(/--workers 3$/);
    expect(await fleet.runningArgs('jl04')).toEqual(argsOf(fleet.binaryPath('jl04')).split(' '));
    expect(r.stderr).toMatch(/replay-retry\.yaml changed on disk since the run started; it is ignored: retry applies the change run \S+ journaled/);
    expect(r.stderr).toMatch(/retry of run \S+ with the run's rollout: concurrency 1, max-failures 10/);
  }, 180_000);

  it('retry leaves alone a host that a later rollback run took back', async () => {
    const journal = join(fleet.dir, 'journal-replay-rollback');
    const hosts = ['jl01', 'jl02'];
    fleet.setFaults('jl02', [{ kind: 'start-timeout', contains: '--workers 5' }]);
    const spec = writeSpec(fleet.dir, 'replay-rollback.yaml', argSpec('workers', '5'));
    const a = await cli(
      ['apply', spec, '-i', fleet.inventory, '--limit', hosts.join(':'), '--journal', journal, '--output', 'ndjson', '--max-failures', '1'],
      lab.transport,
    );
    const first = validateStream(a.stdout);
    expect(Object.fromEntries(first.lastOutcome)).toEqual({ jl01: 'changed', jl02: 'rolled-back' });
    const runId = first.events[0]!.runId;
    const rb = await cli(['rollback', runId, '--hosts', 'jl02', '--journal', journal, '--output', 'ndjson'], lab.transport);
    expect(rb.code, rb.stderr).toBe(0);
    const rbId = validateStream(rb.stdout).events[0]!.runId;

    fleet.setFaults('jl02', []);
    const jl02Raw = fleet.raw('jl02');
    const r = await cli(['retry', runId, '--journal', journal, '--output', 'ndjson'], lab.transport);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`not retrying jl02: rollback run ${rbId} took them back`));
    expect(r.stderr).toMatch(/nothing to retry/);
    expect(fleet.raw('jl02')).toBe(jl02Raw); // not contacted
    expect(fleet.binaryPath('jl02')).not.toMatch(/--workers 5/);
  }, 180_000);

  it('resume after kill -9: the journaled change at the run’s concurrency, not the edited spec, and never a host a rollback took back', async () => {
    const journal = join(fleet.dir, 'journal-replay-resume');
    const spec = writeSpec(fleet.dir, 'replay-resume.yaml', argSpec('workers', '4'));
    const { runId, order } = await applyKilledAfter(1, [spec, '-i', fleet.inventory, '-c', '1'], journal);
    writeSpec(fleet.dir, 'replay-resume.yaml', argSpec('workers', '12'));
    // The first host without an outcome was in flight or queued when the controller died: roll it back.
    const mid = await show(runId, journal);
    const unfinished = order.filter((n) => mid.hosts.find((h) => h.name === n)!.outcome === null);
    expect(unfinished.length).toBeGreaterThanOrEqual(2);
    const [takenBackHost, ...rest] = unfinished as [string, ...string[]];
    const rb = await cli(['rollback', runId, '--hosts', takenBackHost, '--journal', journal, '--output', 'ndjson'], lab.transport);
    expect([0, 4], rb.stderr).toContain(rb.code); // restored, or nothing of the run's to restore from on the host
    const rbId = validateStream(rb.stdout).events[0]!.runId;
    const takenBack = fleet.raw(takenBackHost);

    const r = await cli(['resume', runId, '--journal', journal, '--output', 'ndjson', '--retries', '1'], lab.transport);
    expect(r.code, r.stderr).toBe(0);
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(events[0]).toMatchObject({ type: 'run-start', runId, hosts: rest, strategy: { concurrency: 1 } });
    expect(Object.fromEntries(lastOutcome)).toEqual(Object.fromEntries(rest.map((n) => [n, 'changed'])));
    for (const n of rest) expect([n, fleet.binaryPath(n)]).toEqual([n, expect.stringMatching(/--workers 4$/)]);
    expect(fleet.raw(takenBackHost)).toBe(takenBack);
    expect(r.stderr).toMatch(new RegExp(`not resuming ${takenBackHost}: rollback run ${rbId} took them back`));
    expect(r.stderr).toMatch(/replay-resume\.yaml changed on disk since the run started; it is ignored/);
    expect(r.stderr).toMatch(/--retries 1 \(the run had 2\) overrides the run's setting/);
    const after = await show(runId, journal);
    expect(after.hosts.find((h) => h.name === takenBackHost)!.outcome).toBe(null);
  }, 240_000);
});
