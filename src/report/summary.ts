/**
 * The end-of-run text printed by the plain reporter (and on stderr with --output ndjson): the shared RunState
 * summary (run-state.ts `summaryLines`: title, counts, outcome groups folded into host ranges like
 * "web[01-37]: failed: access denied (5)", next commands), preceded for plan runs by the planned changes
 * grouped by identical diff ("184 hosts web[001-184]: Svc: binaryPath "a" → "b"").
 */
import type { FieldChange } from '../remote/protocol.js';
import { summaryLines, type HostFolder, type RunState } from './run-state.js';

export function finalSummary(s: RunState, now: number, fold: HostFolder): string[] {
  const lines = [''];
  if (s.mode === 'plan') {
    const groups = diffGroups(s, fold);
    lines.push(groups.length ? 'Planned changes:' : 'Planned changes: none');
    for (const g of groups) lines.push(`  ${g}`);
  }
  return [...lines, ...summaryLines(s, now, fold)];
}

/** Hosts whose planned change is identical, largest group first. */
export function diffGroups(s: RunState, fold: HostFolder): string[] {
  const groups = new Map<string, string[]>();
  for (const name of s.hostOrder) {
    const h = s.hosts.get(name)!;
    if (!h.changes.length || !h.service) continue;
    const text = `${h.service}: ${h.changes.map(formatChange).join('; ')}`;
    const g = groups.get(text);
    if (g) g.push(name);
    else groups.set(text, [name]);
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([text, hosts]) => `${hosts.length} host${hosts.length === 1 ? '' : 's'} ${fold(hosts)}: ${text}`);
}

export function formatChange(c: FieldChange): string {
  return `${c.field} ${show(c.before)} → ${show(c.after)}${c.restartNeeded ? ' (restart)' : ''}`;
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? 'null';
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
