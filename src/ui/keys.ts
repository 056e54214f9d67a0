/** The dashboard's key map: one list feeds the `?` help screen, the footer hints and docs/dashboard.md. */
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
];

export function footerHint(running: boolean): string {
  const keys = KEY_HELP.filter((k) => k.footer && (running || !k.live)).map((k) => k.footer);
  if (!running) keys.splice(keys.length - 1, 0, 's summary');
  return keys.join('  ');
}
