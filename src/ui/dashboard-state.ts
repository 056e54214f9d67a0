/**
 * The dashboard's own state (view, cursor, filter, tags, open dialog, ...) and how key actions change it. Pure:
 * no React, no Ink, no clock; the view hands in what it drew last (`FrameContext`) and the time, and gets back the
 * next state plus the engine commands to send. The run's state is not here: it is the RunState the store folds
 * (state/run-state.ts), which the dashboard only reads.
 *
 * A transition that changes nothing returns the same state object, so React skips the re-render.
 */
import { isTerminal, type HostRunState, type RunState } from '../state/run-state.js';
import { retryableHosts } from '../state/queries.js';
import { answerDialog, answerFailure, type DialogAnswer, type DialogState, type Send } from './dialogs.js';
import type { KeyAction, View } from './keys.js';

export interface DashboardState {
  view: View;
  /** Cursor row in the (filtered) host table, as last moved; the view clamps it to the rows there are. */
  cursor: number;
  /** First row of the table in view. */
  offset: number;
  /** The host the detail view shows. */
  detailHost?: string;
  detailOffset: number;
  filter: string;
  /** Typing the filter after `/`. */
  editing: boolean;
  tagged: ReadonlySet<string>;
  dialog?: DialogState;
  /** `seq` of the on-failure pause already answered (the question stays closed until the run pauses again). */
  answeredPause?: number;
  /** A note in the footer for a few seconds (`at`: the clock when it was set). */
  flash?: { text: string; at: number };
  showErrors: boolean;
  /** `q` was answered with `y`: the run is being aborted, and the dashboard leaves when it is done. */
  quitting: boolean;
  /** How far an insistent quit went: 1 abort (finish) sent, 2 cancel sent. */
  quitStage: 1 | 2;
  /** Draw the final frame (the summary alone) and leave. */
  final: boolean;
  /** The end of the run was seen (the summary was shown once). */
  sawDone: boolean;
}

export const INITIAL_DASHBOARD_STATE: DashboardState = {
  view: 'table',
  cursor: 0,
  offset: 0,
  detailOffset: 0,
  filter: '',
  editing: false,
  tagged: new Set(),
  showErrors: true,
  quitting: false,
  quitStage: 1,
  final: false,
  sawDone: false,
};

/** What the key handler knows of the frame drawn last, and the time of the key press. */
export interface FrameContext {
  /** The run's state: the live object, read when the key arrives. */
  run: RunState;
  /** The run was done when the frame was drawn. */
  done: boolean;
  /** Clock at the key press (stamps the footer's note). */
  now: number;
  /** The on-failure question's host, when it is open. */
  askHost?: string;
  /** The host table's rows: ordered and filtered. */
  rows: readonly HostRunState[];
  /** The cursor row and scroll offset as drawn (clamped to the rows). */
  cursor: number;
  offset: number;
  tableRows: number;
  detailRows: number;
  /** Lines of the host details (0 when not shown). */
  detailLines: number;
}

export interface Transition {
  state: DashboardState;
  /** Engine commands to send, in order. */
  sends: Send[];
  /** Leave now, while in-flight hosts still run (the user insisted). */
  hardExit?: boolean;
}

/** Keep the cursor inside the window [offset, offset + height). */
export function scrollOffset(cursor: number, offset: number, height: number, count: number): number {
  if (height <= 0) return 0;
  let o = offset;
  if (cursor < o) o = cursor;
  if (cursor >= o + height) o = cursor - height + 1;
  return Math.max(0, Math.min(o, Math.max(0, count - height)));
}

/** `state` with `patch` applied; the same object when the patch changes nothing. */
function set(state: DashboardState, patch: Partial<DashboardState>): DashboardState {
  for (const k of Object.keys(patch) as (keyof DashboardState)[]) {
    if (!Object.is(state[k], patch[k])) return { ...state, ...patch };
  }
  return state;
}

const unchanged = (state: DashboardState): Transition => ({ state, sends: [] });

/** Send commands; the footer flashes the note of the last one that has one. */
function sending(state: DashboardState, sends: Send[], now: number, patch: Partial<DashboardState> = {}): Transition {
  let next = set(state, patch);
  for (const s of sends) if (s.note !== undefined) next = { ...next, flash: { text: s.note, at: now } };
  return { state: next, sends };
}

function flashing(state: DashboardState, text: string, now: number): Transition {
  return { state: { ...state, flash: { text, at: now } }, sends: [] };
}

/** The run ended: show the summary once (the user may then browse hosts), or draw the final frame and leave. */
export function runEnded(state: DashboardState, leave: boolean): DashboardState {
  return { ...state, sawDone: true, dialog: undefined, editing: false, ...(leave ? { final: true } : { view: 'summary' as const }) };
}

/** `q`: leave when the run is done; otherwise ask, more insistently each time while in-flight hosts do not end. */
function quit(state: DashboardState, done: boolean): DashboardState {
  if (done) return set(state, { final: true });
  const dialog: DialogState = !state.quitting ? { kind: 'quit' } : state.quitStage < 2 ? { kind: 'quit-cancel' } : { kind: 'quit-now' };
  return { ...state, dialog };
}

function move(state: DashboardState, ctx: FrameContext, delta: number, to?: 'home' | 'end'): DashboardState {
  if (state.view === 'detail') {
    const max = Math.max(0, ctx.detailLines - ctx.detailRows);
    const o = state.detailOffset;
    return set(state, { detailOffset: to === 'home' ? 0 : to === 'end' ? max : Math.max(0, Math.min(max, o + delta)) });
  }
  const last = Math.max(0, ctx.rows.length - 1);
  const next = to === 'home' ? 0 : to === 'end' ? last : Math.max(0, Math.min(last, ctx.cursor + delta));
  return set(state, { cursor: next, offset: scrollOffset(next, ctx.offset, ctx.tableRows, ctx.rows.length) });
}

/** Rollback candidates beside the selection: hosts whose change may still be in place. */
const ROLLBACK_CANDIDATES = new Set(['failed', 'rollback-failed', 'unknown']);

function answer(state: DashboardState, ctx: FrameContext, a: { input: string; no: boolean; ctrlC: boolean }): Transition {
  if (ctx.askHost !== undefined) {
    const r = answerFailure(ctx.askHost, a.input);
    if (!r.close) return unchanged(state);
    return sending(state, r.sends, ctx.now, { answeredPause: ctx.run.paused!.seq });
  }
  if (!state.dialog) return unchanged(state);
  const r: DialogAnswer = answerDialog(state.dialog, a.input, a.no, a.ctrlC);
  if (!r.close) return unchanged(state);
  const patch: Partial<DashboardState> = { dialog: undefined };
  if (r.quitting) patch.quitting = true;
  if (r.quitStage) patch.quitStage = r.quitStage;
  if (r.untag) patch.tagged = new Set();
  const t = sending(state, r.sends, ctx.now, patch);
  return r.hardExit ? { ...t, hardExit: true } : t;
}

/** What a key action does to the dashboard, given the frame drawn last. */
export function reduceKey(state: DashboardState, action: KeyAction, ctx: FrameContext): Transition {
  const s = ctx.run;
  const done = ctx.done;
  const selected: HostRunState | undefined = ctx.rows[ctx.cursor];
  const hostInView = state.view === 'detail' ? state.detailHost : selected?.name;
  switch (action.type) {
    case 'filter-edit': {
      const e = action.edit;
      const patch: Partial<DashboardState> = { cursor: 0, offset: 0 };
      if (e.op === 'keep') patch.editing = false;
      else if (e.op === 'clear') Object.assign(patch, { filter: '', editing: false });
      else if (e.op === 'backspace') patch.filter = state.filter.slice(0, -1);
      else if (e.op === 'append') patch.filter = state.filter + e.text;
      return unchanged(set(state, patch));
    }
    case 'answer':
      return answer(state, ctx, action);
    case 'quit':
      return unchanged(quit(state, done));
    case 'interrupt':
      // Already leaving, or the run is already being aborted: Ctrl-C insists, as `q` does.
      if (state.quitting || s.aborting) return unchanged(quit(state, done));
      // Stop scheduling first (the engine's pause: no new host starts), then ask what next.
      return sending(state, s.paused ? [] : [{ command: { type: 'pause' }, note: 'interrupted: no new host starts' }], ctx.now, {
        dialog: { kind: 'interrupt' },
      });
    case 'help':
      return unchanged(set(state, { view: 'help' }));
    case 'close-help':
      return unchanged(set(state, { view: done ? 'summary' : 'table' }));
    case 'move':
      return unchanged(move(state, ctx, action.delta));
    case 'page':
      return unchanged(move(state, ctx, action.direction * (state.view === 'detail' ? ctx.detailRows : ctx.tableRows)));
    case 'jump':
      return unchanged(move(state, ctx, 0, action.to));
    case 'pause-toggle':
      return s.paused
        ? sending(state, [{ command: { type: 'resume' }, note: 'resume requested' }], ctx.now)
        : sending(state, [{ command: { type: 'pause' }, note: 'pause requested: in-flight hosts keep going, no new host starts' }], ctx.now);
    case 'abort':
      return unchanged({ ...state, dialog: { kind: 'abort' } });
    case 'retry': {
      const hosts = retryableHosts(s);
      if (!hosts.length) return flashing(state, 'nothing to retry', ctx.now);
      return unchanged({ ...state, dialog: { kind: 'retry', hosts } });
    }
    case 'rollback': {
      const sel = state.tagged.size ? [...state.tagged] : hostInView ? [hostInView] : selected ? [selected.name] : [];
      const failed = s.hostOrder.filter((n) => ROLLBACK_CANDIDATES.has(s.hosts.get(n)!.state));
      return unchanged({ ...state, dialog: { kind: 'rollback', selected: sel, failed } });
    }
    case 'exclude': {
      if (!hostInView) return unchanged(state);
      const h = s.hosts.get(hostInView)!;
      if (isTerminal(h.state)) return flashing(state, `${h.name} already finished (${h.state}); nothing to exclude`, ctx.now);
      const note = `exclude requested for ${h.name} (${h.state === 'queued' ? 'it will be skipped' : 'it is in flight and will finish'})`;
      return sending(state, [{ command: { type: 'exclude', host: h.name }, note }], ctx.now);
    }
    case 'back':
      return unchanged(set(state, { view: 'table' }));
    case 'start-filter':
      return unchanged(set(state, { editing: true }));
    case 'open-detail':
      if (!selected) return unchanged(state);
      return unchanged(set(state, { detailHost: selected.name, detailOffset: 0, view: 'detail' }));
    case 'tag': {
      if (!selected) return unchanged(state);
      const tagged = new Set(state.tagged);
      if (tagged.has(selected.name)) tagged.delete(selected.name);
      else tagged.add(selected.name);
      return unchanged({ ...state, tagged });
    }
    case 'toggle-errors':
      return unchanged({ ...state, showErrors: !state.showErrors });
    case 'summary':
      return unchanged(set(state, { view: 'summary' }));
    case 'clear':
      if (state.filter) return unchanged({ ...state, filter: '' });
      if (state.tagged.size) return unchanged({ ...state, tagged: new Set() });
      return unchanged(state);
  }
}
