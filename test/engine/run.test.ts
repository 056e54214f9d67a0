/**
 * Scheduler and per-host state machine semantics, proven fast on the in-memory fake fleet (fake-fleet.ts).
 * The same scenarios run on real emulated hosts in test/app/fleet/.
 */
import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/engine/run.js';
import type { FleetEvent, HostDoneEvent, RunDoneEvent, RunHandle } from '../../src/engine/events.js';
import type { EngineIO, HostTask, RunOptions, SnapshotStore } from '../../src/engine/types.js';
import { TransportError } from '../../src/transport/types.js';
import type { Strategy } from '../../src/config/strategy.js';
import { CHANGE, FakeFleet, hashConfig, type Faults } from './fake-fleet.js';

const names = (n: number, prefix = 'web'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);

/** A snapshot store that records when each host's snapshot became durable (after an artificial delay). */
class RecordingStore implements SnapshotStore {
  saved: { host: string; at: number }[] = [];
  constructor(
    private readonly fleet: FakeFleet,
    private readonly delayMs = 5,
  ) {}
  async saveSnapshots(host: string): Promise<void> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    // The call log is the fake fleet's clock: remember where in it the sync completed.
    this.saved.push({ host, at: this.fleet.calls.length });
  }
}

interface Ran {
  events: FleetEvent[];
  done: RunDoneEvent;
  outcome: (host: string) => string | undefined;
  doneEvents: HostDoneEvent[];
}

async function run(
  fleet: FakeFleet,
  hosts: string[],
  strategy: Partial<Strategy> = {},
  extra: Partial<RunOptions> = {},
  steer?: (h: RunHandle, e: FleetEvent) => void,
): Promise<Ran> {
  const tasks: HostTask[] = hosts.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] }));
  const handle = startRun({ mode: 'apply', tasks, io: fleet.io, snapshots: new RecordingStore(fleet), strategy: { retryBaseMs: 1, ...strategy }, ...extra });
  const events: FleetEvent[] = [];
  handle.subscribe((e) => {
    events.push(e);
    steer?.(handle, e);
  });
  const done = await handle.done;
  const doneEvents = events.filter((e): e is HostDoneEvent => e.type === 'host-done');
  const outcome = (h: string): string | undefined => doneEvents.filter((e) => e.host === h).at(-1)?.outcome;
  return { events, done, outcome, doneEvents };
}

function expectEveryHostTerminal(r: Ran, hosts: string[]): void {
  for (const h of hosts) expect(r.outcome(h), h).toBeDefined();
  expect(r.events.at(-1)!.type).toBe('run-done');
  const counted = Object.values(r.done.counts).reduce((a, b) => a + (b ?? 0), 0);
  expect(counted).toBe(hosts.length);
  // One stream: one run id, strictly increasing sequence numbers.
  expect(new Set(r.events.map((e) => e.runId)).size).toBe(1);
  r.events.forEach((e, i) => i > 0 && expect(e.seq).toBe(r.events[i - 1]!.seq + 1));
}

describe('engine: per-host flow', () => {
  it('changes every host, syncing the before-snapshot before the apply request is sent', async () => {
    const hosts = names(12);
    const fleet = new FakeFleet(hosts);
    const store = new RecordingStore(fleet, 3);
    const tasks: HostTask[] = hosts.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] }));
    const handle = startRun({ mode: 'apply', tasks, io: fleet.io, snapshots: store, strategy: { concurrency: 4 } });
    const done = await handle.done;
    expect(done.exitCode).toBe(0);
    expect(done.counts).toEqual({ changed: 12 });
    for (const h of hosts) {
      const saved = store.saved.find((s) => s.host === h)!;
      const applyIndex = fleet.calls.findIndex((c) => c.host === h && c.op === 'apply');
      expect(saved, h).toBeDefined();
      expect(applyIndex).toBeGreaterThanOrEqual(saved.at); // apply logged after the sync completed
      expect(fleet.config(h).binaryPath).toBe(CHANGE.desired!.binaryPath);
      // Drift guard: the apply carries the hash of the snapshot that was journaled.
      expect(fleet.calls[applyIndex]!.expectedHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(fleet.peak).toBeLessThanOrEqual(4);
  });

  it('reports unchanged, and sends no apply, when nothing differs', async () => {
    const hosts = names(3);
    const fleet = new FakeFleet(hosts);
    await run(fleet, hosts);
    const before = fleet.calls.length;
    const r = await run(fleet, hosts);
    expect(r.done.counts).toEqual({ unchanged: 3 });
    expect(r.done.exitCode).toBe(0);
    expect(fleet.calls.slice(before).some((c) => c.op === 'apply')).toBe(false);
  });

  it('ends each faulty host in the right state, with the documented exit codes', async () => {
    const hosts = names(8);
    const faults: Record<string, Faults> = {
      web02: { verifyFails: true },
      web03: { unreachable: Infinity },
      web04: { noService: true },
      web05: { dropAfterApply: true },
      web06: { authFailed: true },
    };
    const fleet = new FakeFleet(hosts, ['Svc'], faults);
    const r = await run(fleet, hosts, { maxFailures: { kind: 'count', n: 10 }, retries: 1 });
    expectEveryHostTerminal(r, hosts);
    expect(r.outcome('web01')).toBe('changed');
    expect(r.outcome('web02')).toBe('rolled-back');
    expect(fleet.config('web02').binaryPath).toBe('C:\\app\\app.exe --port 1');
    expect(r.outcome('web03')).toBe('unreachable');
    expect(r.outcome('web04')).toBe('failed');
    expect(r.outcome('web05')).toBe('unknown');
    expect(r.outcome('web06')).toBe('unreachable');
    expect(r.done.exitCode).toBe(2);
    // Unreachable hosts retried (connect phase) — auth failures are not (lockouts).
    expect(fleet.calls.filter((c) => c.host === 'web03' && c.op === 'open')).toHaveLength(2);
    expect(fleet.calls.filter((c) => c.host === 'web06' && c.op === 'open')).toHaveLength(1);
    // An unreachable host is counted apart: budget used = rolled-back + failed + unknown.
    const budget = r.events.filter((e) => e.type === 'budget').at(-1);
    expect(budget).toMatchObject({ used: 3, exceeded: false });

    const r4 = await run(new FakeFleet(['a', 'b'], ['Svc'], { b: { verifyFails: true, rollbackFails: true } }), ['a', 'b'], {
      maxFailures: { kind: 'count', n: 5 },
    });
    expect(r4.outcome('b')).toBe('rollback-failed');
    expect(r4.done.exitCode).toBe(4);
  });

  it("turns what a host's transport warns about while connecting into that host's warn log line", async () => {
    const fleet = new FakeFleet(['a', 'b'], ['Svc'], { a: { openWarning: 'TLS certificate verification is DISABLED' } });
    const r = await run(fleet, ['a', 'b']);
    const warned = r.events.flatMap((e) => (e.type === 'host-log' && e.level === 'warn' ? [[e.host, e.text]] : []));
    expect(warned).toEqual([['a', 'TLS certificate verification is DISABLED']]);
  });

  it('retries a host that is unreachable for a while, and counts the attempts', async () => {
    const fleet = new FakeFleet(['a'], ['Svc'], { a: { unreachable: 2 } });
    const r = await run(fleet, ['a'], { retries: 2 });
    expect(r.outcome('a')).toBe('changed');
    expect(r.doneEvents[0]!.attempts).toBe(3);
    expect(r.events.filter((e) => e.type === 'host-log' && /retrying/.test(e.text))).toHaveLength(2);
  });

  it('connects again when the connection drops while the host is only read (plan), within the retries', async () => {
    const fleet = new FakeFleet(['a', 'b'], ['Svc'], { a: { dropDuringPlan: 1 }, b: { dropDuringPlan: 5 } });
    const r = await run(fleet, ['a', 'b'], { retries: 2, maxFailures: { kind: 'count', n: 5 } });
    expect(r.outcome('a')).toBe('changed');
    expect(r.doneEvents.find((e) => e.host === 'a')!.attempts).toBe(2);
    expect(
      r.events.some((e) => e.type === 'host-log' && e.host === 'a' && /connection lost while reading the host, before any change was sent/.test(e.text)),
    ).toBe(true);
    // Retries spent: the host fails as before, nothing sent, nothing changed.
    const b = r.doneEvents.find((e) => e.host === 'b')!;
    expect([b.outcome, b.attempts, b.message]).toEqual(['failed', 3, expect.stringMatching(/nothing changed$/)]);
    expect(fleet.applied()).toEqual(['a']);
  });

  it('leaves a host whose configuration changed since the saved plan as drifted, sending no apply', async () => {
    const fleet = new FakeFleet(['a', 'b']);
    const planned = { a: hashConfig(fleet.config('a')), b: hashConfig(fleet.config('b')) };
    fleet.config('b').description = 'changed by someone else';
    const tasks: HostTask[] = ['a', 'b'].map((h) => ({ host: fleet.spec(h), changes: [CHANGE], plannedHashes: { Svc: planned[h as 'a' | 'b'] } }));
    const handle = startRun({ mode: 'apply', tasks, io: fleet.io, snapshots: new RecordingStore(fleet) });
    const done = await handle.done;
    expect(done.counts).toEqual({ changed: 1, drifted: 1 });
    expect(fleet.applied()).toEqual(['a']);
    expect(done.exitCode).toBe(2);
  });

  it('restores the services already changed on a host when a later one fails (host-level unit)', async () => {
    const fleet = new FakeFleet(['a'], ['One', 'Two'], { a: { verifyFails: true, service: 'Two' } });
    const tasks: HostTask[] = [
      {
        host: fleet.spec('a'),
        changes: [
          { ...CHANGE, service: 'One' },
          { ...CHANGE, service: 'Two' },
        ],
      },
    ];
    const handle = startRun({ mode: 'apply', tasks, io: fleet.io, snapshots: new RecordingStore(fleet) });
    const done = await handle.done;
    expect(done.counts).toEqual({ 'rolled-back': 1 });
    expect(fleet.config('a', 'One').binaryPath).toBe('C:\\app\\app.exe --port 1');
    expect(fleet.config('a', 'Two').binaryPath).toBe('C:\\app\\app.exe --port 1');
  });

  it('plan mode is read-only', async () => {
    const hosts = names(4);
    const fleet = new FakeFleet(hosts, ['Svc'], { web04: { unreachable: Infinity } });
    const tasks: HostTask[] = hosts.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] }));
    const handle = startRun({ mode: 'plan', tasks, io: fleet.io, strategy: { retries: 0 } });
    const events: FleetEvent[] = [];
    handle.subscribe((e) => events.push(e));
    const done = await handle.done;
    expect(done.counts).toEqual({ changed: 3, unreachable: 1 });
    expect(fleet.applied()).toEqual([]);
    expect(events.filter((e) => e.type === 'host-diff')).toHaveLength(3);
  });
});

describe('engine: rollout', () => {
  it('a failing canary stops the run before any other host is contacted', async () => {
    const hosts = names(10);
    const fleet = new FakeFleet(hosts, ['Svc'], { web01: { verifyFails: true } });
    const r = await run(fleet, hosts, { canary: ['web01'], maxFailures: { kind: 'percent', pct: 50 } });
    expectEveryHostTerminal(r, hosts);
    expect(r.outcome('web01')).toBe('rolled-back');
    expect(fleet.contacted()).toEqual(['web01']);
    for (const h of hosts.slice(1)) expect(r.outcome(h)).toBe('skipped');
    expect(r.events.find((e) => e.type === 'run-abort')).toMatchObject({ reason: 'canary' });
    expect(r.done.exitCode).toBe(3);
  });

  it('canaries all pass before the first batch starts; batches run one after the other', async () => {
    const hosts = names(9);
    const fleet = new FakeFleet(hosts, ['Svc'], Object.fromEntries(hosts.map((h) => [h, { latencyMs: 2 }])));
    const r = await run(fleet, hosts, {
      canary: ['web01', 'web02'],
      batches: [
        { kind: 'count', n: 1 },
        { kind: 'percent', pct: 50 },
      ],
      concurrency: 10,
    });
    expect(r.done.exitCode).toBe(0);
    const batches = r.events.filter((e) => e.type === 'batch-start');
    expect(batches.map((b) => b.hosts.length)).toEqual([2, 1, 4, 2]);
    expect(batches[0]).toMatchObject({ canary: true, index: 0 });
    // Lock-step: no host of batch i+1 starts before every host of batch i is done.
    const doneIdx = (h: string): number => r.events.findIndex((e) => e.type === 'host-done' && e.host === h);
    const startIdx = (i: number): number => r.events.indexOf(batches[i]!);
    for (let i = 1; i < batches.length; i++) for (const h of batches[i - 1]!.hosts) expect(doneIdx(h)).toBeLessThan(startIdx(i));
  });

  it('the failure budget stops scheduling; in-flight hosts finish; the rest are skipped', async () => {
    const hosts = names(20);
    const faults: Record<string, Faults> = {};
    for (const h of ['web02', 'web03', 'web04']) faults[h] = { verifyFails: true };
    const fleet = new FakeFleet(hosts, ['Svc'], faults);
    const r = await run(fleet, hosts, { concurrency: 1, maxFailures: { kind: 'count', n: 1 } });
    expectEveryHostTerminal(r, hosts);
    expect(r.outcome('web01')).toBe('changed');
    expect(r.outcome('web02')).toBe('rolled-back');
    expect(r.outcome('web03')).toBe('rolled-back'); // the second failure exceeds 1
    for (const h of hosts.slice(3)) expect(r.outcome(h)).toBe('skipped');
    expect(fleet.contacted()).toEqual(['web01', 'web02', 'web03']);
    expect(r.events.find((e) => e.type === 'run-abort')).toMatchObject({ reason: 'budget', inFlight: 'finish' });
    expect(r.done.exitCode).toBe(3);
  });

  it('lets in-flight hosts finish when the budget is exceeded, and can roll back the current batch', async () => {
    const hosts = names(6);
    const faults: Record<string, Faults> = Object.fromEntries(hosts.map((h) => [h, { latencyMs: h === 'web01' ? 1 : 15 }]));
    faults.web01 = { verifyFails: true, latencyMs: 1 };
    const fleet = new FakeFleet(hosts, ['Svc'], faults);
    // web01's failing apply answers only once web02 and web03 have sent theirs: they are in flight, past the
    // point where an abort could still stop them.
    const io: EngineIO = {
      ...fleet.io,
      runRemote: async (session, request, options) => {
        if (options.host === 'web01' && request.op === 'apply') {
          while (!['web02', 'web03'].every((h) => fleet.applied().includes(h))) await new Promise((res) => setTimeout(res, 1));
        }
        return fleet.io.runRemote(session, request, options);
      },
    };
    const r = await run(
      fleet,
      hosts,
      {
        concurrency: 3,
        maxFailures: { kind: 'count', n: 0 },
        rollbackBatchOnBudget: true,
        batches: [{ kind: 'count', n: 3 }],
      },
      { io },
    );
    expectEveryHostTerminal(r, hosts);
    // web02 and web03 were in flight: they finished (changed), then the batch was rolled back.
    for (const h of ['web02', 'web03']) {
      expect(r.doneEvents.filter((e) => e.host === h).map((e) => e.outcome)).toEqual(['changed', 'rolled-back']);
      expect(fleet.config(h).binaryPath).toBe('C:\\app\\app.exe --port 1');
    }
    for (const h of ['web04', 'web05', 'web06']) expect(r.outcome(h)).toBe('skipped');
    expect(r.done.exitCode).toBe(3);
  });

  it('counts unreachable hosts against the budget only when asked to', async () => {
    const hosts = names(4);
    const faults = { web01: { unreachable: Infinity } };
    const a = await run(new FakeFleet(hosts, ['Svc'], faults), hosts, { concurrency: 1, retries: 0 });
    expect(a.done.counts).toEqual({ unreachable: 1, changed: 3 });
    const b = await run(new FakeFleet(hosts, ['Svc'], faults), hosts, { concurrency: 1, retries: 0, countUnreachable: true });
    expect(b.done.counts).toEqual({ unreachable: 1, skipped: 3 });
    expect(b.done.exitCode).toBe(3);
  });

  it('percent budgets and batches resolve against the host count', async () => {
    const hosts = names(10);
    const fleet = new FakeFleet(hosts, ['Svc'], { web01: { verifyFails: true }, web02: { verifyFails: true } });
    const r = await run(fleet, hosts, { concurrency: 1, maxFailures: { kind: 'percent', pct: 20 } });
    expect(r.events.find((e) => e.type === 'run-start')).toMatchObject({ strategy: { failureBudget: 2 } });
    expect(r.done.counts).toEqual({ 'rolled-back': 2, changed: 8 });
    expect(r.done.exitCode).toBe(2);
  });
});

describe('engine: commands, cancel, deadline', () => {
  it('abort finish: queued hosts are skipped, in-flight hosts that sent their change finish', async () => {
    const hosts = names(6);
    const fleet = new FakeFleet(hosts, ['Svc'], Object.fromEntries(hosts.map((h) => [h, { latencyMs: 10 }])));
    let sent = false;
    const applying = new Set<string>();
    const r = await run(fleet, hosts, { concurrency: 2 }, {}, (h, e) => {
      // Abort once both in-flight hosts are past their apply request (their 'applying' phase arrived).
      if (e.type === 'host-phase' && e.state === 'applying') applying.add(e.host);
      if (!sent && applying.size === 2) {
        sent = true;
        h.send({ type: 'abort', inFlight: 'finish' });
      }
    });
    expectEveryHostTerminal(r, hosts);
    expect(r.done.counts).toEqual({ changed: 2, skipped: 4 });
    expect(r.done.exitCode).toBe(3);
  });

  it('an abort stops in-flight hosts that have not sent a change: connecting, in retry backoff, planning', async () => {
    // a applies; b keeps failing to connect (long backoff); c is slow to connect; d's plan never answers until
    // its signal fires; e is queued. The abort lands when a's apply is under way.
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    const fleet = new FakeFleet(hosts, ['Svc'], { a: { latencyMs: 30 }, b: { unreachable: Infinity }, c: { latencyMs: 2_000 } });
    const io = gatePlan(fleet, 'd');
    let sent = false;
    const started = Date.now();
    const r = await run(fleet, hosts, { concurrency: 4, retries: 3, retryBaseMs: 2_000 }, { io }, (h, e) => {
      if (!sent && e.type === 'host-phase' && e.host === 'a' && e.state === 'applying') {
        sent = true;
        h.send({ type: 'abort', inFlight: 'finish', reason: 'signal' });
      }
    });
    expectEveryHostTerminal(r, hosts);
    const abortSeq = r.events.find((e) => e.type === 'run-abort')!.seq;
    const wasAt = (host: string, what: (e: FleetEvent) => boolean): boolean =>
      r.events.some((e) => e.seq < abortSeq && 'host' in e && e.host === host && what(e));
    // Each host really was where the test says when the abort landed.
    expect(wasAt('b', (e) => e.type === 'host-log' && /retrying in/.test(e.text))).toBe(true);
    expect(wasAt('c', (e) => e.type === 'host-phase' && e.state === 'connecting')).toBe(true);
    expect(wasAt('d', (e) => e.type === 'host-phase' && e.state === 'snapshot')).toBe(true);
    expect(r.outcome('a')).toBe('changed');
    for (const h of ['b', 'c', 'd', 'e']) {
      expect(r.outcome(h), h).toBe('skipped');
      expect(r.doneEvents.find((e) => e.host === h)!.reason.code, h).toBe('abort-signal');
    }
    expect(fleet.applied()).toEqual(['a']);
    // Nobody waited for the slow connect or the backoff.
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(r.done.exitCode).toBe(3);
  });

  it('an exceeded failure budget also stops hosts that are still planning', async () => {
    const hosts = ['bad', 'slow', 'queued'];
    const fleet = new FakeFleet(hosts, ['Svc'], { bad: { verifyFails: true } });
    const io = gatePlan(fleet, 'slow');
    const r = await run(fleet, hosts, { concurrency: 2, maxFailures: { kind: 'count', n: 0 } }, { io });
    expectEveryHostTerminal(r, hosts);
    expect(r.outcome('bad')).toBe('rolled-back');
    expect(r.outcome('slow')).toBe('skipped');
    expect(r.doneEvents.find((e) => e.host === 'slow')!.reason.code).toBe('abort-budget');
    expect(r.outcome('queued')).toBe('skipped');
    expect(fleet.applied()).toEqual(['bad']);
  });

  it('abort cancel: a host cut off during apply is restored from its snapshot', async () => {
    const hosts = ['a', 'b'];
    const fleet = new FakeFleet(hosts, ['Svc'], { a: { hangApply: true }, b: { hangApply: true } });
    let sent = 0;
    const r = await run(fleet, hosts, { concurrency: 2 }, {}, (h, e) => {
      if (e.type === 'host-phase' && e.state === 'applying' && ++sent === 2) {
        h.send({ type: 'abort', inFlight: 'finish', reason: 'signal' }); // first Ctrl-C
        h.send({ type: 'abort', inFlight: 'cancel', reason: 'signal' }); // second Ctrl-C
      }
    });
    expectEveryHostTerminal(r, hosts);
    for (const h of hosts) {
      expect(r.outcome(h)).toBe('rolled-back');
      expect(fleet.config(h).binaryPath).toBe('C:\\app\\app.exe --port 1');
    }
    expect(r.events.filter((e) => e.type === 'run-abort').map((e) => (e as { inFlight: string }).inFlight)).toEqual(['finish', 'cancel']);
    expect(r.done.exitCode).toBe(3);
  });

  it('a host past its deadline during apply is cut off and restored; while connecting it is unreachable', async () => {
    const fleet = new FakeFleet(['a', 'b'], ['Svc'], { a: { hangApply: true }, b: { latencyMs: 1000 } });
    const r = await run(fleet, ['a', 'b'], { hostDeadlineMs: 80, maxFailures: { kind: 'count', n: 5 } });
    expect(r.outcome('a')).toBe('rolled-back');
    expect(r.doneEvents.find((e) => e.host === 'a')!.message).toMatch(/deadline/);
    expect(fleet.config('a').binaryPath).toBe('C:\\app\\app.exe --port 1');
    expect(r.outcome('b')).toBe('unreachable');
  });

  it('pause holds new hosts back until resume', async () => {
    const hosts = names(4);
    const fleet = new FakeFleet(hosts);
    const handle = startRun({
      mode: 'apply',
      tasks: hosts.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })),
      io: fleet.io,
      snapshots: new RecordingStore(fleet),
      strategy: { concurrency: 1 },
    });
    const events: FleetEvent[] = [];
    let paused!: () => void;
    const pausedSeen = new Promise<void>((r) => (paused = r));
    handle.subscribe((e) => {
      events.push(e);
      if (e.type === 'host-done' && e.host === 'web01') handle.send({ type: 'pause' });
      if (e.type === 'run-paused') paused();
    });
    // Wait for the pause itself (not a fixed time: on a busy machine web01 alone can take longer), then give the
    // scheduler time in which an unpaused run would start and finish the next host.
    await pausedSeen;
    await new Promise((r) => setTimeout(r, 60));
    expect(events.filter((e) => e.type === 'host-done').map((e) => (e as HostDoneEvent).host)).toEqual(['web01']);
    expect(events.at(-1)!.type).toBe('run-paused');
    handle.send({ type: 'resume' });
    const done = await handle.done;
    expect(done.counts).toEqual({ changed: 4 });
  });

  it('exclude skips a queued host; retry re-runs a failed one; rollback restores a changed one', async () => {
    const hosts = names(4);
    const fleet = new FakeFleet(hosts, ['Svc'], { web01: { unreachable: 1 } });
    const r = await run(fleet, hosts, { concurrency: 1, retries: 0, onFailure: 'ask' }, {}, (h, e) => {
      if (e.type === 'run-start') h.send({ type: 'exclude', host: 'web04' });
      if (e.type === 'run-paused' && e.reason === 'on-failure') {
        expect(e.host).toBe('web01');
        h.send({ type: 'retry', hosts: ['web01'] });
      }
      if (e.type === 'host-done' && e.host === 'web03' && e.outcome === 'changed') h.send({ type: 'rollback', hosts: ['web02'] });
    });
    expectEveryHostTerminal(r, hosts);
    expect(r.doneEvents.filter((e) => e.host === 'web01').map((e) => e.outcome)).toEqual(['unreachable', 'changed']);
    expect(r.outcome('web04')).toBe('skipped');
    expect(r.doneEvents.find((e) => e.host === 'web04')!.reason.code).toBe('excluded');
    expect(r.doneEvents.filter((e) => e.host === 'web02').map((e) => e.outcome)).toEqual(['changed', 'rolled-back']);
    expect(fleet.config('web02').binaryPath).toBe('C:\\app\\app.exe --port 1');
    expect(fleet.contacted()).not.toContain('web04');
    // User-requested rollbacks do not eat the failure budget (default 0): the run was not aborted.
    expect(r.events.some((e) => e.type === 'run-abort')).toBe(false);
  });

  it('a journal that cannot sync stops the host before any apply', async () => {
    const fleet = new FakeFleet(['a']);
    const handle = startRun({
      mode: 'apply',
      tasks: [{ host: fleet.spec('a'), changes: [CHANGE] }],
      io: fleet.io,
      snapshots: { saveSnapshots: () => Promise.reject(new Error('ENOSPC: no space left on device')) },
    });
    const done = await handle.done;
    expect(done.counts).toEqual({ failed: 1 });
    expect(fleet.applied()).toEqual([]);
  });
});

/** The fake fleet's I/O, except that `host`'s plan request never answers until its signal fires. */
function gatePlan(fleet: FakeFleet, host: string): EngineIO {
  return {
    ...fleet.io,
    runRemote: (session, request, options) => {
      if (options.host !== host || request.op !== 'plan') return fleet.io.runRemote(session, request, options);
      return new Promise((_, reject) => {
        const fail = (): void => reject(new TransportError('aborted', 'command', 'aborted'));
        if (options.signal?.aborted) fail();
        options.signal?.addEventListener('abort', fail, { once: true });
      });
    },
  };
}
