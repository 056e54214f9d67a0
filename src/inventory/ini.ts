/**
 * Ansible INI inventories, read as ansible-core's ini plugin reads them:
 * - lines before any section are hosts of `ungrouped`; `[g]` hosts, `[g:children]` child groups,
 *   `[g:vars]` one `key=value` per line (the value is everything after the first `=`);
 * - host lines are split like a POSIX shell (quotes, `#` comments): `web[01:20]:2222 key=value ...`;
 * - every value goes through Python's literal_eval (see pyliteral.ts), in host lines and in `:vars` alike;
 * - `[g:children]` may name a group declared later; `[g:vars]` needs the group declared somewhere.
 * Every error names the file and line.
 */
import { InputError } from '../util/errors.js';
import { HostPatternError, expandHostEntry } from './hostpattern.js';
import type { InventoryModel, Origin } from './model.js';
import { iniValue } from './pyliteral.js';
import { type ShlexError, shlexSplit } from './shlex.js';

const SECTION_RE = /^\[([^:\]\s]+)(?::([\p{L}\p{N}_]+))?\]\s*(?:#.*)?$/u;
const GROUP_NAME_RE = /^([^:\]\s]+)\s*(?:#.*)?$/;
/** Python's str.splitlines() boundaries, so line numbers agree with Ansible's. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

interface Pending {
  line: number;
  state: 'vars' | 'children';
  parents: string[];
}

export function parseIniInventory(text: string, file: string, model: InventoryModel): void {
  const lines = text.replace(/^\uFEFF/, '').split(LINE_BREAK);
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  // A key written twice in one [g:vars] block (or on one host line) is a typo, not an override: refuse it.
  let sectionKeys = new Map<string, number>();

  const addPendingChildren = (child: string): void => {
    const p = pending.get(child)!;
    pending.delete(child);
    for (const parent of p.parents) {
      model.addChild(parent, child, { file, line: p.line });
      if (pending.get(parent)?.state === 'children') addPendingChildren(parent);
    }
  };

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const origin: Origin = { file, line: lineNo };
    const fail = (message: string, extra: { host?: string; field?: string } = {}): never => {
      throw new InputError(message, { file, line: lineNo, ...extra });
    };
    const line = raw.trim();
    if (!line || line[0] === '#' || line[0] === ';') return;

    const section = SECTION_RE.exec(line);
    if (section) {
      group = section[1]!;
      const kind = section[2] ?? 'hosts';
      if (kind !== 'hosts' && kind !== 'children' && kind !== 'vars') {
        fail(`section [${group}:${kind}] has unknown type ${JSON.stringify(kind)} (expected hosts, children or vars)`);
      }
      state = kind as typeof state;
      sectionKeys = new Map();
      if (!model.groups.has(group)) {
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: lineNo, state: 'vars', parents: [] });
        model.addGroup(group, origin);
      }
      const p = pending.get(group);
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(group);
        else pending.delete(group);
      }
      return;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      fail(`invalid section ${JSON.stringify(line)}: no spaces are allowed in a section, and the form is [group] or [group:vars|children]`);
    }

    if (state === 'hosts') {
      let tokens: string[];
      try {
        tokens = shlexSplit(line);
      } catch (err) {
        return fail(`cannot split host line: ${(err as ShlexError).message}`);
      }
      const entry = tokens[0];
      if (entry === undefined) return;
      let names: string[];
      let port: number | undefined;
      try {
        ({ names, port } = expandHostEntry(entry));
      } catch (err) {
        if (err instanceof HostPatternError) return fail(err.message);
        throw err;
      }
      if (entry.trim().endsWith(':') && port === undefined) {
        fail(`invalid host ${JSON.stringify(entry)}: a trailing ':' must be followed by a port`);
      }
      if (names.some((n) => n.trim() === '---')) fail(`invalid host "---": this looks like a YAML file (name it .yml or .yaml)`);
      const vars: Array<[string, unknown]> = [];
      for (const t of tokens.slice(1)) {
        const eq = t.indexOf('=');
        if (eq < 0) fail(`expected key=value after the host name, got ${JSON.stringify(t)}`, { host: names[0] ?? entry });
        const key = t.slice(0, eq);
        if (vars.some(([k]) => k === key)) fail(`duplicate key ${JSON.stringify(key)} on one host line`, { host: names[0] ?? entry, field: key });
        vars.push([key, iniValue(t.slice(eq + 1))]);
      }
      for (const name of names) {
        model.addHost(name, origin, group, port);
        for (const [k, v] of vars) model.setHostVar(name, k, v, origin);
      }
    } else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) fail(`expected key=value in [${group}:vars], got ${JSON.stringify(line)}`);
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      const seen = sectionKeys.get(key);
      if (seen !== undefined) fail(`duplicate key ${JSON.stringify(key)} in [${group}:vars] (first set on line ${seen})`, { field: key });
      sectionKeys.set(key, lineNo);
      model.setGroupVar(group, key, iniValue(value), origin);
    } else {
      const m = GROUP_NAME_RE.exec(line);
      if (!m) return fail(`expected a group name in [${group}:children], got ${JSON.stringify(line)}`);
      const child = m[1]!;
      if (!model.groups.has(child)) {
        const p = pending.get(child);
        if (p) p.parents.push(group);
        else pending.set(child, { line: lineNo, state: 'children', parents: [group] });
      } else {
        model.addChild(group, child, origin);
      }
    }
  });

  for (const [name, p] of pending) {
    if (p.state === 'vars') {
      throw new InputError(`section [${name}:vars] is for a group that is never declared`, { file, line: p.line });
    }
    throw new InputError(`section [${p.parents[p.parents.length - 1]}:children] names group ${name}, which is never declared`, {
      file,
      line: p.line,
    });
  }
}
