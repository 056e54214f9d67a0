/**
 * Plan results grouped for people: hosts with the identical diff share one group, with their names folded
 * into ranges ("184 hosts web[001-184]: binaryPath "A" → "B""), then unchanged, unreachable and failed hosts,
 * each grouped the same way. Pure: the orchestrator feeds it one entry per (host, service).
 */
import type { FieldChange, Finding } from '../remote/protocol.js';
import { compareHostNames, foldHosts } from '../report/hostrange.js';

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

export interface ChangeGroup extends HostGroup {
  service: string;
  changes: FieldChange[];
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

export function groupPlan(entries: readonly PlanEntry[]): PlanSummary {
  const planned = entries.filter((e): e is Extract<PlanEntry, { status: 'planned' }> => e.status === 'planned');
  const changed = planned.filter((e) => e.diff.length > 0);
  const changes = group(
    changed.map((e) => [{ service: e.service, changes: [...e.diff].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0)) }, e.host] as [
      { service: string; changes: FieldChange[] },
      string,
    ]),
    (key, hosts) => ({ ...key, hosts, folded: foldHosts(hosts), restartNeeded: key.changes.some((c) => c.restartNeeded) }),
  ).sort(bySize);
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
    for (const c of g.changes) lines.push(`  ${c.field}: ${formatValue(c.before, maxValue)} → ${formatValue(c.after, maxValue)}`);
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
        x && typeof x === 'object' && 'type' in x && 'delayMs' in x ? `${String((x as { type: unknown }).type)}/${String((x as { delayMs: unknown }).delayMs)}` : typeof x === 'string' ? x : JSON.stringify(x),
      )
      .join(', ')}]`;
  } else if (typeof v === 'object') {
    s = `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`)
      .join(', ')}}`;
  } else s = String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
