/**
 * Host patterns and `--limit`, read as Ansible reads them (inventory/manager.py):
 *   `web:&prod:!web03`   union, then `&` intersections, then `!` exclusions (order in the text does not matter)
 *   `a,b` or `a:b`       `,` separates; `:` too, except inside `[...]` and in IPv6 addresses / host:port
 *   `web*`, `db?`, `[ab]*`  shell globs (case-sensitive), over group names, and over host names when no group
 *                        matches or the pattern has . ? * [
 *   `~web0[12]`          a regular expression, matched from the start of the name
 *   `web[0]`, `web[1:3]`, `web[2:]`, `web[-1]`   subscripts of what the pattern matched (0-based, inclusive)
 *   `@file`              one pattern per line (in --limit only)
 *   `all`, `*`           every host
 *
 * Difference (safety): Ansible only WARNS when a term matches nothing and carries on. Here a term that matches
 * no host or group is an error naming it — a typo in `!web03` must not put web03 in a rollout — and so is a
 * limit that leaves no host at all (Ansible errors on that too). There is no implicit `localhost`.
 * Selections are explicit: an empty pattern (`''`, `' '`, `','`), list or `@file` is an error, not "every
 * host" (an unset shell variable in `-l "$HOSTS"` must not widen a rollout); `all` or `*` selects every host.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../util/errors.js';
import { parseAddress } from './hostpattern.js';

/** The part of an inventory that patterns need (Inventory['groups'] fits). */
export type GroupTree = Record<string, { children: string[]; hosts: string[] }>;

/** Hosts of a group and its descendants, in Ansible's order: the group's own hosts, then breadth-first. */
export function groupHosts(groups: GroupTree, name: string): string[] {
  const order: string[] = [name];
  const seen = new Set(order);
  for (let i = 0; i < order.length; i++) {
    for (const c of groups[order[i]!]?.children ?? []) {
      if (!seen.has(c)) {
        seen.add(c);
        order.push(c);
      }
    }
  }
  const out: string[] = [];
  const seenHosts = new Set<string>();
  for (const g of order) {
    for (const h of groups[g]?.hosts ?? []) {
      if (!seenHosts.has(h)) {
        seenHosts.add(h);
        out.push(h);
      }
    }
  }
  return out;
}

/** Every host, in inventory order (Ansible's order for `all`). */
export function allHosts(groups: GroupTree): string[] {
  return groupHosts(groups, 'all');
}

/** Ansible's split_host_pattern: `a, b` → [a, b]; `web:&prod:!x` → [web, &prod, !x]; `[::1]:22` stays whole. */
export function splitHostPattern(pattern: string): string[] {
  let parts: string[];
  if (pattern.includes(',')) parts = pattern.split(',');
  else if (parseAddress(pattern)) parts = [pattern];
  else parts = pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  return parts.map((p) => p.trim()).filter(Boolean);
}

export interface SelectOptions {
  /** Directory for relative `@file` references. */
  cwd?: string;
  /** Names the option in errors (default 'limit'). */
  field?: string;
}

/**
 * The hosts a limit selects, in inventory order. Throws InputError for a term that matches nothing, a bad
 * regex or subscript, an unreadable @file, and when nothing at all is selected.
 */
export function selectHosts(groups: GroupTree, limit: string | readonly string[], opts: SelectOptions = {}): string[] {
  const field = opts.field ?? 'limit';
  const limits = typeof limit === 'string' ? [limit] : limit;
  if (limits.length === 0) throw emptyPattern('', field);
  const terms = expandTerms(limits, opts.cwd ?? process.cwd(), field);
  const everyone = allHosts(groups);
  const chosen = new Set(evaluate(groups, everyone, terms, field));
  const out = everyone.filter((h) => chosen.has(h));
  if (out.length === 0) {
    throw new InputError(`the pattern ${JSON.stringify(typeof limit === 'string' ? limit : limit.join(','))} selects no hosts`, { field });
  }
  return out;
}

/** The hosts one pattern matches (no @file), in match order; the building block for canary lists and the like. */
export function matchPattern(groups: GroupTree, pattern: string, field = 'pattern'): string[] {
  const terms = splitHostPattern(pattern);
  if (terms.length === 0) throw emptyPattern(pattern, field);
  return evaluate(groups, allHosts(groups), terms, field);
}

function emptyPattern(pattern: string, field: string): InputError {
  return new InputError(`${field} ${JSON.stringify(pattern)} is empty: name the hosts, or use 'all' (or '*') for every host`, { field });
}

function expandTerms(limits: readonly string[], cwd: string, field: string): string[] {
  const out: string[] = [];
  for (const limit of limits) {
    const terms = splitHostPattern(limit);
    if (terms.length === 0) throw emptyPattern(limit, field);
    for (const term of terms) {
      if (!term.startsWith('@')) {
        out.push(term);
        continue;
      }
      const file = resolve(cwd, term.slice(1));
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new InputError(code === 'EISDIR' ? `limit file ${file} is a directory` : `cannot read limit file ${file}: ${code ?? (err as Error).message}`, {
          field,
        });
      }
      const lines = text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      if (lines.length === 0) throw new InputError(`limit file ${file} names no host (it is empty); use 'all' for every host`, { field });
      out.push(...lines);
    }
  }
  return out;
}

function evaluate(groups: GroupTree, everyone: string[], terms: readonly string[], field: string): string[] {
  const regular = terms.filter((t) => t[0] !== '!' && t[0] !== '&');
  const ordered = [...(regular.length ? regular : ['all']), ...terms.filter((t) => t[0] === '&'), ...terms.filter((t) => t[0] === '!')];
  const hostSet = new Set(everyone);
  let hosts: string[] = [];
  for (const term of ordered) {
    if (hostSet.has(term)) {
      if (!hosts.includes(term)) hosts.push(term);
      continue;
    }
    const matched = matchOne(groups, everyone, term, field);
    if (term[0] === '!') {
      const drop = new Set(matched);
      hosts = hosts.filter((h) => !drop.has(h));
    } else if (term[0] === '&') {
      const keep = new Set(matched);
      hosts = hosts.filter((h) => keep.has(h));
    } else {
      const have = new Set(hosts);
      for (const h of matched) {
        if (!have.has(h)) {
          have.add(h);
          hosts.push(h);
        }
      }
    }
  }
  return hosts;
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/;

function matchOne(groups: GroupTree, everyone: string[], term: string, field: string): string[] {
  const pattern = term[0] === '!' || term[0] === '&' ? term.slice(1) : term;
  if (!pattern) throw new InputError(`empty pattern after ${term[0]}`, { field });
  let expr = pattern;
  let subscript: [number, number | undefined] | undefined;
  if (pattern[0] !== '~') {
    const m = SUBSCRIPT.exec(pattern);
    if (m) {
      expr = m[1]!;
      if (m[2] !== undefined) subscript = [Number(m[2]), undefined];
      else subscript = [Number(m[3]), m[5] ? Number(m[5]) : -1];
    }
  }
  const matcher = compile(expr, field);
  const groupNames = Object.keys(groups).filter((g) => matcher(g));
  let results: string[] = [];
  for (const g of groupNames) results.push(...groupHosts(groups, g));
  if (!groupNames.length || expr[0] === '~' || /[.?*[]/.test(expr)) {
    results.push(...everyone.filter((h) => matcher(h)));
  }
  results = [...new Set(results)];
  if (!results.length && !groupNames.length && expr !== 'all') {
    throw new InputError(`${JSON.stringify(pattern)} matches no host or group in the inventory`, { field });
  }
  if (!subscript || !results.length) return results;
  const [start, end] = subscript;
  if (end === undefined || end === 0) {
    // Python's hosts[i]: negative counts from the end; out of range is an error
    const i = start < 0 ? results.length + start : start;
    const h = results[i];
    if (h === undefined) throw new InputError(`no host at index ${start} of ${JSON.stringify(expr)} (it has ${results.length})`, { field });
    return [h];
  }
  const last = end === -1 ? results.length - 1 : end;
  return results.slice(start, last + 1);
}

function compile(expr: string, field: string): (name: string) => boolean {
  let re: RegExp;
  try {
    re = expr[0] === '~' ? new RegExp(`^(?:${expr.slice(1)})`) : new RegExp(`^${globToRegex(expr)}$`, 's');
  } catch (err) {
    throw new InputError(`invalid pattern ${JSON.stringify(expr)}: ${(err as Error).message}`, { field });
  }
  return (name) => re.test(name);
}

/** Python's fnmatch.translate, for JS: * ? [seq] [!seq]; an unclosed [ is literal; case-sensitive. */
export function globToRegex(glob: string): string {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i++]!;
    if (c === '*') {
      if (!out.endsWith('.*')) out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      let j = i;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i, j);
      i = j + 1;
      if (body === '') {
        out += '(?!)';
        continue;
      }
      if (body === '!') {
        out += '.';
        continue;
      }
      let negate = false;
      if (body[0] === '!') {
        negate = true;
        body = body.slice(1);
      }
      const cls = [...body].map((ch) => (ch === '-' ? '-' : escapeClassChar(ch))).join('');
      out += `[${negate ? '^' : ''}${cls}]`;
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return out;
}

function escapeClassChar(ch: string): string {
  return /[\]\\^[]/.test(ch) ? `\\${ch}` : ch;
}
