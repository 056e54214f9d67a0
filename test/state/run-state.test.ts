import { describe, expect, test } from 'vitest';
import { applyEvent, createRunState, reduceEvents, type RunState } from '../../src/state/run-state.js';
import { bucketCounts, errorGroups, orderedHosts, outcomeGroups, progress, retryableHosts } from '../../src/state/queries.js';
import { formatDuration, formatGroup, nextCommands, progressLine, summaryLines } from '../../src/report/run-text.js';
import type { FleetEvent } from '../../src/engine/events.js';
import { FakeRun, fleetScript } from '../ui/fake-run.js';

const T0 = Date.parse('2025-01-01T10:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

/** A tiny hand-written stream builder: each call stamps the next seq. */
function stream(runId = 'r1') {
  let seq = 0;
  const events: FleetEvent[] = [];
  const add = (at: number, body: Record<string, unknown>) => {
    events.push({ runId, seq: seq++, at: iso(at), ...body } as FleetEvent);
    return add;
  };
  return { events, add };
}

function start(hosts: string[], canary: string[] = [], budget = 2) {
  const s = stream();
  s.add(0, {
    type: 'run-start',
    mode: 'apply',
    specFile: 'fix.yaml',
    services: ['Svc'],
    hosts,
    strategy: { concurrency: 4, canary, batches: [2, 2], failureBudget: budget },
  });
  return s;
}

const done = (host: string, outcome: string, at: number, reason: Record<string, unknown> = { code: 'ok' }, message = '') => ({
  type: 'host-done',
  host,
  outcome,
  reason,
  message,
  attempts: 1,
  timings: { startedAt: iso(at - 2), endedAt: iso(at), ms: 2000 },
});

describe('applyEvent', () => {
  test('run-start queues every host and sets strategy, budget and canary flags', () => {
    const { events } = start(['a1', 'a2', 'a3'], ['a1'], 3);
    const s = reduceEvents(events);
    expect(s.runId).toBe('r1');
    expect(s.mode).toBe('apply');
    expect(s.specFile).toBe('fix.yaml');
    expect(s.services).toEqual(['Svc']);
    expect(s.hostOrder).toEqual(['a1', 'a2', 'a3']);
    expect(s.counts.queued).toBe(3);
    expect(s.budget).toEqual({ used: 0, limit: 3, exceeded: false });
    expect(s.hosts.get('a1')!.canary).toBe(true);
    expect(s.hosts.get('a2')!.canary).toBe(false);
    expect(s.startedAt).toBe(T0);
  });

  test('batch-start records batch k of n and each host its batch', () => {
    const s = start(['a1', 'a2', 'a3'], ['a1']);
    s.add(1, { type: 'batch-start', index: 0, total: 3, canary: true, hosts: ['a1'] });
    s.add(2, { type: 'batch-start', index: 1, total: 3, canary: false, hosts: ['a2', 'a3'] });
    const st = reduceEvents(s.events);
    expect(st.batch).toEqual({ index: 1, total: 3, canary: false, size: 2 });
    expect(st.hosts.get('a1')!.batch).toBe(0);
    expect(st.hosts.get('a3')!.batch).toBe(1);
  });

  test('host-phase moves counts, keeps phase/service/start time and a de-duplicated timeline', () => {
    const s = start(['a1', 'a2']);
    s.add(1, { type: 'host-phase', host: 'a1', state: 'connecting' });
    s.add(2, { type: 'host-phase', host: 'a1', state: 'snapshot', remotePhase: 'snapshot', service: 'Svc' });
    s.add(3, { type: 'host-phase', host: 'a1', state: 'snapshot', remotePhase: 'snapshot', service: 'Svc' });
    s.add(4, { type: 'host-phase', host: 'a1', state: 'applying', remotePhase: 'apply' });
    const st = reduceEvents(s.events);
    const h = st.hosts.get('a1')!;
    expect(h.state).toBe('applying');
    expect(h.remotePhase).toBe('apply');
    expect(h.service).toBe('Svc');
    expect(h.startedAt).toBe(T0 + 1000);
    expect(h.timeline.map((t) => `${t.state}/${t.remotePhase ?? ''}`)).toEqual(['connecting/', 'snapshot/snapshot', 'applying/apply']);
    expect(st.counts.queued).toBe(1);
    expect(st.counts.applying).toBe(1);
    expect(bucketCounts(st)).toMatchObject({ queued: 1, running: 1, changed: 0 });
  });

  test('host-log keeps a bounded tail and cuts long lines', () => {
    const s = start(['a1']);
    for (let i = 0; i < 500; i++) s.add(1, { type: 'host-log', host: 'a1', level: 'info', text: `line ${i}` });
    s.add(2, { type: 'host-log', host: 'a1', level: 'error', text: 'x'.repeat(10_000) });
    const st = reduceEvents(s.events, { logLines: 20, logLineChars: 100 });
    const h = st.hosts.get('a1')!;
    expect(h.log).toHaveLength(20);
    expect(h.logDropped).toBe(481);
    expect(h.log[0]!.text).toBe('line 481');
    expect(h.log[19]!.text).toHaveLength(100);
    expect(h.log[19]!.text.endsWith('…')).toBe(true);
    expect(h.log[19]!.level).toBe('error');
  });

  test('the timeline is bounded too (a host retried many times)', () => {
    const s = start(['a1']);
    for (let i = 0; i < 200; i++) {
      s.add(i, { type: 'host-phase', host: 'a1', state: 'connecting' });
      s.add(i, done('a1', 'unreachable', i, { code: 'unreachable', errorClass: 'unreachable' }, 'refused'));
    }
    const st = reduceEvents(s.events, { timeline: 10 });
    expect(st.hosts.get('a1')!.timeline).toHaveLength(10);
    expect(st.hosts.get('a1')!.timelineDropped).toBe(390);
  });

  test('a state folded with timeline 0 keeps no timeline (reporters that never show one)', () => {
    const s = start(['a1']);
    s.add(1, { type: 'host-phase', host: 'a1', state: 'connecting' });
    s.add(2, done('a1', 'unreachable', 1, { code: 'unreachable', errorClass: 'unreachable' }, 'refused'));
    const h = reduceEvents(s.events, { timeline: 0 }).hosts.get('a1')!;
    expect(h.timeline).toEqual([]);
    expect(h.state).toBe('unreachable');
  });

  test('host-diff stores the before/after changes and hash', () => {
    const s = start(['a1']);
    const changes = [{ field: 'description', before: 'old', after: 'new', restartNeeded: false }];
    s.add(1, { type: 'host-diff', host: 'a1', service: 'Svc', configHash: 'h1', changes });
    const h = reduceEvents(s.events).hosts.get('a1')!;
    expect(h.changes).toEqual(changes);
    expect(h.configHash).toBe('h1');
    expect(h.service).toBe('Svc');
  });

  test('host-done counts outcomes and groups identical problems; the last error keeps code, win32 and class', () => {
    const s = start(['w01', 'w02', 'w03', 'w04', 'w05']);
    s.add(3, done('w01', 'failed', 3, { code: 'win32', win32: 5 }, 'access denied'));
    s.add(3, done('w02', 'failed', 3, { code: 'win32', win32: 5 }, 'access denied'));
    s.add(4, done('w03', 'unreachable', 4, { code: 'unreachable', errorClass: 'unreachable' }, 'connect refused'));
    s.add(5, done('w04', 'changed', 5));
    s.add(5, done('w05', 'failed', 5, { code: 'win32', win32: 1053 }, 'did not respond'));
    const st = reduceEvents(s.events);
    expect(st.finished).toBe(5);
    expect(bucketCounts(st)).toMatchObject({ failed: 3, unreachable: 1, changed: 1, queued: 0 });
    expect(st.hosts.get('w01')!.lastError).toEqual({ code: 'win32', win32: 5, message: 'access denied' });
    expect(st.hosts.get('w03')!.lastError).toEqual({ code: 'unreachable', errorClass: 'unreachable', message: 'connect refused' });
    const groups = errorGroups(st);
    expect(groups.map(formatGroup)).toEqual([
      'w[01-02]: failed: access denied [win32 5] (2)',
      'w05: failed: did not respond [win32 1053] (1)',
      'w03: unreachable: connect refused (1)',
    ]);
    expect(st.lastFailedHost).toBe('w05');
    expect(retryableHosts(st)).toEqual(['w01', 'w02', 'w03', 'w05']);
  });

  test('a retry leaves the error group, resets the attempt clock, and a success clears the problem', () => {
    const s = start(['w01', 'w02']);
    s.add(3, done('w01', 'failed', 3, { code: 'win32', win32: 5 }, 'access denied'));
    s.add(3, done('w02', 'failed', 3, { code: 'win32', win32: 5 }, 'access denied'));
    s.add(10, { type: 'host-phase', host: 'w01', state: 'connecting' });
    let st = reduceEvents(s.events);
    expect(errorGroups(st).map(formatGroup)).toEqual(['w02: failed: access denied [win32 5] (1)']);
    expect(st.hosts.get('w01')!.startedAt).toBe(T0 + 10_000);
    expect(st.hosts.get('w01')!.endedAt).toBeUndefined();
    expect(st.finished).toBe(1);
    expect(bucketCounts(st)).toMatchObject({ running: 1, failed: 1 });
    s.add(12, { ...done('w01', 'changed', 12), attempts: 2 });
    st = reduceEvents(s.events);
    expect(bucketCounts(st)).toMatchObject({ changed: 1, failed: 1, running: 0 });
    expect(st.hosts.get('w01')!.attempts).toBe(2);
    // History survives: the detail view can still say what went wrong before.
    expect(st.hosts.get('w01')!.lastError?.message).toBe('access denied');
    expect(st.errorIndex.size).toBe(1);
  });

  test('budget, pause (with the asking host), resume, abort and done', () => {
    const s = start(['a1', 'a2']);
    s.add(1, { type: 'budget', used: 1, limit: 2, exceeded: false });
    s.add(2, { type: 'run-paused', reason: 'on-failure', host: 'a1' });
    let st = reduceEvents(s.events);
    expect(st.budget).toEqual({ used: 1, limit: 2, exceeded: false });
    expect(st.paused).toEqual({ reason: 'on-failure', at: iso(2), seq: 2, host: 'a1' });
    s.add(3, { type: 'run-resumed' });
    s.add(4, { type: 'run-abort', reason: 'user', inFlight: 'finish' });
    st = reduceEvents(s.events);
    expect(st.paused).toBeUndefined();
    expect(st.aborting).toEqual({ reason: 'user', inFlight: 'finish', at: iso(4) });
    s.add(5, { type: 'run-done', counts: { skipped: 2 }, exitCode: 3, ms: 5000 });
    st = reduceEvents(s.events);
    expect(st.done).toEqual({ exitCode: 3, counts: { skipped: 2 }, ms: 5000 });
    expect(st.endedAt).toBe(T0 + 5000);
  });

  test('replayed sequence numbers and events of another run are ignored', () => {
    const s = start(['a1']);
    s.add(1, { type: 'host-phase', host: 'a1', state: 'connecting' });
    const st = reduceEvents(s.events);
    const v = st.version;
    applyEvent(st, s.events[1]!);
    applyEvent(st, { ...s.events[1]!, runId: 'other', seq: 99 } as FleetEvent);
    expect(st.version).toBe(v);
    expect(st.counts.connecting).toBe(1);
  });

  test('a host first seen mid-run (no run-start seen) is tracked', () => {
    const st = createRunState();
    applyEvent(st, { runId: 'r9', seq: 5, at: iso(1), type: 'host-phase', host: 'late', state: 'connecting' });
    expect(st.runId).toBe('r9');
    expect(st.hostOrder).toEqual(['late']);
    expect(st.counts.connecting).toBe(1);
    expect(st.counts.queued).toBe(0);
  });
});

describe('selectors', () => {
  function midRun(): RunState {
    const s = start(['w01', 'w02', 'w03', 'w04', 'w05', 'w06']);
    s.add(1, { type: 'host-phase', host: 'w01', state: 'connecting' });
    s.add(2, { type: 'host-phase', host: 'w02', state: 'applying' });
    s.add(3, { type: 'host-phase', host: 'w03', state: 'connecting' });
    s.add(4, done('w03', 'changed', 4));
    s.add(5, done('w04', 'rollback-failed', 5, { code: 'win32', win32: 1072 }, 'marked for deletion'));
    s.add(5, done('w05', 'failed', 5, { code: 'verify-port' }, 'port closed'));
    return reduceEvents(s.events);
  }

  test('progress: elapsed, hosts per minute, ETA (none while paused)', () => {
    const st = midRun();
    const p = progress(st, T0 + 60_000);
    expect(p).toMatchObject({ total: 6, finished: 3, running: 2, queued: 1, elapsedMs: 60_000, hostsPerMinute: 3 });
    expect(p.etaMs).toBe(60_000);
    applyEvent(st, { runId: 'r1', seq: 100, at: iso(61), type: 'run-paused', reason: 'user' });
    expect(progress(st, T0 + 61_000).etaMs).toBeUndefined();
  });

  test('host order: attention first (rollback-failed, failed), then running oldest first, queued, the rest', () => {
    expect(orderedHosts(midRun()).map((h) => h.name)).toEqual(['w04', 'w05', 'w01', 'w02', 'w06', 'w03']);
  });

  test('next commands follow the run mode: a plan or rollback run suggests only show', () => {
    for (const mode of ['plan', 'rollback'] as const) {
      const st = midRun();
      st.mode = mode;
      expect(nextCommands(st)).toEqual(['svcfleet show r1']);
    }
  });

  test('summary: grouped outcomes, counts, next commands; the progress line has the header facts', () => {
    const st = midRun();
    applyEvent(st, { runId: 'r1', seq: 100, at: iso(70), type: 'run-done', counts: {}, exitCode: 4, ms: 70_000 });
    // w01, w02 and w06 never got an outcome (as after a killed controller): resume finishes them.
    expect(nextCommands(st)).toEqual(['svcfleet show r1', 'svcfleet rollback r1', 'svcfleet retry r1 --failed', 'svcfleet resume r1']);
    expect(summaryLines(st, T0 + 70_000)).toEqual([
      'Run r1 (apply) finished in 1m 10s: exit 4 (a rollback failed)',
      '6 hosts: queued 1 · running 2 · changed 1 · failed 1 · rollback-failed 1',
      'Outcomes:',
      '  w04: rollback-failed: marked for deletion [win32 1072] (1)',
      '  w05: failed: port closed [verify-port] (1)',
      '  w03: changed (1)',
      'Next:',
      '  svcfleet show r1',
      '  svcfleet rollback r1',
      '  svcfleet retry r1 --failed',
      '  svcfleet resume r1',
    ]);
    const line = progressLine(midRun(), T0 + 60_000);
    expect(line).toContain('3/6 done');
    expect(line).toContain('budget 0/2');
    expect(line).toContain('3.0 hosts/min');
    expect(line).toContain('ETA 1m 00s');
  });

  test('grouped outcomes fold large fleets into ranges', () => {
    const st = reduceEvents(fleetScript({ hosts: 40, faults: { 6: 'access-denied', 7: 'access-denied', 8: 'access-denied', 20: 'unreachable' } }));
    expect(outcomeGroups(st).map(formatGroup)).toEqual([
      'web[07-09]: failed: access denied [win32 5] (3)',
      'web21: unreachable: connect ECONNREFUSED 127.0.0.1:5986 (1)',
      'web[01-06,10-20,22-40]: changed (36)',
    ]);
  });

  test('formatDuration', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_725_000)).toBe('1h 02m');
  });
});

describe('cost', () => {
  test('per-event cost does not grow with the fleet (O(1) per event)', () => {
    const small = fleetScript({ hosts: 500, logLines: 2 });
    const large = fleetScript({ hosts: 5000, logLines: 2 });
    const perEvent = (events: FleetEvent[]) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        reduceEvents(events);
        best = Math.min(best, (performance.now() - t) / events.length);
      }
      return best;
    };
    perEvent(small); // warm up the JIT
    const a = perEvent(small);
    const b = perEvent(large);
    // 10x the hosts: the cost per event stays within a small factor (an O(hosts) step would make it ~10x).
    expect(b / a).toBeLessThan(3);
    // And it is cheap in absolute terms: well under 20 µs per event on a slow CI core.
    expect(b * 1000).toBeLessThan(20);
  });

  test('the fake handle delivers to subscribers and records commands', () => {
    const run = new FakeRun('rx');
    const seen: string[] = [];
    const off = run.subscribe((e) => seen.push(e.type));
    run.emit({ type: 'run-resumed' });
    run.send({ type: 'pause' });
    off();
    run.emit({ type: 'run-resumed' });
    expect(seen).toEqual(['run-resumed']);
    expect(run.commands).toEqual([{ type: 'pause' }]);
  });
});
