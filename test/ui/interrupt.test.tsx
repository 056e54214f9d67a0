/**
 * Ctrl-C in the dashboard, against the real engine on the in-memory fake fleet: the first Ctrl-C stops
 * scheduling at once (not one host starts after it), then the dialog offers continue / cancel in-flight / quit.
 */
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { startRun } from '../../src/engine/run.js';
import type { FleetEvent, RunHandle } from '../../src/engine/events.js';
import type { SnapshotStore } from '../../src/engine/types.js';
import { Dashboard } from '../../src/ui/Dashboard.js';
import { RunStore } from '../../src/ui/store.js';
import { CHANGE, FakeFleet } from '../engine/fake-fleet.js';
import { KEY } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const store: SnapshotStore = { saveSnapshots: async () => undefined };

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

function startDashboard(hosts: number) {
  const names = Array.from({ length: hosts }, (_, i) => `web${String(i + 1).padStart(2, '0')}`);
  const fleet = new FakeFleet(names, ['Svc'], Object.fromEntries(names.map((n) => [n, { latencyMs: 40 }])));
  const handle: RunHandle = startRun({
    mode: 'apply',
    tasks: names.map((n) => ({ host: fleet.spec(n), changes: [CHANGE] })),
    io: fleet.io,
    snapshots: store,
    strategy: { concurrency: 2 },
  });
  const events: FleetEvent[] = [];
  handle.subscribe((e) => events.push(e));
  const runStore = new RunStore(handle);
  const r = render(
    <Dashboard
      store={runStore}
      color={false}
      interactive
      exitOnDone={false}
      fps={100}
      clock={Date.now}
      groupsOf={() => []}
      requestFor={() => undefined}
      size={{ columns: 120, rows: 40 }}
    />,
  );
  cleanup = () => {
    r.unmount();
    runStore.close();
  };
  const frame = () => r.lastFrame() ?? '';
  const waitFor = async (pred: () => boolean, what: string, ms = 5000) => {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last frame:\n${frame()}`);
      await sleep(10);
    }
  };
  /** The hosts that started (their first phase) after event number `from`. */
  const startedAfter = (from: number) => {
    const seen = new Set(
      events
        .slice(0, from)
        .filter((e) => e.type === 'host-phase')
        .map((e) => (e as { host: string }).host),
    );
    return [
      ...new Set(
        events
          .slice(from)
          .filter((e) => e.type === 'host-phase' && !seen.has(e.host))
          .map((e) => (e as { host: string }).host),
      ),
    ];
  };
  return { handle, events, frame, waitFor, startedAfter, press: (k: string) => r.stdin.write(k), fleet };
}

describe('dashboard: Ctrl-C', () => {
  test('the first Ctrl-C stops scheduling at once; the dialog offers continue, cancel in-flight, quit', async () => {
    const d = startDashboard(12);
    await d.waitFor(() => d.events.some((e) => e.type === 'host-done'), 'a first host to finish');
    d.press(KEY.ctrlC);
    const at = d.events.length;
    await d.waitFor(() => d.frame().includes('Interrupted: no new host starts'), 'the interrupt dialog');
    expect(d.frame()).toMatch(/\[c\] continue the run/);
    expect(d.frame()).toMatch(/\[x\] cancel in-flight hosts/);
    expect(d.frame()).toMatch(/\[q\] quit/);
    // Long enough for several hosts to start if scheduling went on (40 ms per op, concurrency 2).
    await sleep(600);
    expect(d.startedAfter(at)).toEqual([]);
    expect(d.events.find((e) => e.type === 'run-paused')).toBeDefined();

    // continue: scheduling resumes.
    d.press('c');
    await d.waitFor(() => d.startedAfter(at).length > 0, 'hosts to start again');
    // quit: the run is aborted (hosts that sent their change finish), then the dashboard leaves.
    d.press(KEY.ctrlC);
    await d.waitFor(() => d.frame().includes('Interrupted: no new host starts'), 'the interrupt dialog again');
    d.press('q');
    const done = await d.handle.done;
    expect(done.exitCode).toBe(3);
    expect(d.events.find((e) => e.type === 'run-abort')).toMatchObject({ reason: 'user', inFlight: 'finish' });
    const counted = Object.values(done.counts).reduce((a, b) => a + (b ?? 0), 0);
    expect(counted).toBe(12);
  });

  test('Ctrl-C twice cancels in-flight hosts and they are restored', async () => {
    const d = startDashboard(6);
    await d.waitFor(() => d.events.some((e) => e.type === 'host-phase' && e.state === 'connecting'), 'a host to start');
    d.press(KEY.ctrlC);
    await d.waitFor(() => d.frame().includes('Interrupted: no new host starts'), 'the interrupt dialog');
    d.press(KEY.ctrlC);
    const done = await d.handle.done;
    expect(d.events.filter((e) => e.type === 'run-abort').map((e) => (e as { inFlight: string }).inFlight)).toContain('cancel');
    expect(done.exitCode).toBe(3);
    for (const n of ['web01', 'web02', 'web03', 'web04', 'web05', 'web06']) expect(d.fleet.config(n).binaryPath).toBe('C:\\app\\app.exe --port 1');
  });
});

describe('dashboard: warnings', () => {
  test('the command’s warnings show under the header, a long list folded into the last line', async () => {
    const { FakeRun } = await import('./fake-run.js');
    const { mount } = await import('./harness.js');
    const run = new FakeRun();
    run.queue([]);
    const list = ['ssh.hostKeyPolicy: accept-new: an unknown host key is trusted on first use'];
    const m = mount(run, { warnings: () => list });
    run.emit({
      type: 'run-start',
      mode: 'apply',
      services: ['Svc'],
      hosts: ['web01'],
      strategy: { concurrency: 1, canary: [], batches: [1], failureBudget: 0 },
    });
    try {
      await m.waitFor((f) => f.includes('warning: ssh.hostKeyPolicy: accept-new'), 'the warning');
      list.push('winrm.certValidation: ignore', 'another known_hosts file', 'unencrypted Basic');
      await m.waitFor((f) => f.includes('warning: another known_hosts file (+1 more on stderr)'), 'the folded warnings');
      expect(m.frame()).toContain('warning: winrm.certValidation: ignore');
    } finally {
      m.unmount();
    }
  });
});
