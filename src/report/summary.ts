/**
 * The end-of-run text printed by the plain reporter (and on stderr with --output ndjson): the shared RunState
 * summary (report/run-text.ts `summaryLines`: title, counts, outcome groups folded into host ranges like
 * "web[01-37]: failed: access denied (5)", next commands). Plan runs print their grouped diffs separately
 * (plan/group.ts).
 */
import type { FieldChange } from '../remote/protocol.js';
import { formatValue } from '../plan/group.js';
import type { RunState } from '../state/run-state.js';
import type { HostFolder } from '../state/queries.js';
import { summaryLines } from './run-text.js';

export function finalSummary(s: RunState, now: number, fold: HostFolder): string[] {
  return ['', ...summaryLines(s, now, fold)];
}

/** One diff entry on one line: `binaryPath "a" → "b" (restart)`. */
export function formatChange(c: FieldChange): string {
  return `${c.field} ${formatValue(c.before)} → ${formatValue(c.after)}${c.restartNeeded ? ' (restart)' : ''}`;
}
