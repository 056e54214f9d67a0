/**
 * Plan results grouped for people: hosts with the identical diff share one group, with their names folded
 * into ranges ("184 hosts web[001-184]: binaryPath "A" → "B""), then unchanged, unreachable and failed hosts,
 * each grouped the same way. Pure: the orchestrator feeds it one entry per (host, service).
 */
import type { FieldChange, Finding } from '../remote/protocol.js';
import { compareHostNames, foldHosts } from '../util/hostrange.js';
import { imageOf, splitWindowsArgs } from '../util/windows-cmdline.js';

export type PlanEntry =
  | {
      host: string;
      service: string;
      status: 'planned';
      /** Empty when nothing would change. */
      diff: FieldChange[];
      configHash: string;
      findings?: Finding[];
    }
  | { host: string; service?: string; status: 'unreachable'; message: string }
  | { host: string; service?: string; status: 'error'; message: string; code?: string };

export interface HostGroup {
  hosts: string[];
  /** Host names folded into ranges. */
  folded: string;
}

/** How a binary path's arguments change while its executable stays (the unchanged start and end dropped). */
export interface ArgsDelta {
  removed: string[];
  added: string[];
}

/**
 * A change as a group shows it. A binary path that differs per host (a templated port, a site name) but changes
 * the same way everywhere is shown as its argument delta, so "--workers 8 added" folds 500 hosts into one group;
 * the exact per-host values stay in plan.json and `svcfleet show`.
 */
export type GroupedChange = FieldChange | { field: string; restartNeeded: boolean; args: ArgsDelta; distinct: number };

export interface ChangeGroup extends HostGroup {
  service: string;
  changes: GroupedChange[];
  restartNeeded: boolean;
}

export interface FieldStat {
  service: string;
  field: string;
  hosts: number;
  /** Distinct (before → after) pairs: 1 means every host changes the same way. */
  distinct: number;
}

export interface PlanSummary {
  changes: ChangeGroup[];
  unchanged: Array<HostGroup & { service: string }>;
  unreachable: Array<HostGroup & { message: string }>;
  errors: Array<HostGroup & { message: string; code?: string }>;
  /** How each field changes across the fleet: the line that stays short when every host differs a little. */
  fields: FieldStat[];
  /** Per host (a host counts once): to change, unchanged, unreachable, error. */
  counts: { hosts: number; change: number; unchanged: number; unreachable: number; error: number };
}

/** Canonical JSON: object keys sorted, so equal values give equal keys whatever their key order. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function group<K, G>(items: Iterable<[K, string]>, make: (key: K, hosts: string[]) => G): G[] {
  const map = new Map<string, { key: K; hosts: Set<string> }>();
  for (const [key, host] of items) {
    const k = stableJson(key);
    const g = map.get(k) ?? { key, hosts: new Set<string>() };
    g.hosts.add(host);
    map.set(k, g);
  }
  return [...map.values()].map((g) => make(g.key, [...g.hosts].sort(compareHostNames)));
}

const bySize = <T extends HostGroup>(a: T, b: T): number => b.hosts.length - a.hosts.length || compareHostNames(a.hosts[0] ?? '', b.hosts[0] ?? '');

/** The argument delta of a binary-path change that keeps its executable, else undefined. */
export function argsDelta(before: unknown, after: unknown): ArgsDelta | undefined {
  if (typeof before !== 'string' || typeof after !== 'string') return undefined;
  const exe = imageOf(before);
  if (!exe || exe.toLowerCase() !== imageOf(after).toLowerCase()) return undefined;
  const b = argsOf(before, exe);
  const a = argsOf(after, exe);
  let start = 0;
  while (start < b.length && start < a.length && b[start] === a[start]) start++;
  let end = 0;
  while (end < b.length - start && end < a.length - start && b[b.length - 1 - end] === a[a.length - 1 - end]) end++;
  // "--workers 4" → "--workers 8" reads better than "4" → "8": keep the flag a changed value belongs to.
  const isFlag = (t: string | undefined) => t !== undefined && /^(--?|\/)[^\d]/.test(t);
  if (start > 0 && isFlag(b[start - 1]) && !isFlag(b[start] ?? a[start])) start--;
  return { removed: b.slice(start, b.length - end), added: a.slice(start, a.length - end) };
}

function argsOf(commandLine: string, exe: string): string[] {
  const line = commandLine.replace(/^[ \t]+/, '');
  const rest = line.startsWith('"') ? line.slice(exe.length + 2) : line.slice(exe.length);
  return splitWindowsArgs(rest);
}

/** The grouping key of one change: binary paths that keep their executable are compared by argument delta. */
function changeKey(c: FieldChange): GroupedChange {
  const args = c.field === 'binaryPath' ? argsDelta(c.before, c.after) : undefined;
  return args ? { field: c.field, restartNeeded: c.restartNeeded, args, distinct: 1 } : c;
}

function groupChanges(changed: ReadonlyArray<Extract<PlanEntry, { status: 'planned' }>>): ChangeGroup[] {
  const byField = (a: { field: string }, b: { field: string }) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0);
  const map = new Map<string, { service: string; changes: GroupedChange[]; hosts: Set<string>; exact: Map<string, Map<string, FieldChange>> }>();
  for (const e of changed) {
    const diff = [...e.diff].sort(byField);
    const keyChanges = diff.map(changeKey);
    const k = stableJson({ service: e.service, changes: keyChanges });
    const g = map.get(k) ?? { service: e.service, changes: keyChanges, hosts: new Set<string>(), exact: new Map() };
    g.hosts.add(e.host);
    for (const c of diff) {
      const values = g.exact.get(c.field) ?? new Map<string, FieldChange>();
      values.set(stableJson([c.before, c.after]), c);
      g.exact.set(c.field, values);
    }
    map.set(k, g);
  }
  return [...map.values()].map((g) => {
    const hosts = [...g.hosts].sort(compareHostNames);
    // Where every host of the group has the same exact values, show them rather than the delta.
    const changes = g.changes.map((c): GroupedChange => {
      const values = g.exact.get(c.field)!;
      return 'args' in c ? (values.size === 1 ? [...values.values()][0]! : { ...c, distinct: values.size }) : c;
    });
    return { service: g.service, changes, hosts, folded: foldHosts(hosts), restartNeeded: changes.some((c) => c.restartNeeded) };
  });
}

export function groupPlan(entries: readonly PlanEntry[]): PlanSummary {
  const planned = entries.filter((e): e is Extract<PlanEntry, { status: 'planned' }> => e.status === 'planned');
  const changed = planned.filter((e) => e.diff.length > 0);
  const changes = groupChanges(changed).sort(bySize);
  const unchanged = group(
    planned.filter((e) => e.diff.length === 0).map((e) => [e.service, e.host] as [string, string]),
    (service, hosts) => ({ service, hosts, folded: foldHosts(hosts) }),
  ).sort(bySize);
  const unreachable = group(
    entries.filter((e) => e.status === 'unreachable').map((e) => [e.message, e.host] as [string, string]),
    (message, hosts) => ({ message, hosts, folded: foldHosts(hosts) }),
  ).sort(bySize);
  const errors = group(
    entries
      .filter((e): e is Extract<PlanEntry, { status: 'error' }> => e.status === 'error')
      .map((e) => [{ message: e.message, ...(e.code ? { code: e.code } : {}) }, e.host] as [{ message: string; code?: string }, string]),
    (key, hosts) => ({ ...key, hosts, folded: foldHosts(hosts) }),
  ).sort(bySize);

  const fieldMap = new Map<string, { service: string; field: string; hosts: Set<string>; values: Set<string> }>();
  for (const e of changed) {
    for (const c of e.diff) {
      const k = `${e.service}\0${c.field}`;
      const f = fieldMap.get(k) ?? { service: e.service, field: c.field, hosts: new Set<string>(), values: new Set<string>() };
      f.hosts.add(e.host);
      f.values.add(stableJson([c.before, c.after]));
      fieldMap.set(k, f);
    }
  }
  const fields = [...fieldMap.values()]
    .map((f) => ({ service: f.service, field: f.field, hosts: f.hosts.size, distinct: f.values.size }))
    .sort((a, b) => b.hosts - a.hosts || (a.field < b.field ? -1 : 1));

  // Per host: error > unreachable > change > unchanged.
  const state = new Map<string, 'error' | 'unreachable' | 'change' | 'unchanged'>();
  const rank = { unchanged: 0, change: 1, unreachable: 2, error: 3 } as const;
  const bump = (host: string, s: keyof typeof rank): void => {
    const cur = state.get(host);
    if (cur === undefined || rank[s] > rank[cur]) state.set(host, s);
  };
  for (const e of entries) {
    if (e.status === 'planned') bump(e.host, e.diff.length ? 'change' : 'unchanged');
    else bump(e.host, e.status);
  }
  const counts = { hosts: state.size, change: 0, unchanged: 0, unreachable: 0, error: 0 };
  for (const s of state.values()) counts[s]++;
  return { changes, unchanged, unreachable, errors, fields, counts };
}

export interface FormatOptions {
  /** Change groups shown in full before the rest are summarised (default 10). */
  maxGroups?: number;
  /** Longest value shown before it is cut with … (default 120). */
  maxValue?: number;
}

/** "184 hosts to change, 3 unchanged, 2 unreachable, 1 error" */
export function planHeadline(s: PlanSummary): string {
  const parts = [`${s.counts.change} ${plural(s.counts.change, 'host')} to change`, `${s.counts.unchanged} unchanged`];
  if (s.counts.unreachable) parts.push(`${s.counts.unreachable} unreachable`);
  if (s.counts.error) parts.push(`${s.counts.error} ${plural(s.counts.error, 'error')}`);
  return parts.join(', ');
}

/** The plan as lines of text (no colour): change groups, then unchanged, unreachable, errors, and the headline. */
export function formatPlanSummary(s: PlanSummary, opts: FormatOptions = {}): string[] {
  const maxGroups = opts.maxGroups ?? 10;
  const maxValue = opts.maxValue ?? 120;
  const lines: string[] = [];
  for (const g of s.changes.slice(0, maxGroups)) {
    lines.push(`${g.service} on ${g.hosts.length} ${plural(g.hosts.length, 'host')} ${g.folded}:${g.restartNeeded ? ' (restart needed)' : ''}`);
    for (const c of g.changes) lines.push(`  ${c.field}: ${formatGroupedChange(c, maxValue)}`);
  }
  const rest = s.changes.slice(maxGroups);
  if (rest.length) {
    const hosts = rest.reduce((n, g) => n + g.hosts.length, 0);
    lines.push(`… ${rest.length} more distinct ${plural(rest.length, 'change')} on ${hosts} ${plural(hosts, 'host')}`);
    for (const f of s.fields.filter((x) => x.distinct > 1)) {
      lines.push(`  ${f.service} ${f.field}: ${f.distinct} different values on ${f.hosts} ${plural(f.hosts, 'host')}`);
    }
  }
  for (const g of s.unchanged) lines.push(`${g.service} unchanged on ${g.hosts.length} ${plural(g.hosts.length, 'host')} ${g.folded}`);
  for (const g of s.unreachable) lines.push(`unreachable: ${g.folded}: ${g.message} (${g.hosts.length})`);
  for (const g of s.errors) lines.push(`error: ${g.folded}: ${g.code ? `[${g.code}] ` : ''}${g.message} (${g.hosts.length})`);
  lines.push(planHeadline(s));
  return lines;
}

function formatGroupedChange(c: GroupedChange, maxValue: number): string {
  if (!('args' in c)) return `${formatValue(c.before, maxValue)} → ${formatValue(c.after, maxValue)}`;
  // Quoted the way a Windows command line would quote them, so paths keep single backslashes.
  const words = (list: string[]) => list.map((t) => (/[\s"]/.test(t) || t === '' ? `"${t.replace(/"/g, '\\"')}"` : t)).join(' ');
  const { removed, added } = c.args;
  const delta = removed.length && added.length ? `${words(removed)} → ${words(added)}` : removed.length ? `removes ${words(removed)}` : `adds ${words(added)}`;
  return `arguments ${clip(delta, maxValue)} (executable unchanged; ${c.distinct} distinct command lines)`;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/** A diff value for a one-line display: text quoted, lists joined, failure actions as type/delay. */
export function formatValue(v: unknown, max = 120): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v);
  else if (v === null || v === undefined) s = v === null ? 'null' : '(none)';
  else if (Array.isArray(v)) {
    s = `[${v
      .map((x) =>
        x && typeof x === 'object' && 'type' in x && 'delayMs' in x
          ? `${String((x as { type: unknown }).type)}/${String((x as { delayMs: unknown }).delayMs)}`
          : typeof x === 'string'
            ? x
            : JSON.stringify(x),
      )
      .join(', ')}]`;
  } else if (typeof v === 'object') {
    s = `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`)
      .join(', ')}}`;
  } else s = String(v);
  return clip(s, max);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
