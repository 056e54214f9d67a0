/**
 * The inventory as its sources describe it, before variables are merged: groups (with parents, children,
 * direct hosts, inline vars, priority) and hosts (with inline vars and the groups they were put in).
 *
 * It mirrors ansible-core's InventoryData closely enough to give the same answers: `all` and `ungrouped`
 * always exist; `reconcile()` puts every parentless group under `all` and every group-less host in
 * `ungrouped`; group depth is the longest path from `all`; adding a child that would create a loop is an
 * error. Every host, group and variable remembers where it was written (file, line) for error messages.
 */
import { InputError, type InputLocation } from '../util/errors.js';

export interface Origin {
  file: string;
  line?: number;
  column?: number;
}

export type Vars = Record<string, unknown>;
/** Where each variable of a Vars object was set. */
export type VarOrigins = Record<string, Origin>;

export interface ModelGroup {
  name: string;
  hosts: string[];
  children: string[];
  parents: string[];
  vars: Vars;
  varOrigins: VarOrigins;
  /** ansible_group_priority (default 1): among groups of the same depth, higher wins. */
  priority: number;
  origin?: Origin;
}

export interface ModelHost {
  name: string;
  vars: Vars;
  varOrigins: VarOrigins;
  /** Groups the host was put in directly, in order. */
  groups: string[];
  origin: Origin;
}

/**
 * Characters refused in host and group names: they would break range folding, pattern syntax, shell-like
 * display or the terminal (control characters, quotes including the Unicode smart quotes PowerShell honours).
 */
const BAD_NAME_CHARS = /[\p{Cc}\p{Cf}\p{Z}\s'"‘’‚‛“”„‟`,[\]/\\$;|&!*?~{}<>()=#]/u;

export function checkName(kind: 'host' | 'group', name: string, where: Origin): void {
  if (name === '') throw new InputError(`empty ${kind} name`, locate(where));
  const bad = BAD_NAME_CHARS.exec(name);
  if (bad) {
    throw new InputError(`${kind} name ${JSON.stringify(name)} contains ${describeChar(bad[0])}, which svcfleet does not accept in names`, {
      ...locate(where),
      ...(kind === 'host' ? { host: name } : {}),
    });
  }
}

function describeChar(c: string): string {
  const code = c.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f || /\s|\p{Z}|\p{Cf}/u.test(c)) return `the character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `the character ${JSON.stringify(c)}`;
}

export function locate(o: Origin | undefined): InputLocation {
  if (!o) return {};
  const w: InputLocation = { file: o.file };
  if (o.line !== undefined) w.line = o.line;
  if (o.column !== undefined) w.column = o.column;
  return w;
}

/** Set a property without ever touching a prototype (a variable may be called `__proto__`). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** `{...a, ...b}` for variables: later keys win, no deep merge (Ansible's default hash_behaviour=replace). */
export function combineVars(a: Vars, b: Vars): Vars {
  return { ...a, ...b };
}

export class InventoryModel {
  readonly groups = new Map<string, ModelGroup>();
  /** group -> its direct hosts, for O(1) membership tests on big groups. */
  private readonly members = new Map<string, Set<string>>();
  readonly hosts = new Map<string, ModelHost>();
  /** Files and directories read, in order (for messages and for group_vars/host_vars lookup). */
  readonly sources: string[] = [];
  /** Directories whose group_vars/ and host_vars/ apply (the directory of each inventory file). */
  readonly varsDirs: string[] = [];

  constructor() {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  addGroup(name: string, origin?: Origin): ModelGroup {
    let g = this.groups.get(name);
    if (!g) {
      if (origin) checkName('group', name, origin);
      g = { name, hosts: [], children: [], parents: [], vars: {}, varOrigins: {}, priority: 1 };
      if (origin) g.origin = origin;
      this.groups.set(name, g);
    } else if (!g.origin && origin) {
      g.origin = origin;
    }
    return g;
  }

  /** Add a host (if new) and put it in `group`. A port is recorded as ansible_port only when the host is new. */
  addHost(name: string, origin: Origin, group?: string, port?: number): ModelHost {
    let h = this.hosts.get(name);
    if (!h) {
      checkName('host', name, origin);
      h = { name, vars: {}, varOrigins: {}, groups: [], origin };
      this.hosts.set(name, h);
      if (port !== undefined) this.setHostVar(name, 'ansible_port', port, origin);
    }
    if (group !== undefined) {
      const g = this.groups.get(group);
      if (!g) throw new InputError(`unknown group ${group}`, locate(origin));
      let members = this.members.get(group);
      if (!members) this.members.set(group, (members = new Set(g.hosts)));
      if (!members.has(name)) {
        members.add(name);
        g.hosts.push(name);
        h.groups.push(group);
      }
    }
    return h;
  }

  setGroupVar(group: string, key: string, value: unknown, origin: Origin): void {
    const g = this.groups.get(group);
    if (!g) throw new InputError(`unknown group ${group}`, locate(origin));
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) {
        throw new InputError(`ansible_group_priority must be an integer, got ${JSON.stringify(value)}`, {
          ...locate(origin),
          field: `${group}.ansible_group_priority`,
        });
      }
      g.priority = n;
      return;
    }
    setOwn(g.vars, key, value);
    setOwn(g.varOrigins, key, origin);
  }

  setHostVar(host: string, key: string, value: unknown, origin: Origin): void {
    const h = this.hosts.get(host);
    if (!h) throw new InputError(`unknown host ${host}`, locate(origin));
    setOwn(h.vars, key, value);
    setOwn(h.varOrigins, key, origin);
  }

  /** Make `child` (a group) a child of `parent`. A loop is an error naming both groups. */
  addChild(parent: string, child: string, origin?: Origin): void {
    const p = this.groups.get(parent);
    const c = this.groups.get(child);
    if (!p || !c) throw new InputError(`unknown group ${p ? child : parent}`, locate(origin));
    if (p.children.includes(child)) return;
    if (parent === child || this.ancestors(parent).has(child)) {
      throw new InputError(`adding group ${child} as a child of ${parent} creates a loop`, locate(origin));
    }
    p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  /** Every group above `name` (transitively), `all` included once it is linked. */
  ancestors(name: string): Set<string> {
    const seen = new Set<string>();
    const todo = [...(this.groups.get(name)?.parents ?? [])];
    while (todo.length) {
      const g = todo.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      todo.push(...(this.groups.get(g)?.parents ?? []));
    }
    return seen;
  }

  /** Ansible's reconcile_inventory: link parentless groups under `all`, and group-less hosts into `ungrouped`. */
  reconcile(): void {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name);
    }
    const ungrouped = this.groups.get('ungrouped')!;
    const leave = new Set<string>();
    const join: string[] = [];
    for (const h of this.hosts.values()) {
      const others = h.groups.filter((g) => g !== 'all' && g !== 'ungrouped');
      if (h.groups.includes('ungrouped')) {
        if (others.length) {
          leave.add(h.name);
          h.groups = h.groups.filter((g) => g !== 'ungrouped');
        }
      } else if (others.length === 0) {
        join.push(h.name);
        h.groups.push('ungrouped');
      }
    }
    ungrouped.hosts = [...ungrouped.hosts.filter((n) => !leave.has(n)), ...join];
    this.members.delete('ungrouped');
  }

  /** Longest path from `all` (Ansible's Group.depth), used to order group variables. */
  depths(): Map<string, number> {
    const memo = new Map<string, number>();
    const depth = (name: string): number => {
      const known = memo.get(name);
      if (known !== undefined) return known;
      const parents = this.groups.get(name)?.parents ?? [];
      const d = parents.length ? Math.max(...parents.map((p) => depth(p) + 1)) : 0;
      memo.set(name, d);
      return d;
    };
    for (const name of this.groups.keys()) depth(name);
    return memo;
  }
}
