/**
 * The controller's disk fills in the middle of a run: the journal lives on a small tmpfs (test/journal/small-fs.ts)
 * that the test fills the moment the first apply request is about to leave. On emulated hosts (src/lab, the real
 * remote engine in pwsh): no host gets an apply request without its before-snapshot synced in the journal, the
 * run stops scheduling with a message naming the journal and the lack of space, the hosts already applying
 * finish, and once space is freed `resume` completes the run from what the journal and the hosts hold.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateStream } from '../../cli/event-schema.js';
import { mountSmallFs, type SmallFs } from '../../journal/small-fs.js';
import { argSpec, cli, createLabFleet, labTransport, requireBuiltCli, spawnCli, writeSpec, type CliResult, type LabFleet } from './lab-fleet.js';

const lab = labTransport(2);
let fleet: LabFleet;
let small: SmallFs;

beforeAll(async () => {
  requireBuiltCli();
  fleet = await createLabFleet({ dir: mkdtempSync(join(tmpdir(), 'svcfleet-diskfull-')), count: 4, prefix: 'df' });
  small = mountSmallFs('diskfull-journal', '1m');
}, 120_000);

afterAll(async () => {
  small?.dispose();
  await fleet?.stop();
  await lab.runner.close();
  if (fleet) rmSync(fleet.dir, { recursive: true, force: true });
});

/** Run the built CLI as a child process (the controller must end, as a real one does) and collect its output. */
async function runChild(args: string[], onStdout: (text: string) => void): Promise<CliResult> {
  const child = spawnCli(args, { SVCFLEET_LAB_RUNNER: 'pool', SVCFLEET_LAB_POOL_SIZE: '2' });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout(stdout);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { code: code ?? -1, stdout, stderr };
}

interface Shown {
  status: string;
  hosts: { name: string; outcome: string | null; snapshots: string[] }[];
  journal: { damagedLines: number; tornTail: boolean };
}

async function show(runId: string, journal: string): Promise<Shown> {
  const r = await cli(['show', runId, '--journal', journal, '--output', 'json'], undefined);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Shown;
}

describe('the journal disk fills mid-run', () => {
  it('refuses to start a run on a full journal disk, naming it, before contacting any host', async () => {
    const journal = join(small.dir, 'journal-full');
    const spec = writeSpec(fleet.dir, 'full.yaml', argSpec('workers', '3'));
    const raw = new Map(fleet.names.map((n) => [n, fleet.raw(n)]));
    small.fill();
    try {
      const r = await cli(['apply', spec, '-i', fleet.inventory, '--journal', journal, '--output', 'ndjson'], lab.transport);
      expect(r.code).toBe(1); // docs/cli.md: nothing was contacted
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(journal);
      expect(r.stderr).toMatch(/no space left on the filesystem holding it \(ENOSPC\); nothing was contacted/);
      for (const n of fleet.names) expect([n, fleet.raw(n)]).toEqual([n, raw.get(n)]);
    } finally {
      small.free();
      rmSync(journal, { recursive: true, force: true });
    }
  }, 60_000);

  it('stops scheduling, sends nothing unjournaled, and resume completes the run after space is freed', async () => {
    const journal = join(small.dir, 'journal');
    const spec = writeSpec(fleet.dir, 'fill.yaml', argSpec('workers', '5'));
    const before = new Map(fleet.names.map((n) => [n, fleet.binaryPath(n)]));
    let runId = '';
    let filledAt: string | undefined;
    // The controller prints each event as it emits it: the first `applying` means that host's snapshot is synced
    // and its apply request is leaving. The disk fills now, and the last page of the journal is used up, so the
    // next write of any record needs space there is not. (The remote apply takes far longer than this.)
    const r = await runChild(['apply', spec, '-i', fleet.inventory, '--journal', journal, '--output', 'ndjson', '-c', '2', '--retries', '0'], (out) => {
      if (filledAt) return;
      const events = out
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l) as { type: string; runId: string; host?: string; state?: string });
      runId ||= events[0]?.runId ?? '';
      const applying = events.find((e) => e.type === 'host-phase' && e.state === 'applying');
      if (applying) {
        filledAt = applying.host;
        small.fill();
        small.padToPage(join(journal, 'runs', runId, 'journal.ndjson'));
      }
    });
    expect(filledAt).toBeDefined();
    const jfile = join(journal, 'runs', runId, 'journal.ndjson');

    // The run stopped: aborted for the journal, exit 3, and the last word names the journal file and the cause.
    expect(r.code).toBe(3);
    const { events, lastOutcome } = validateStream(r.stdout);
    expect(events.find((e) => e.type === 'run-abort')).toMatchObject({ reason: 'journal', inFlight: 'finish' });
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `svcfleet: cannot write the journal ${jfile}: no space left on the filesystem holding it (ENOSPC); nothing was sent to this host; the run stops scheduling: free space for the journal, then run \`svcfleet resume ${runId}\``,
    );
    // Every host has an outcome in the stream: the hosts that had their apply request finished it (changed), a
    // host whose snapshot could not be written failed with nothing changed, the rest were never started.
    expect(lastOutcome.size).toBe(fleet.names.length);
    expect(lastOutcome.get(filledAt!)).toBe('changed');
    // The host caught writing its snapshot fails; a host still connecting or planning when the abort lands ends
    // skipped (an abort stops every host that has not sent a change): which of the two a second in-flight host
    // meets depends on which record hits the full disk first, and both leave it untouched.
    const refused = [...lastOutcome].filter(([, o]) => o === 'failed').map(([n]) => n);
    const stopped = [...lastOutcome].filter(([, o]) => o === 'skipped').map(([n]) => n);
    expect(refused.length + stopped.length).toBeGreaterThanOrEqual(1);
    for (const n of refused) {
      const done = events.find((e) => e.type === 'host-done' && e.host === n) as { message: string };
      expect(done.message).toContain(`cannot write the journal ${jfile}: no space left`);
      expect(done.message).toMatch(/nothing changed$/);
    }
    for (const [n, o] of lastOutcome) expect([n, o]).toEqual([n, expect.stringMatching(/^(changed|failed|skipped)$/)]);

    // What the journal holds while the disk is still full: whole lines only, and a synced before-snapshot for
    // every host that received an apply request (the remote engine's backup of this run is the proof of that).
    const mid = await show(runId, journal);
    expect(mid.status).toBe('interrupted'); // the manifest could not be marked done, and the controller is gone
    expect(mid.journal).toEqual({ damagedLines: 0, tornTail: false });
    expect(mid.hosts.map((h) => h.name).sort()).toEqual([...fleet.names].sort());
    const applied = fleet.names.filter((n) => fleet.backups(n).includes(`${runId}.json`));
    expect(applied).toContain(filledAt);
    for (const n of applied) expect([n, mid.hosts.find((h) => h.name === n)!.snapshots]).toEqual([n, ['AppSvc']]);
    for (const n of fleet.names.filter((x) => !applied.includes(x))) {
      expect([n, lastOutcome.get(n)]).not.toEqual([n, 'changed']);
      expect([n, fleet.binaryPath(n)]).toEqual([n, before.get(n)]);
    }

    // Space back: resume finishes the run. Hosts the first segment changed are recognised from their snapshot.
    small.free();
    const res = await cli(['resume', runId, '--journal', journal, '--output', 'ndjson', '-c', '2'], lab.transport);
    expect(res.code, res.stderr).toBe(0);
    const resumed = validateStream(res.stdout);
    for (const [n, o] of resumed.lastOutcome) expect([n, o]).toEqual([n, 'changed']);
    for (const n of applied) {
      if (resumed.lastOutcome.has(n))
        expect(resumed.events.find((e) => e.type === 'host-done' && e.host === n)).toMatchObject({ reason: { code: 'applied-earlier' } });
    }
    const after = await show(runId, journal);
    expect(after.status).toBe('done');
    expect(Object.fromEntries(after.hosts.map((h) => [h.name, h.outcome]))).toEqual(Object.fromEntries(fleet.names.map((n) => [n, 'changed'])));
    for (const n of fleet.names) {
      expect([n, fleet.binaryPath(n)]).toEqual([n, `${before.get(n)} --workers 5`]);
      expect([n, await fleet.runningArgs(n)]).toEqual([
        n,
        fleet
          .binaryPath(n)
          .replace(/^"[^"]*"\s*/, '')
          .split(' '),
      ]);
    }
  }, 300_000);
});
