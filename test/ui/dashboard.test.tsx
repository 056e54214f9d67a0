import { afterEach, describe, expect, test } from 'vitest';
import { FakeRun, fleetScript } from './fake-run.js';
import { KEY, mount, type Mounted } from './harness.js';
import type { FleetEvent } from '../../src/engine/events.js';

const FAULTS = { 6: 'access-denied', 7: 'access-denied', 11: 'crash', 20: 'unreachable' } as const;

let m: Mounted | undefined;
afterEach(() => {
  m?.unmount();
  m = undefined;
});

/** 40 hosts, 25 finished (with faults), the rest queued; the fake clock sits 1 s after the last event. */
function midRun(extra: Partial<Parameters<typeof fleetScript>[0]> = {}) {
  const run = new FakeRun('r-20250101-demo');
  const events = fleetScript({ hosts: 40, faults: FAULTS, stopAfter: 25, runId: run.runId, ...extra });
  run.queue(events);
  run.clock = Date.parse(events[events.length - 1]!.at) + 1000;
  return { run, events };
}

function finish(run: FakeRun) {
  const all = fleetScript({ hosts: 40, faults: FAULTS, runId: run.runId });
  run.emitAll(all); // the seen prefix is ignored by sequence number
  run.clock = Date.parse(all[all.length - 1]!.at);
}

const lines = (f: string) => f.split('\n');
const hostRows = (f: string) => lines(f).filter((l) => /^[ ›][ *]web\d\d /.test(l));

describe('dashboard', () => {
  test('header, state bar with counts, and grouped problems with host ranges', async () => {
    const { run } = midRun();
    m = mount(run);
    const f = await m.waitFor((x) => x.includes('Problems'), 'problems panel');
    expect(f).toContain('svcfleet apply · run r-20250101-demo · spec hotfix.yaml · service DemoSvc');
    expect(f).toContain('RUNNING');
    expect(f).toMatch(/canary 1 · batch 4\/5 · concurrency 10 · budget 3\/3 used, 0 left · elapsed \d+s · ETA \d+s · [\d.]+ host/);
    // Without colour each state has its own glyph in the bar and the legend; finished hosts fill from the left.
    expect(f).toMatch(/\[#+F+R+U+\.+\] 31\/40/);
    expect(f).toContain('# changed 27  F failed 2  R rolled-back 1  U unreachable 1  . queued 9');
    expect(f).toContain('Problems: 4 hosts in 3 groups');
    expect(f).toContain('web[07-08]: failed: access denied [win32 5] (2)');
    expect(f).toContain('web12: rolled-back: service crashed after start; restored [verify-settle] (1)');
    expect(f).toContain('web21: unreachable: connect ECONNREFUSED 127.0.0.1:5986 (1)');
  });

  test('host table: attention first, then running with phase and elapsed time, then queued and done', async () => {
    const { run } = midRun();
    m = mount(run);
    run.emit({ type: 'host-phase', host: 'web33', state: 'applying', remotePhase: 'apply', service: 'DemoSvc' });
    run.clock += 7000;
    const f = await m.waitFor((x) => /web33\s+applying/.test(x), 'table');
    const names = hostRows(f).map((l) => l.slice(2).split(/\s+/)[0]);
    expect(names.slice(0, 5)).toEqual(['web07', 'web08', 'web12', 'web33', 'web32']);
    const running = hostRows(f).find((l) => l.includes('web33'))!;
    expect(running).toMatch(/web33\s+applying\s+apply\s+7s/);
    expect(hostRows(f)[0]).toMatch(/^›/); // the cursor starts on the first row
    expect(f).toContain('Hosts 40');
  });

  test('/ filter by state, name, negation and group; Esc clears', async () => {
    const { run } = midRun();
    m = mount(run, { groupsOf: (h) => (h < 'web11' ? ['web', 'east'] : ['web', 'west']) });
    await m.waitFor((x) => x.includes('Hosts 40'));
    await m.press('/', ...'state:failed');
    // "state:faile" already filters to the same two hosts: wait for the frame that shows the last key too.
    let f = await m.waitFor((x) => x.includes('Hosts 2 of 40') && x.includes('/state:failed'), 'filtered table');
    expect(hostRows(f).map((l) => l.slice(2, 7))).toEqual(['web07', 'web08']);
    await m.press(KEY.enter);
    f = await m.waitFor((x) => x.includes('filter: state:failed') && !x.includes('/state:failed▏'));
    await m.press(KEY.esc);
    await m.waitFor((x) => x.includes('Hosts 40'), 'cleared filter');

    await m.press('/', ...'web1 !changed', KEY.enter);
    f = await m.waitFor((x) => x.includes('Hosts 1 of 40'));
    expect(hostRows(f).map((l) => l.slice(2, 7))).toEqual(['web12']);
    await m.press(KEY.esc, '/', ...'group:east', KEY.enter);
    f = await m.waitFor((x) => x.includes('Hosts 10 of 40'));
    expect(hostRows(f).every((l) => l.slice(2, 7) < 'web11')).toBe(true);
    await m.press(KEY.esc, '/', ...'zzz', KEY.enter);
    f = await m.waitFor((x) => x.includes('Hosts 0 of 40'));
    expect(f).toContain('(no hosts match)');
  });

  test('Enter drills into a host (result, timeline, diff, redacted request, log tail); Esc goes back', async () => {
    const { run } = midRun();
    m = mount(run, {
      requestFor: (h) => ({ op: 'apply', service: 'DemoSvc', desired: { account: { name: 'svc', password: '[REDACTED]' } }, host: h }),
    });
    await m.waitFor((x) => x.includes('Hosts 40'));
    await m.press(KEY.down, KEY.down, KEY.enter); // web12, the rolled-back one
    const f = await m.waitFor((x) => x.includes('Host web12'), 'detail view');
    expect(f).toContain('state rolled-back');
    expect(f).toContain('Result: rolled-back — service crashed after start; restored [verify-settle]');
    expect(f).toContain('Rollback: succeeded');
    expect(f).toMatch(/Timeline\n(.*\n)*.*connecting\n(.*\n)*.*verifying \(verify\)\n.*rolling-back \(rollback\)\n.*rolled-back/);
    expect(f).toContain('  binaryPath (needs restart)');
    expect(f).toContain('    + "C:\\\\svc\\\\demo.exe --port 18001 --log-level warn"');
    expect(f).toContain('Request sent (secrets redacted)');
    expect(f).toContain('"password": "[REDACTED]"');
    // The log tail is at the end of the detail; scroll there.
    await m.press(KEY.end);
    const end = await m.waitFor((x) => x.includes('service exited 2s after start'), 'log tail');
    expect(end).toMatch(/error service exited 2s after start/);
    await m.press(KEY.esc);
    await m.waitFor((x) => x.includes('Hosts 40') && !x.includes('Host web12'), 'back to the table');
  });

  test('the detail view follows a running host live', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.press('/', ...'web33', KEY.enter, KEY.enter);
    await m.waitFor((x) => x.includes('Host web33') && x.includes('state queued'));
    run.emit({ type: 'host-phase', host: 'web33', state: 'connecting' });
    run.emit({ type: 'host-log', host: 'web33', level: 'warn', text: 'slow handshake' });
    const f = await m.waitFor((x) => x.includes('state connecting'), 'live update');
    expect(f).toMatch(/warn\s+slow handshake/);
  });

  test('? shows help; Esc closes it', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.press('?');
    const f = await m.waitFor((x) => x.includes('Keys'), 'help');
    for (const k of ['/', 'Enter', 'p', 'a', 'r', 'b', 'x', 'q']) expect(f).toMatch(new RegExp(`^  ${k.replace('/', '\\/')}\\s`, 'm'));
    expect(f).toContain('in-flight hosts finish');
    expect(f).toContain('--on-failure ask');
    await m.press(KEY.esc);
    await m.waitFor((x) => !x.includes('Esc or ? closes this help') && x.includes('Hosts 40'));
  });

  test('p pauses and resumes through EngineCommands only', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.waitFor((x) => x.includes('Hosts 40'));
    await m.press('p');
    expect(run.commands).toEqual([{ type: 'pause' }]);
    await m.waitFor((x) => x.includes('pause requested'));
    run.emit({ type: 'run-paused', reason: 'user' });
    await m.waitFor((x) => x.includes('PAUSED (user)') && x.includes('ETA paused'));
    await m.press('p');
    expect(run.commands).toEqual([{ type: 'pause' }, { type: 'resume' }]);
  });

  test('a asks before aborting and explains what happens to in-flight hosts', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.press('a');
    let f = await m.waitFor((x) => x.includes('Abort the run?'));
    expect(f).toContain('In-flight hosts finish their change');
    expect(f).toContain('(and roll back if it fails), or with [c] are cancelled and rolled back now.');
    await m.press('n');
    await m.waitFor((x) => !x.includes('Abort the run?'));
    expect(run.commands).toEqual([]);
    await m.press('a', 'y');
    expect(run.commands).toEqual([{ type: 'abort', inFlight: 'finish' }]);
    await m.press('a', 'c');
    expect(run.commands[1]).toEqual({ type: 'abort', inFlight: 'cancel' });
    run.emit({ type: 'run-abort', reason: 'user', inFlight: 'finish' });
    f = await m.waitFor((x) => x.includes('ABORTING'));
    expect(f).toContain('ABORTING (in-flight finish)');
  });

  test('r retries the failed hosts after a confirm', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.press('r');
    const f = await m.waitFor((x) => x.includes('Retry 4 hosts?'));
    expect(f).toContain('web07, web08, web12, web21');
    await m.press('y');
    expect(run.commands).toEqual([{ type: 'retry', hosts: ['web07', 'web08', 'web12', 'web21'] }]);
  });

  test('b rolls back the selected, tagged or failed hosts; x excludes a queued host', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.waitFor((x) => x.includes('Hosts 40'));
    await m.press('b');
    let f = await m.waitFor((x) => x.includes('Roll back which hosts?'));
    expect(f).toContain('selected: web07');
    expect(f).toContain('failed: web07, web08');
    await m.press('s');
    expect(run.commands.pop()).toEqual({ type: 'rollback', hosts: ['web07'] });
    // Tag two hosts with space, then roll back the tagged set.
    await m.press(' ', KEY.down, KEY.down, ' ');
    f = await m.waitFor((x) => x.includes('2 tagged'));
    expect(f).toMatch(/^ \*web07/m);
    await m.press('b', 's');
    expect(run.commands.pop()).toEqual({ type: 'rollback', hosts: ['web07', 'web12'] });
    await m.press('b', 'f');
    expect(run.commands.pop()).toEqual({ type: 'rollback', hosts: ['web07', 'web08'] });
    // x on a queued host sends exclude; on a finished one it only explains.
    await m.press('x'); // the cursor is on web12 (rolled back)
    await m.waitFor((x) => x.includes('web12 already finished (rolled-back); nothing to exclude'));
    expect(run.commands).toEqual([]);
    await m.press(KEY.down, 'x'); // web32: the first queued host
    expect(run.commands).toEqual([{ type: 'exclude', host: 'web32' }]);
    await m.waitFor((x) => x.includes('exclude requested for web32 (it will be skipped)'));
  });

  test('--on-failure ask: a failed host pauses the run and the dashboard asks retry, skip or abort', async () => {
    const { run } = midRun();
    m = mount(run);
    run.emit({ type: 'run-paused', reason: 'on-failure', host: 'web08' });
    const f = await m.waitFor((x) => x.includes('web08 failed: the run is paused'));
    expect(f).toContain('[r] retry web08');
    expect(f).toContain('[s] skip it and continue');
    expect(f).toContain('[a] abort the run');
    await m.press('r');
    expect(run.commands).toEqual([{ type: 'retry', hosts: ['web08'] }, { type: 'resume' }]);
    await m.waitFor((x) => !x.includes('the run is paused'));
    run.emit({ type: 'run-resumed' });
    run.emit({ type: 'run-paused', reason: 'on-failure', host: 'web07' });
    await m.waitFor((x) => x.includes('web07 failed: the run is paused'));
    await m.press('s');
    expect(run.commands.pop()).toEqual({ type: 'resume' });
    run.emit({ type: 'run-resumed' });
    run.emit({ type: 'run-paused', reason: 'on-failure', host: 'web12' });
    await m.waitFor((x) => x.includes('web12 rolled-back: the run is paused'));
    await m.press('a');
    expect(run.commands.pop()).toEqual({ type: 'abort', inFlight: 'finish' });
  });

  test('q while running asks, then aborts and leaves once the run is done, with the summary as last frame', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.press('q');
    await m.waitFor((x) => x.includes('Quit while the run is going?'));
    await m.press('n');
    await m.waitFor((x) => !x.includes('Quit while the run is going?'));
    expect(run.commands).toEqual([]);
    await m.press('q', 'y');
    expect(run.commands).toEqual([{ type: 'abort', inFlight: 'finish' }]);
    finish(run);
    const f = await m.waitFor((x) => x.startsWith('[') && x.includes('Run r-20250101-demo'), 'final summary');
    expect(f).not.toContain('Hosts 40'); // the final frame is the summary alone
    expect(f).toContain('svcfleet retry r-20250101-demo --failed');
  });

  test('an insistent quit escalates: abort, then cancel in-flight hosts, then exit now', async () => {
    const { run } = midRun();
    let hardExits = 0;
    m = mount(run, { onHardExit: () => hardExits++ });
    // (Ctrl-C does the same as q, but ink-testing-library keeps Ink's own Ctrl-C exit on; the tmux test uses it.)
    await m.press('q');
    await m.waitFor((x) => x.includes('Quit while the run is going?'));
    await m.press('y');
    expect(run.commands).toEqual([{ type: 'abort', inFlight: 'finish' }]);
    await m.press('q');
    await m.waitFor((x) => x.includes('Still waiting for in-flight hosts'));
    await m.press('y');
    expect(run.commands[1]).toEqual({ type: 'abort', inFlight: 'cancel' });
    await m.press('q');
    const f = await m.waitFor((x) => x.includes('Exit now?'));
    expect(f).toContain('svcfleet resume r-20250101-demo');
    await m.press('n');
    expect(hardExits).toBe(0);
    await m.press('q', 'y');
    expect(hardExits).toBe(1);
  });

  test('when the run ends: summary with grouped outcomes, run id and next commands; Esc browses, q quits', async () => {
    const { run } = midRun();
    m = mount(run);
    finish(run);
    const f = await m.waitFor((x) => x.includes('Outcomes:'), 'summary');
    expect(f).toContain('DONE exit 2');
    expect(f).toMatch(/Run r-20250101-demo \(apply\) finished in \d+s: exit 2 \(some hosts failed or were rolled back\)/);
    expect(f).toContain('40 hosts: changed 36 · failed 2 · rolled-back 1 · unreachable 1');
    expect(f).toContain('web[07-08]: failed: access denied [win32 5] (2)');
    expect(f).toContain('web[01-06,09-11,13-20,22-40]: changed (36)');
    expect(f).toContain('svcfleet show r-20250101-demo');
    expect(f).toContain('svcfleet rollback r-20250101-demo');
    expect(f).toContain('svcfleet retry r-20250101-demo --failed');
    await m.press(KEY.esc);
    await m.waitFor((x) => x.includes('Hosts 40') && x.includes('s summary'));
    await m.press('s');
    await m.waitFor((x) => x.includes('Outcomes:'));
    // The final frame (the summary alone, no key hints) is drawn, then the app exits ~20 ms later and the last
    // frame may be blank: look for it among every frame drawn since the key, not only the latest one.
    const before = m.frames.length;
    await m.press('q');
    const until = Date.now() + 3000;
    const isFinal = (x: string) => !x.includes('q quit') && x.includes('Outcomes:');
    while (!m.frames.slice(before).some(isFinal) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(m.frames.slice(before).some(isFinal), `no final frame among ${m.frames.length - before} frames after q`).toBe(true);
  });

  test('not interactive (stdin not a TTY): just watches and leaves after the summary', async () => {
    const { run } = midRun();
    m = mount(run, { interactive: false });
    await m.waitFor((x) => x.includes('Hosts 40'));
    finish(run);
    const f = await m.waitFor((x) => x.startsWith('[') && x.includes('Next:'), 'final summary');
    expect(f).not.toContain('q quit');
  });

  test('virtualized: 10,000 hosts render only the visible rows, and frames stay fast', async () => {
    const run = new FakeRun('r-big');
    const events: FleetEvent[] = fleetScript({
      hosts: 10_000,
      runId: run.runId,
      batchSize: 500,
      logLines: 0,
      faults: { 17: 'access-denied', 4000: 'crash' },
      stopAfter: 6000,
    });
    run.queue(events);
    run.clock = Date.parse(events[events.length - 1]!.at) + 1000;
    m = mount(run, { size: { columns: 120, rows: 30 } });
    const f = await m.waitFor((x) => x.includes('Hosts 10000'), 'big table');
    expect(lines(f).length).toBeLessThanOrEqual(29);
    const visible = lines(f).filter((l) => /^[ ›][ *]web\d{5} /.test(l));
    expect(visible.length).toBeGreaterThan(5);
    expect(visible.length).toBeLessThan(25);
    expect(f).toMatch(/Hosts 10000 · 1-\d+/);
    // Order: problems, then queued (web06002..web10000), then the changed ones; End reaches the last changed.
    expect(visible[0]).toMatch(/^›.web00018\s+failed/);
    expect(visible[1]).toMatch(/web04001\s+rolled-back/);
    expect(visible[2]).toMatch(/web06002\s+queued/);
    const t = performance.now();
    await m.press(KEY.end);
    const end = await m.waitFor((x) => /^› web06001 +changed/m.test(x), 'end of table');
    expect(performance.now() - t).toBeLessThan(1500); // one key = one frame over 10,000 hosts
    expect(end).toMatch(/Hosts 10000 · \d+-10000/);
    expect(lines(end).filter((l) => /^[ ›][ *]web\d{5} /.test(l)).length).toBe(visible.length);
    await m.press(KEY.home, KEY.pageDown);
    await m.waitFor((x) => /Hosts 10000 · \d+-\d+/.test(x) && !/· 1-/.test(x), 'page down');
  });

  test('renders are throttled: a steady stream of events keeps the view moving at no more than ~10 frames a second', async () => {
    const { MAX_FRAME_GAP_MS } = await import('../../src/ui/throttle.js');
    const run = new FakeRun('r-throttle');
    const events = fleetScript({ hosts: 300, runId: run.runId, batchSize: 100, logLines: 2 });
    m = mount(run, { fps: 10 });
    await m.waitFor((x) => x.includes('Hosts 0'), 'first frame');
    const before = m.frames.length;
    const t0 = Date.now();
    let i = 0;
    // Longer than the longest gap the duty cycle allows (a loaded machine makes frames expensive, which stretches
    // the gap up to MAX_FRAME_GAP_MS), and at least 5,000 events; the frame rate is judged over the time it took.
    const streamMs = MAX_FRAME_GAP_MS + 1000;
    const target = Math.min(5001, events.length);
    while (Date.now() - t0 < streamMs || i < target) {
      for (let k = 0; k < 200 && i < events.length; k++) run.emit(events[i++]!);
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (Date.now() - t0) / 1000;
    const frames = m.frames.length - before;
    expect(i).toBeGreaterThan(5000); // thousands of events...
    // ...the view kept moving: at least one frame within the longest gap...
    const seen = `${frames} frames in ${seconds.toFixed(1)} s, ${i} events`;
    expect(frames, seen).toBeGreaterThanOrEqual(1);
    // ...at no more than ~10 frames a second (+ slack for timers).
    expect(frames, seen).toBeLessThanOrEqual(Math.ceil(10 * seconds) + 2);
  });

  test('docs/dashboard.md lists every key the help screen lists', async () => {
    const { readFileSync } = await import('node:fs');
    const { KEY_HELP } = await import('../../src/ui/keys.js');
    const doc = readFileSync(new URL('../../docs/dashboard.md', import.meta.url), 'utf8');
    for (const k of KEY_HELP) expect(doc).toContain(`| ${k.keys} | ${k.action} |`);
  });

  test('the duty cycle stretches the gap between frames when frames are expensive', async () => {
    const { minFrameGapMs } = await import('../../src/ui/throttle.js');
    expect(minFrameGapMs(10, 0, 0.01)).toBe(100);
    expect(minFrameGapMs(10, 0.5, 0.01)).toBe(100);
    expect(minFrameGapMs(10, 20, 0.01)).toBe(2000);
    expect(minFrameGapMs(10, 20, 0)).toBe(100);
    // A slow frame (first layout, loaded machine) never freezes the screen for longer than MAX_FRAME_GAP_MS.
    expect(minFrameGapMs(10, 1000, 0.01)).toBe(2000);
  });

  test('resize: the layout follows the terminal size', async () => {
    const { run } = midRun();
    m = mount(run);
    await m.waitFor((x) => x.includes('Hosts 40'));
    const stdout = m.stdout as unknown as { columns: number; rows: number; emit(e: string): void };
    Object.defineProperty(stdout, 'columns', { configurable: true, get: () => 60 });
    Object.defineProperty(stdout, 'rows', { configurable: true, get: () => 16 });
    stdout.emit('resize');
    const f = await m.waitFor((x) => lines(x).length <= 15 && x.includes('Hosts 40'), 'small layout');
    for (const l of lines(f)) expect(l.length).toBeLessThanOrEqual(60);
  });
});
