/**
 * Parity: what the dashboard shows is also in the plain and NDJSON outputs, because all three read the same
 * RunState. Proved on (1) a real engine run over the in-memory fake fleet and (2) a recorded stream mid-run.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { startRun } from '../../src/engine/run.js';
import type { FleetEvent, RunHandle } from '../../src/engine/events.js';
import { attachNdjson } from '../../src/report/ndjson.js';
import { attachPlain } from '../../src/report/plain.js';
import { reduceEvents, type RunState } from '../../src/state/run-state.js';
import { bucketCounts, errorGroups, progress } from '../../src/state/queries.js';
import { formatGroup, summaryLines } from '../../src/report/run-text.js';
import { CHANGE, FakeFleet, type Faults } from '../engine/fake-fleet.js';
import { FakeRun, fleetScript } from './fake-run.js';
import { mount, type Mounted } from './harness.js';

let m: Mounted | undefined;
afterEach(() => {
  m?.unmount();
  m = undefined;
});

/** Every fact a dashboard view reads, as plain data (Maps and Sets flattened). */
/** `history: false`: without the phase timeline, which only the dashboard shows and so only it keeps. */
function facts(s: RunState, { history = true } = {}) {
  return {
    runId: s.runId,
    mode: s.mode,
    specFile: s.specFile,
    services: s.services,
    strategy: s.strategy,
    counts: bucketCounts(s),
    budget: s.budget,
    batch: s.batch,
    paused: s.paused,
    aborting: s.aborting,
    done: s.done,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    groups: errorGroups(s).map(formatGroup),
    hosts: s.hostOrder.map((n) => {
      const h = s.hosts.get(n)!;
      const { groupKey: _k, timeline, timelineDropped, ...rest } = h;
      return history ? { ...rest, timeline, timelineDropped } : rest;
    }),
  };
}

function engineRun(): RunHandle {
  const hosts = Array.from({ length: 30 }, (_, i) => `web${String(i + 1).padStart(2, '0')}`);
  const faults: Record<string, Faults> = {
    web03: { authFailed: true },
    web04: { authFailed: true },
    web10: { verifyFails: true },
    web11: { verifyFails: true, rollbackFails: true },
    web20: { unreachable: Infinity },
  };
  const fleet = new FakeFleet(hosts, ['Svc'], faults);
  return startRun({
    mode: 'apply',
    tasks: hosts.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })),
    io: fleet.io,
    snapshots: { saveSnapshots: async () => undefined },
    strategy: { concurrency: 6, maxFailures: { kind: 'percent', pct: 50 }, retries: 0 },
    sleep: async () => undefined,
  });
}

describe('parity between the dashboard, plain and NDJSON outputs', () => {
  test('a real engine run: the NDJSON stream rebuilds the exact RunState; plain prints the summary the dashboard ends with', async () => {
    const handle = engineRun();
    // All three sinks subscribe before the engine's first event (it starts on the next tick).
    let ndjson = '';
    const detachNd = attachNdjson(handle, { write: (c: string) => (ndjson += c) });
    let plain = '';
    const clock = { now: 0 };
    const reporter = attachPlain(handle, { out: { write: (c: string) => (plain += c) }, progressEveryMs: 0, clock: () => clock.now });
    const seen: FleetEvent[] = [];
    handle.subscribe((e) => seen.push(e));
    const run = new FakeRun(handle.runId);
    handle.subscribe((e) => run.emit(e));
    m = mount(run, { interactive: false, clock: () => clock.now, size: { columns: 200, rows: 60 } });
    const done = await handle.done;
    clock.now = Date.parse(done.at);
    detachNd();
    reporter.detach();

    // NDJSON carries everything: replaying it gives the same facts as the dashboard's own store.
    const replayed = reduceEvents(
      ndjson
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as FleetEvent),
    );
    expect(facts(replayed)).toEqual(facts(m.store.state));
    expect(facts(reporter.state, { history: false })).toEqual(facts(m.store.state, { history: false }));
    // The plain reporter never prints a host's phase timeline, so it keeps none: ~1 KB per host at fleet scale.
    expect([...reporter.state.hosts.values()].filter((h) => h.timeline.length > 0)).toEqual([]);
    expect(seen.length).toBe(ndjson.trim().split('\n').length);

    // The dashboard's last frame is the summary; every one of its lines is in the plain output verbatim.
    const final = await m.waitFor((f) => f.includes('Next:'), 'final summary');
    const expected = summaryLines(m.store.state, clock.now);
    const frameLines = final.split('\n').map((l) => l.trimEnd());
    for (const line of expected) {
      expect(frameLines).toContain(line);
      expect(plain.split('\n')).toContain(line);
    }
    expect(expected.join('\n')).toMatch(/web\[03-04\]: unreachable/);
    expect(expected.join('\n')).toContain('web10: rolled-back: Svc: port 8081 not listening after start [verify-port] (1)');
    expect(expected.join('\n')).toContain('web11: rollback-failed: Svc: access denied [win32 5] (1)');
    // Every host's outcome and message, which the host table shows, is a plain line too.
    for (const h of m.store.state.hosts.values()) {
      expect(plain).toContain(`${h.name} ${h.state}`);
      if (h.result?.message) expect(plain).toContain(h.result.message);
    }
  });

  test('mid-run: the header facts (batch, budget, rate, ETA, counts, pause) equal the plain progress line', async () => {
    const run = new FakeRun('r-20250101-demo');
    const events = fleetScript({ hosts: 40, runId: run.runId, faults: { 6: 'access-denied', 11: 'crash' }, stopAfter: 20 });
    let plain = '';
    run.clock = Date.parse(events[0]!.at);
    attachPlain(run, { out: { write: (c: string) => (plain += c) }, progressEveryMs: 1, clock: () => run.clock });
    run.clock = Date.parse(events[events.length - 1]!.at) + 30_000;
    run.queue(events);
    m = mount(run, { size: { columns: 200, rows: 50 } });
    run.emit({ type: 'run-paused', reason: 'user' });
    run.clock += 1000; // the plain reporter prints a progress line on the next host-done
    run.emit({
      type: 'host-done',
      host: 'web39',
      outcome: 'skipped',
      reason: { code: 'excluded' },
      message: 'excluded by the user',
      attempts: 0,
      timings: { endedAt: new Date(run.clock).toISOString(), ms: 0 },
    });
    const frame = await m.waitFor((f) => f.includes('PAUSED'), 'paused header');
    const last = plain
      .trim()
      .split('\n')
      .filter((l) => l.includes(' done | '))
      .pop()!;
    const p = progress(m.store.state, run.clock);
    const facts = [
      `${p.finished}/${p.total}`,
      `batch ${m.store.state.batch!.index + 1}/${m.store.state.batch!.total}`,
      `budget ${m.store.state.budget.used}/${m.store.state.budget.limit}`,
      `${p.hostsPerMinute!.toFixed(1)} hosts/min`,
      'PAUSED (user)',
    ];
    for (const f of facts) {
      expect(frame).toContain(f);
      expect(last).toContain(f);
    }
    const b = bucketCounts(m.store.state);
    for (const k of ['queued', 'changed', 'failed', 'rolled-back', 'skipped'] as const) {
      expect(frame).toContain(`${k} ${b[k]}`);
      expect(last).toContain(`${k} ${b[k]}`);
    }
  });
});
