/**
 * `svcfleet inventory --list | --host | --graph`: the views of `ansible-inventory`, from the same data, so the
 * two can be compared (test/inventory/ansible/). Differences, on purpose:
 *   - secrets (ansible_password and every secret-looking variable, see connection.ts) print as [REDACTED];
 *     ansible-inventory prints them in clear text;
 *   - `--limit` keeps only the selected hosts (and the groups that still hold one); ansible-core 2.14 has no
 *     --limit on ansible-inventory;
 *   - `--connections` adds `_meta.connections`: the resolved ConnectionSettings per host (svcfleet only).
 */
import type { ConnectionSettings } from '../transport/types.js';
import type { ConnectionContext } from './connection.js';
import { redactedHostVars } from './connection.js';
import { groupVarsLayer, mergedHostVars } from './hostvars.js';
import { groupTree, resolveHost, type InventoryData } from './load.js';
import type { Vars } from './model.js';
import { allHosts } from './pattern.js';

/** Variables ansible-inventory never prints (its INTERNAL_VARS). */
const INTERNAL_VARS = new Set([
  'ansible_diff_mode',
  'ansible_config_file',
  'ansible_facts',
  'ansible_forks',
  'ansible_inventory_sources',
  'ansible_limit',
  'ansible_playbook_python',
  'ansible_run_tags',
  'ansible_skip_tags',
  'ansible_verbosity',
  'ansible_version',
  'inventory_dir',
  'inventory_file',
  'inventory_hostname',
  'inventory_hostname_short',
  'groups',
  'group_names',
  'omit',
  'playbook_dir',
]);

function printable(vars: Vars): Vars {
  const out = redactedHostVars(vars);
  for (const k of INTERNAL_VARS) delete out[k];
  return out;
}

export interface ListOptions {
  /** Only these hosts (from --limit); default every host. */
  hosts?: readonly string[];
  /** Like --export: group vars under each group, host vars only the host's own. */
  export?: boolean;
  /** Add `_meta.connections` (resolved connection settings, secrets redacted). */
  connections?: ConnectionContext;
}

type GroupView = { hosts?: string[]; children?: string[]; vars?: Vars };

/** The `ansible-inventory --list` document. */
export function listInventory(data: InventoryData, opts: ListOptions = {}): Record<string, unknown> {
  const { model } = data;
  const tree = groupTree(data);
  const selected = new Set(opts.hosts ?? allHosts(tree));
  const keepGroup = (name: string): boolean => name === 'all' || !opts.hosts || groupHoldsSelected(tree, name, selected);

  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const format = (name: string): void => {
    const g = model.groups.get(name)!;
    const view: GroupView = {};
    if (name !== 'all') view.hosts = g.hosts.filter((h) => selected.has(h));
    view.children = g.children.filter(keepGroup);
    for (const child of view.children) {
      if (!seen.has(child)) {
        format(child);
        seen.add(child);
      }
    }
    if (opts.export) {
      const vars = printable(groupVarsLayer(model, data.files, name).vars);
      if (g.priority !== 1) vars.ansible_group_priority = g.priority;
      view.vars = vars;
    }
    for (const k of ['hosts', 'children', 'vars'] as const) {
      const v = view[k];
      if (v !== undefined && (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)) delete view[k];
    }
    if (Object.keys(view).length) out[name] = view;
  };
  format('all');

  const hostvars: Record<string, Vars> = {};
  const connections: Record<string, ConnectionSettings> = {};
  for (const host of allHosts(tree)) {
    if (!selected.has(host)) continue;
    const vars = opts.export ? printable(mergeOwn(data, host)) : printable(mergedHostVars(model, data.files, host, data.depths).vars);
    if (Object.keys(vars).length) hostvars[host] = vars;
    if (opts.connections) connections[host] = resolveHost(data, host, opts.connections).connection;
  }
  const meta: Record<string, unknown> = { hostvars };
  // A JSON round trip turns Secret values into "[REDACTED]" strings for good.
  if (opts.connections) meta.connections = JSON.parse(JSON.stringify(connections));
  out._meta = meta;
  return sortKeysDeep(out) as Record<string, unknown>;
}

/** `ansible-inventory --host H`: the host's merged variables. */
export function hostVariables(data: InventoryData, host: string): Vars {
  return sortKeysDeep(printable(mergedHostVars(data.model, data.files, host, data.depths).vars)) as Vars;
}

/** `ansible-inventory --graph [GROUP]`. */
export function graphInventory(data: InventoryData, start = 'all', opts: { vars?: boolean; hosts?: readonly string[] } = {}): string {
  const { model } = data;
  const selected = opts.hosts ? new Set(opts.hosts) : undefined;
  const lines: string[] = [];
  const name = (text: string, depth: number): string => (depth ? `${'  |'.repeat(depth)}--${text}` : text);
  const showVars = (vars: Vars, depth: number): void => {
    for (const [k, v] of Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      lines.push(name(`{${k} = ${typeof v === 'string' ? v : pythonRepr(v)}}`, depth));
    }
  };
  const walk = (group: string, depth: number): void => {
    lines.push(name(`@${group}:`, depth));
    const g = model.groups.get(group)!;
    for (const child of g.children) walk(child, depth + 1);
    if (group !== 'all') {
      for (const host of g.hosts) {
        if (selected && !selected.has(host)) continue;
        lines.push(name(host, depth + 1));
        if (opts.vars) showVars(printable(mergedHostVars(model, data.files, host, data.depths).vars), depth + 2);
      }
    }
    if (opts.vars) {
      const vars = printable(groupVarsLayer(model, data.files, group).vars);
      if (g.priority !== 1) vars.ansible_group_priority = g.priority;
      showVars(vars, depth + 1);
    }
  };
  walk(start, 0);
  return lines.join('\n');
}

/** How Python prints a value inside `'%s' % value` (ansible-inventory --graph --vars). */
function pythonRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pythonRepr).join(', ')}]`;
  if (typeof v === 'object' && !(Symbol.toPrimitive in v) && Object.getPrototypeOf(v) === Object.prototype) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pythonRepr(k)}: ${pythonRepr(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

function mergeOwn(data: InventoryData, host: string): Vars {
  const own = data.model.hosts.get(host);
  return { ...(own?.vars ?? {}), ...data.files.host(host).vars };
}

function groupHoldsSelected(tree: Record<string, { children: string[]; hosts: string[] }>, name: string, selected: Set<string>): boolean {
  const todo = [name];
  const seen = new Set<string>();
  while (todo.length) {
    const g = todo.pop()!;
    if (seen.has(g)) continue;
    seen.add(g);
    const node = tree[g];
    if (!node) continue;
    if (node.hosts.some((h) => selected.has(h))) return true;
    todo.push(...node.children);
  }
  return false;
}

/** JSON with sorted keys, like ansible-inventory's json.dumps(sort_keys=True); arrays keep their order. */
function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      Object.defineProperty(out, k, { value: sortKeysDeep((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}
