/**
 * The dashboard's state transitions and dialogs, without React or Ink: each test builds a RunState from events,
 * describes the frame the user saw, and checks the next state and the engine commands a key action sends.
 */
import { describe, expect, test } from 'vitest';
import type { FleetEvent } from '../../src/engine/events.js';
import { orderedHosts } from '../../src/state/queries.js';
import { reduceEvents, type RunState } from '../../src/state/run-state.js';
import { INITIAL_DASHBOARD_STATE, reduceKey, runEnded, scrollOffset, type DashboardState, type FrameContext } from '../../src/ui/dashboard-state.js';
import { answerDialog, answerFailure, dialogContent, names } from '../../src/ui/dialogs.js';
import type { KeyAction } from '../../src/ui/keys.js';

const T0 = Date.parse('2025-01-01T10:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const HOSTS = ['web01', 'web02', 'web03', 'web04', 'web05', 'web06'];

/** web01 failed, web02 changed, web03 unreachable, web04 applying, web05 and web06 queued. */
function run(extra: Record<string, unknown>[] = []): RunState {
  let seq = 0;
  const ev = (at: number, body: Record<string, unknown>) => ({ runId: 'r1', seq: seq++, at: iso(at), ...body }) as FleetEvent;
  const done = (host: string, outcome: string, at: number, code: string, message = '') =>
    ev(at, {
      type: 'host-done',
      host,
      outcome,
      reason: { code },
      message,
      attempts: 1,
      timings: { startedAt: iso(at - 1), endedAt: iso(at), ms: 1000 },
    });
  const events: FleetEvent[] = [
    ev(0, {
      type: 'run-start',
      mode: 'apply',
      specFile: 'fix.yaml',
      services: ['Svc'],
      hosts: HOSTS,
      strategy: { concurrency: 2, canary: [], batches: [6], failureBudget: 3 },
    }),
    done('web01', 'failed', 2, 'verify-port', 'port 8080 closed'),
    done('web02', 'changed', 3, 'ok'),
    done('web03', 'unreachable', 4, 'unreachable', 'no route'),
    ev(5, { type: 'host-phase', host: 'web04', state: 'applying' }),
    ...extra.map((b, i) => ev(6 + i, b)),
  ];
  return reduceEvents(events);
}

function frame(s: RunState, over: Partial<FrameContext> = {}): FrameContext {
  return {
    run: s,
    done: s.done !== undefined,
    now: T0 + 60_000,
    rows: orderedHosts(s),
    cursor: 0,
    offset: 0,
    tableRows: 3,
    detailRows: 4,
    detailLines: 0,
    ...over,
  };
}

const S0 = INITIAL_DASHBOARD_STATE;
const st = (over: Partial<DashboardState> = {}): DashboardState => ({ ...S0, ...over });
const act = (state: DashboardState, action: KeyAction, ctx: FrameContext) => reduceKey(state, action, ctx);

describe('dashboard state', () => {
  test('an action that changes nothing returns the same state object (React skips the render)', () => {
    const s = run();
    const f = frame(s);
    expect(act(S0, { type: 'move', delta: -1 }, f).state).toBe(S0);
    expect(act(S0, { type: 'back' }, f).state).toBe(S0);
    expect(act(S0, { type: 'clear' }, f).state).toBe(S0);
    expect(act(S0, { type: 'filter-edit', edit: { op: 'none' } }, f).state).toBe(S0);
    expect(act(S0, { type: 'answer', input: 'y', no: false, ctrlC: false }, f)).toEqual({ state: S0, sends: [] });
  });

  test('moving clamps to the rows and scrolls the window; pages are a table (or details) high', () => {
    const f = frame(run()); // 6 rows, 3 in view
    let t = act(S0, { type: 'move', delta: 1 }, f);
    expect([t.state.cursor, t.state.offset]).toEqual([1, 0]);
    t = act(S0, { type: 'jump', to: 'end' }, f);
    expect([t.state.cursor, t.state.offset]).toEqual([5, 3]);
    t = act(t.state, { type: 'page', direction: -1 }, frame(run(), { cursor: 5, offset: 3 }));
    expect([t.state.cursor, t.state.offset]).toEqual([2, 2]);
    t = act(t.state, { type: 'move', delta: 99 }, frame(run(), { cursor: 2, offset: 2 }));
    expect(t.state.cursor).toBe(5);
    expect(t.sends).toEqual([]);
    // in the details the same keys scroll the lines, within [0, lines - height]
    const detail = st({ view: 'detail', detailHost: 'web01' });
    const fd = frame(run(), { detailLines: 10, detailRows: 4 });
    expect(act(detail, { type: 'page', direction: 1 }, fd).state.detailOffset).toBe(4);
    expect(act(detail, { type: 'jump', to: 'end' }, fd).state.detailOffset).toBe(6);
    expect(act(st({ ...detail, detailOffset: 5 }), { type: 'move', delta: 5 }, fd).state.detailOffset).toBe(6);
    expect(act(st({ ...detail, detailOffset: 5 }), { type: 'jump', to: 'home' }, fd).state.detailOffset).toBe(0);
    expect(act(detail, { type: 'move', delta: 1 }, fd).state.cursor).toBe(0);
  });

  test('scrollOffset keeps the cursor in view and the window inside the list', () => {
    expect(scrollOffset(0, 0, 3, 6)).toBe(0);
    expect(scrollOffset(4, 0, 3, 6)).toBe(2);
    expect(scrollOffset(1, 2, 3, 6)).toBe(1);
    expect(scrollOffset(5, 9, 3, 6)).toBe(3);
    expect(scrollOffset(0, 4, 10, 6)).toBe(0);
    expect(scrollOffset(3, 1, 0, 6)).toBe(0);
  });

  test('typing a filter edits it and puts the cursor back on the first row; Esc in the table clears it, then the tags', () => {
    const f = frame(run());
    let s = act(st({ cursor: 4, offset: 2 }), { type: 'start-filter' }, f).state;
    expect(s.editing).toBe(true);
    s = act(s, { type: 'filter-edit', edit: { op: 'append', text: 'web' } }, f).state;
    s = act(s, { type: 'filter-edit', edit: { op: 'append', text: '1' } }, f).state;
    expect([s.filter, s.cursor, s.offset]).toEqual(['web1', 0, 0]);
    s = act(s, { type: 'filter-edit', edit: { op: 'backspace' } }, f).state;
    s = act(s, { type: 'filter-edit', edit: { op: 'keep' } }, f).state;
    expect([s.filter, s.editing]).toEqual(['web', false]);
    s = act({ ...s, tagged: new Set(['web02']) }, { type: 'clear' }, f).state;
    expect([s.filter, [...s.tagged]]).toEqual(['', ['web02']]);
    s = act(s, { type: 'clear' }, f).state;
    expect(s.tagged.size).toBe(0);
    const cleared = act(st({ editing: true, filter: 'zzz' }), { type: 'filter-edit', edit: { op: 'clear' } }, f).state;
    expect([cleared.filter, cleared.editing]).toEqual(['', false]);
  });

  test('Enter opens the selected host, space tags and untags it; with no rows both do nothing', () => {
    const f = frame(run(), { cursor: 1 });
    const name = f.rows[1]!.name;
    const open = act(st({ detailOffset: 3 }), { type: 'open-detail' }, f).state;
    expect(open).toMatchObject({ view: 'detail', detailHost: name, detailOffset: 0 });
    const tagged = act(S0, { type: 'tag' }, f).state;
    expect([...tagged.tagged]).toEqual([name]);
    expect(act(tagged, { type: 'tag' }, f).state.tagged.size).toBe(0);
    const empty = frame(run(), { rows: [] });
    expect(act(S0, { type: 'open-detail' }, empty).state).toBe(S0);
    expect(act(S0, { type: 'tag' }, empty).state).toBe(S0);
  });

  test('help, summary, back and the errors panel switch views', () => {
    const f = frame(run());
    expect(act(S0, { type: 'help' }, f).state.view).toBe('help');
    expect(act(st({ view: 'help' }), { type: 'close-help' }, f).state.view).toBe('table');
    const finished = frame(run([{ type: 'run-done', counts: {}, exitCode: 2, ms: 9000 }]));
    expect(act(st({ view: 'help' }), { type: 'close-help' }, finished).state.view).toBe('summary');
    expect(act(S0, { type: 'summary' }, finished).state.view).toBe('summary');
    expect(act(st({ view: 'summary' }), { type: 'back' }, finished).state.view).toBe('table');
    expect(act(S0, { type: 'toggle-errors' }, f).state.showErrors).toBe(false);
  });

  test('pause toggles with the run, and the footer notes what was sent', () => {
    const f = frame(run());
    const t = act(S0, { type: 'pause-toggle' }, f);
    expect(t.sends.map((x) => x.command)).toEqual([{ type: 'pause' }]);
    expect(t.state.flash).toEqual({ text: 'pause requested: in-flight hosts keep going, no new host starts', at: f.now });
    const paused = frame(run([{ type: 'run-paused', reason: 'user' }]));
    const r = act(S0, { type: 'pause-toggle' }, paused);
    expect(r.sends.map((x) => x.command)).toEqual([{ type: 'resume' }]);
    expect(r.state.flash?.text).toBe('resume requested');
  });

  test('exclude: the selected host (or the one in details); a finished host is only noted', () => {
    const s = run();
    const rows = orderedHosts(s);
    const at = (name: string) => rows.findIndex((h) => h.name === name);
    let t = act(S0, { type: 'exclude' }, frame(s, { rows, cursor: at('web05') }));
    expect(t.sends).toEqual([{ command: { type: 'exclude', host: 'web05' }, note: 'exclude requested for web05 (it will be skipped)' }]);
    t = act(st({ view: 'detail', detailHost: 'web04' }), { type: 'exclude' }, frame(s, { rows, cursor: at('web05') }));
    expect(t.sends[0]!.note).toBe('exclude requested for web04 (it is in flight and will finish)');
    t = act(S0, { type: 'exclude' }, frame(s, { rows, cursor: at('web02') }));
    expect(t.sends).toEqual([]);
    expect(t.state.flash?.text).toBe('web02 already finished (changed); nothing to exclude');
    expect(act(S0, { type: 'exclude' }, frame(s, { rows: [] })).state).toBe(S0);
  });

  test('retry asks about the retryable hosts, or notes there are none', () => {
    const t = act(S0, { type: 'retry' }, frame(run()));
    expect(t.state.dialog).toEqual({ kind: 'retry', hosts: ['web01', 'web03'] });
    const clean = reduceEvents([]);
    const none = act(S0, { type: 'retry' }, frame(clean));
    expect(none.state.dialog).toBeUndefined();
    expect(none.state.flash?.text).toBe('nothing to retry');
  });

  test('rollback offers the tagged hosts, else the host in view, and the failed ones', () => {
    const s = run();
    const rows = orderedHosts(s);
    const cursor = rows.findIndex((h) => h.name === 'web02');
    expect(act(S0, { type: 'rollback' }, frame(s, { rows, cursor })).state.dialog).toEqual({
      kind: 'rollback',
      selected: ['web02'],
      failed: ['web01'],
    });
    expect(act(st({ tagged: new Set(['web05', 'web06']) }), { type: 'rollback' }, frame(s, { rows, cursor })).state.dialog).toMatchObject({
      selected: ['web05', 'web06'],
    });
    expect(act(st({ view: 'detail', detailHost: 'web04' }), { type: 'rollback' }, frame(s, { rows, cursor })).state.dialog).toMatchObject({
      selected: ['web04'],
    });
  });

  test('q asks ever more insistently while in-flight hosts run on; once the run is done it leaves', () => {
    const f = frame(run());
    let s = act(S0, { type: 'quit' }, f).state;
    expect(s.dialog).toEqual({ kind: 'quit' });
    let t = act(s, { type: 'answer', input: 'y', no: false, ctrlC: false }, f);
    expect(t.sends.map((x) => x.command)).toEqual([{ type: 'abort', inFlight: 'finish' }]);
    expect(t.state).toMatchObject({ quitting: true, dialog: undefined });
    s = act(t.state, { type: 'quit' }, f).state;
    expect(s.dialog).toEqual({ kind: 'quit-cancel' });
    t = act(s, { type: 'answer', input: 'c', no: false, ctrlC: true }, f);
    expect(t.sends.map((x) => x.command)).toEqual([{ type: 'abort', inFlight: 'cancel' }]);
    expect(t.state.quitStage).toBe(2);
    s = act(t.state, { type: 'quit' }, f).state;
    expect(s.dialog).toEqual({ kind: 'quit-now' });
    expect(act(s, { type: 'answer', input: 'x', no: false, ctrlC: false }, f).state).toBe(s);
    t = act(s, { type: 'answer', input: 'y', no: false, ctrlC: false }, f);
    expect(t).toMatchObject({ hardExit: true, sends: [] });
    expect(t.state.dialog).toBeUndefined();
    const finished = frame(run([{ type: 'run-done', counts: {}, exitCode: 2, ms: 9000 }]));
    expect(act(S0, { type: 'quit' }, finished).state.final).toBe(true);
  });

  test('the on-failure question is answered once per pause: retry, skip or abort', () => {
    const s = run([{ type: 'run-paused', reason: 'on-failure', host: 'web01' }]);
    const f = frame(s, { askHost: 'web01' });
    const t = act(S0, { type: 'answer', input: 'r', no: false, ctrlC: false }, f);
    expect(t.sends.map((x) => x.command)).toEqual([{ type: 'retry', hosts: ['web01'] }, { type: 'resume' }]);
    expect(t.state.answeredPause).toBe(s.paused!.seq);
    expect(t.state.flash?.text).toBe('retrying web01; run resumed');
    // n is not an answer to this question, and another open dialog stays as it is
    const withDialog = st({ dialog: { kind: 'abort' } });
    expect(act(withDialog, { type: 'answer', input: 'n', no: true, ctrlC: false }, f).state).toBe(withDialog);
    expect(act(withDialog, { type: 'answer', input: 's', no: false, ctrlC: false }, f).state.dialog).toEqual({ kind: 'abort' });
  });

  test('the end of the run shows the summary once, or the final frame when leaving', () => {
    const s = st({ dialog: { kind: 'abort' }, editing: true });
    expect(runEnded(s, false)).toMatchObject({ sawDone: true, dialog: undefined, editing: false, view: 'summary', final: false });
    expect(runEnded(s, true)).toMatchObject({ sawDone: true, dialog: undefined, editing: false, view: 'table', final: true });
  });
});

describe('dialogs', () => {
  test('each dialog answers only its own keys; n (or Esc) closes any', () => {
    const none = { close: false, sends: [] };
    expect(answerDialog({ kind: 'abort' }, 'n', true, false)).toEqual({ close: true, sends: [] });
    expect(answerDialog({ kind: 'abort' }, 'q', false, false)).toEqual(none);
    expect(answerDialog({ kind: 'abort' }, 'c', false, false).sends[0]).toEqual({
      command: { type: 'abort', inFlight: 'cancel' },
      note: 'abort requested: in-flight hosts cancelled and rolled back',
    });
    // Ctrl-C confirms the quit questions, not the abort one
    expect(answerDialog({ kind: 'abort' }, 'c', false, true).sends[0]!.command).toEqual({ type: 'abort', inFlight: 'cancel' });
    expect(answerDialog({ kind: 'quit' }, 'c', false, true)).toMatchObject({ close: true, quitting: true });
    expect(answerDialog({ kind: 'retry', hosts: ['a'] }, 'c', false, true)).toEqual(none);
    expect(answerDialog({ kind: 'retry', hosts: ['a', 'b'] }, 'y', false, false)).toEqual({
      close: true,
      sends: [{ command: { type: 'retry', hosts: ['a', 'b'] }, note: 'retry requested for a, b' }],
    });
    const rb = { kind: 'rollback' as const, selected: [], failed: ['f1'] };
    expect(answerDialog(rb, 's', false, false)).toEqual(none);
    expect(answerDialog(rb, 'f', false, false)).toEqual({
      close: true,
      sends: [{ command: { type: 'rollback', hosts: ['f1'] }, note: 'rollback requested for f1' }],
      untag: true,
    });
    expect(answerFailure('h1', 's')).toEqual({ close: true, sends: [{ command: { type: 'resume' }, note: 'skipped h1; run resumed' }] });
    expect(answerFailure('h1', 'a').sends[0]!.command).toEqual({ type: 'abort', inFlight: 'finish' });
    expect(answerFailure('h1', 'n')).toEqual(none);
  });

  test('content: the on-failure question comes first; choices follow what can be done', () => {
    const s = run();
    const ask = dialogContent({ host: 'web01', record: s.hosts.get('web01') }, { kind: 'abort' }, 'r1');
    expect(ask?.title).toBe('web01 failed: the run is paused (--on-failure ask)');
    expect(ask?.lines[0]).toBe('port 8080 closed');
    expect(ask?.choices.map((c) => c.key)).toEqual(['r', 's', 'a']);
    expect(dialogContent(undefined, undefined, 'r1')).toBeUndefined();
    expect(dialogContent(undefined, { kind: 'quit-now' }, 'r1')?.lines[1]).toBe('  svcfleet resume r1');
    expect(dialogContent(undefined, { kind: 'retry', hosts: ['a'] }, 'r1')?.title).toBe('Retry 1 host?');
    const rb = dialogContent(undefined, { kind: 'rollback', selected: [], failed: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'r1');
    expect(rb?.lines).toEqual(['selected: (none)', 'failed: a, b, c, d and 2 more']);
    expect(rb?.choices.map((c) => c.key)).toEqual(['f', 'n']);
    expect(names(['a', 'b'])).toBe('a, b');
  });
});
