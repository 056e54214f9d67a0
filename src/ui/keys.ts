/**
 * The dashboard's keys. `KEY_HELP` is the one list that feeds the `?` help screen, the footer hints and
 * docs/dashboard.md; `keyAction` maps a key press to what it means in the current mode. Both are pure (no React,
 * no Ink import beyond the `Key` type), so the key map is tested without a terminal.
 */
import type { Key } from 'ink';

export interface KeyHelp {
  keys: string;
  action: string;
  /** Shown in the one-line footer too. */
  footer?: string;
  /** Only meaningful while the run is going (hidden from the footer afterwards). */
  live?: boolean;
}

export const KEY_HELP: readonly KeyHelp[] = [
  { keys: '↑ ↓  PgUp PgDn  Home End', action: 'move in the host table (or scroll the host details)', footer: '↑↓ move' },
  { keys: '/', action: 'filter hosts: name, group:NAME, state:STATE, !negate (Enter keeps, Esc clears)', footer: '/ filter' },
  { keys: 'Enter', action: 'drill into the selected host: timeline, diff, request, log tail, rollback', footer: '⏎ details' },
  { keys: 'Esc', action: 'back (closes details, help, dialogs; clears the filter)' },
  { keys: 'space', action: 'tag / untag the selected host (b acts on tagged hosts)' },
  { keys: 'p', action: 'pause / resume scheduling (in-flight hosts keep going)', footer: 'p pause', live: true },
  { keys: 'a', action: 'abort the run (asks first; in-flight hosts finish, or are cancelled and roll back)', footer: 'a abort', live: true },
  { keys: 'r', action: 'retry failed, rolled-back, unreachable and unknown hosts', footer: 'r retry' },
  { keys: 'b', action: 'roll back the tagged hosts, the selected host, or all failed hosts', footer: 'b rollback' },
  { keys: 'x', action: 'exclude the selected host (skipped if it has not started)', footer: 'x exclude', live: true },
  { keys: 'e', action: 'show or hide the grouped-errors panel' },
  { keys: '?', action: 'this help', footer: '? help' },
  { keys: 'q', action: 'quit (asks while the run is going: it is aborted first)', footer: 'q quit' },
  { keys: 'Ctrl-C', action: 'stop scheduling at once (no new host starts), then ask: continue, cancel in-flight hosts, or quit' },
];

export function footerHint(running: boolean): string {
  const keys = KEY_HELP.filter((k) => k.footer && (running || !k.live)).map((k) => k.footer);
  if (!running) keys.splice(keys.length - 1, 0, 's summary');
  return keys.join('  ');
}

/** The footer of the summary view (its keys differ from the table's). */
export const SUMMARY_FOOTER = 'Esc/Enter browse hosts  r retry  b rollback  ? help  q quit';

export type View = 'table' | 'detail' | 'help' | 'summary';

/** What decides a key's meaning: the dashboard's mode, not its data. */
export interface KeyMode {
  /** The final frame is drawn; keys do nothing any more. */
  final: boolean;
  /** Typing a filter after `/`. */
  editing: boolean;
  /** A dialog (or the on-failure question) is open and takes the next key as its answer. */
  dialog: boolean;
  view: View;
  /** The run is done. */
  done: boolean;
}

/** How a key edits the filter while typing it: every key also puts the cursor back on the first row. */
export type FilterEdit = { op: 'keep' } | { op: 'clear' } | { op: 'backspace' } | { op: 'append'; text: string } | { op: 'none' };

/** What a key press asks the dashboard to do; `dashboard-state.ts` decides what that does to the state. */
export type KeyAction =
  | { type: 'filter-edit'; edit: FilterEdit }
  | { type: 'answer'; input: string; no: boolean; ctrlC: boolean }
  | { type: 'quit' }
  | { type: 'interrupt' }
  | { type: 'help' }
  | { type: 'close-help' }
  | { type: 'move'; delta: number }
  | { type: 'page'; direction: -1 | 1 }
  | { type: 'jump'; to: 'home' | 'end' }
  | { type: 'pause-toggle' }
  | { type: 'abort' }
  | { type: 'retry' }
  | { type: 'rollback' }
  | { type: 'exclude' }
  | { type: 'back' }
  | { type: 'start-filter' }
  | { type: 'open-detail' }
  | { type: 'tag' }
  | { type: 'toggle-errors' }
  | { type: 'summary' }
  | { type: 'clear' };

/**
 * The key map. Order matters and follows the modes from the most to the least modal: the filter being typed
 * takes every key, then an open dialog, then quit, help, moving, the run commands (in every view), and last the
 * keys of the current view. Undefined: the key means nothing here.
 */
export function keyAction(input: string, key: Key, mode: KeyMode): KeyAction | undefined {
  if (mode.final) return undefined;
  if (mode.editing) {
    if (key.return) return { type: 'filter-edit', edit: { op: 'keep' } };
    if (key.escape) return { type: 'filter-edit', edit: { op: 'clear' } };
    if (key.backspace || key.delete) return { type: 'filter-edit', edit: { op: 'backspace' } };
    if (input && !key.ctrl && !key.meta && !key.upArrow && !key.downArrow) {
      return { type: 'filter-edit', edit: { op: 'append', text: input } };
    }
    return { type: 'filter-edit', edit: { op: 'none' } };
  }
  const ctrlC = key.ctrl && input === 'c';
  if (mode.dialog) return { type: 'answer', input, no: key.escape || input === 'n', ctrlC };
  // Ctrl-C while the run goes stops scheduling before it asks anything: hosts must not keep starting while a
  // person reads a dialog. After the run it leaves, like `q`.
  if (ctrlC) return mode.done ? { type: 'quit' } : { type: 'interrupt' };
  if (input === 'q') return { type: 'quit' };
  if (mode.view === 'help') return key.escape || input === '?' ? { type: 'close-help' } : undefined;
  if (input === '?') return { type: 'help' };
  if (key.upArrow) return { type: 'move', delta: -1 };
  if (key.downArrow) return { type: 'move', delta: 1 };
  if (key.pageUp) return { type: 'page', direction: -1 };
  if (key.pageDown) return { type: 'page', direction: 1 };
  if (key.home) return { type: 'jump', to: 'home' };
  if (key.end) return { type: 'jump', to: 'end' };
  if (input === 'p' && !mode.done) return { type: 'pause-toggle' };
  if (input === 'a' && !mode.done) return { type: 'abort' };
  if (input === 'r') return { type: 'retry' };
  if (input === 'b') return { type: 'rollback' };
  if (input === 'x') return { type: 'exclude' };
  if (mode.view === 'summary') return key.escape || key.return ? { type: 'back' } : undefined;
  if (mode.view === 'detail') return key.escape ? { type: 'back' } : undefined;
  // the host table
  if (input === '/') return { type: 'start-filter' };
  if (key.return) return { type: 'open-detail' };
  if (input === ' ') return { type: 'tag' };
  if (input === 'e') return { type: 'toggle-errors' };
  if (input === 's' && mode.done) return { type: 'summary' };
  if (key.escape) return { type: 'clear' };
  return undefined;
}
