/**
 * Crash safety: the controller (the built CLI, a child process) is killed with SIGKILL at random moments of an
 * apply on emulated hosts, 20 times. Each time, `svcfleet rollback RUN` must bring every host back to the
 * configuration it had before that run (checked on the emulated host itself), and `svcfleet show RUN` must
 * account for every host of the run — whatever the moment of the kill (before the journal exists, between the
 * snapshot sync and the apply request, mid-apply, after the end).
 *
 * Like a real remote host, an emulated host's in-flight op keeps running after the controller dies; the test
 * waits for those orphaned pwsh workers to finish before rolling back, so the outcome is deterministic.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateStream } from '../../cli/event-schema.js';
import {
  SERVICE,
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

/** 20 by default (the minimum); CRASH_ITERATIONS overrides it for local debugging only. */
const ITERATIONS = Number(process.env.CRASH_ITERATIONS ?? 20);
const lab = labTransport(2);
let fleet: LabFleet;

/** Deterministic "random" moments (a seeded LCG), so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

beforeAll(async () => {
  requireBuiltCli();
  fleet = await createLabFleet({
    dir: mkdtempSync(join(tmpdir(), 'svcfleet-crash-')),
    count: 2,
    prefix: 'crash',
    args: '--log-level info',
    // For the Ctrl-C test: starting the new command line blocks (StartService) until the host's start timeout.
    faults: { crash01: [{ kind: 'start-timeout', contains: '--workers 99' }], crash02: [{ kind: 'start-timeout', contains: '--workers 99' }] },
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await lab.runner.close();
  if (fleet) rmSync(fleet.dir, { recursive: true, force: true });
});

describe('kill -9 of the controller', () => {
  it(`rollback RUN restores every host and show RUN accounts for every host, ${ITERATIONS} random kills`, async () => {
    const random = rng(0x5eed);
    const kinds = new Map<string, number>();
    const times: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const before = new Map(fleet.names.map((n) => [n, fleet.binaryPath(n)]));
      // restart: never keeps each iteration cheap (no stop/start/verify); the journal, snapshot-sync and rollback
      // logic under test is the same with or without a restart.
      const spec = writeSpec(fleet.dir, `crash-${i}.yaml`, `service: ${SERVICE}\nset:\n  args: { set: { '--workers': '${10 + i}' } }\nrestart: never\n`);
      const t0 = Date.now();
      const journal = join(fleet.dir, `journal-${i}`);
      // Kill after a random number of streamed events (0..60; a whole 2-host run is about 55), plus jitter.
      const killAfter = Math.floor(random() * 60);
      const jitterMs = Math.floor(random() * 250);
      const child = spawnCli(
        ['apply', spec, '-i', fleet.inventory, '--journal', journal, '--output', 'ndjson', '-c', '2', '--max-failures', '2', '--retries', '0'],
        {
          SVCFLEET_LAB_RUNNER: 'pool',
          SVCFLEET_LAB_POOL_SIZE: '1',
          PATH: process.env.PATH,
        },
      );
      let lines = 0;
      let tracked: number[] = [];
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      await new Promise<void>((resolve) => {
        let fired = false;
        const fire = (): void => {
          if (fired) return;
          fired = true;
          setTimeout(() => {
            tracked = pwshDescendants(child.pid!);
            child.kill('SIGKILL');
            resolve();
          }, jitterMs);
        };
        if (killAfter === 0) fire();
        child.stdout!.on('data', (d: Buffer) => {
          lines += d.toString().split('\n').length - 1;
          if (lines >= killAfter) fire();
        });
        void exited.then(() => {
          if (!fired) {
            fired = true; // the run finished before the chosen moment: "after the end"
            resolve();
          }
        });
      });
      await exited;
      const tKill = Date.now();
      await waitProcessesGone(tracked, 60_000);
      const t1 = Date.now();

      const runsDir = join(journal, 'runs');
      const runs = existsSync(runsDir) ? readdirSync(runsDir).filter((r) => existsSync(join(runsDir, r, 'manifest.json'))) : [];
      if (runs.length === 0) {
        // Killed before the journal recorded the run: no host can have been asked to change.
        kinds.set('before-journal', (kinds.get('before-journal') ?? 0) + 1);
        for (const n of fleet.names) expect([i, n, fleet.binaryPath(n)]).toEqual([i, n, before.get(n)]);
        continue;
      }
      const runId = runs[0]!;
      const show = await cli(['show', runId, '--journal', journal, '--output', 'json'], undefined);
      expect(show.code, show.stderr).toBe(0);
      const shown = JSON.parse(show.stdout) as { status: string; hosts: { name: string; outcome: string | null; snapshots: string[] }[] };
      expect(shown.hosts.map((h) => h.name).sort()).toEqual([...fleet.names].sort());
      const plain = await cli(['show', runId, '--journal', journal], undefined);
      for (const n of fleet.names) expect(plain.stdout).toMatch(new RegExp(`^${n}\\s+\\S`, 'm'));
      const withSnapshot = shown.hosts.filter((h) => h.snapshots.length).length;
      kinds.set(`${shown.status}/${withSnapshot} snapshot(s)`, (kinds.get(`${shown.status}/${withSnapshot} snapshot(s)`) ?? 0) + 1);

      const rb = await cli(['rollback', runId, '--journal', journal, '--output', 'plain'], lab.transport);
      expect(rb.code, `iteration ${i} (kill after ${killAfter} events): ${rb.stdout}${rb.stderr}`).toBe(0);
      for (const n of fleet.names) expect([i, n, fleet.binaryPath(n)]).toEqual([i, n, before.get(n)]);
      times.push(`${tKill - t0}+${t1 - tKill}+${Date.now() - t1}`);
    }
    console.log(`iteration ms (controller until killed + orphans gone + show/rollback): ${times.join(' ')}`);
    console.log(`kill moments: ${JSON.stringify(Object.fromEntries(kinds))}`);
    // The moments really were spread out (not all "before the journal" or all "after the end").
    expect(kinds.size, JSON.stringify([...kinds])).toBeGreaterThanOrEqual(Math.min(3, ITERATIONS));
  }, 900_000);

  it('Ctrl-C twice: in-flight hosts are cancelled and restored from their snapshots; exit 3', { timeout: 300_000 }, async () => {
    const before = new Map(fleet.names.map((n) => [n, fleet.binaryPath(n)]));
    const spec = writeSpec(
      fleet.dir,
      'cancel.yaml',
      `service: ${SERVICE}\nset:\n  args: { set: { '--workers': '99' } }\nverify: { running: true, timeoutSeconds: 30 }\n`,
    );
    const journal = join(fleet.dir, 'journal-cancel');
    const child = spawnCli(['apply', spec, '-i', fleet.inventory, '--journal', journal, '--output', 'ndjson', '-c', '2', '--max-failures', '2'], {
      SVCFLEET_LAB_RUNNER: 'pool',
      SVCFLEET_LAB_POOL_SIZE: '2',
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const starting = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        for (const line of out.split('\n')) {
          if (line.includes('"remotePhase":"start-service"')) starting.add(JSON.parse(line).host);
        }
        if (starting.size === 2) resolve();
      });
      // A controller that ends before both hosts start would otherwise leave this waiting until the test timeout.
      void exited.then((code) => reject(new Error(`the controller exited (${code}) before both hosts reached start-service:\n${out}\n${err}`)));
    });
    child.kill('SIGINT'); // no new host starts; in-flight hosts would finish
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT'); // cancel them: they are cut off and restored
    const code = await exited;
    const { lastOutcome, events } = validateStream(out);
    expect(events.filter((e) => e.type === 'run-abort').map((e) => [e.reason, e.inFlight])).toEqual([
      ['signal', 'finish'],
      ['signal', 'cancel'],
    ]);
    expect(Object.fromEntries(lastOutcome), err).toEqual({ crash01: 'rolled-back', crash02: 'rolled-back' });
    expect(code).toBe(3);
    for (const n of fleet.names) expect(fleet.binaryPath(n)).toBe(before.get(n));
    expect(err).toMatch(/SIGINT again: cancelling/);
  });
});
