/**
 * Host-range folding, in the notation of ClusterShell's nodeset/clubak and pdsh: `web[01-37,40],db1`.
 *
 * Summaries, the dashboard and error groups print a few hundred host names; a folded set stays one line
 * ("web[01-37]: access denied (5)"). `foldHosts` keeps zero padding (web01..web10 → web[01-10], web9..web10 →
 * web[9-10]) and sorts naturally (web2 before web10). `expandHosts` is the inverse, for user input.
 */
import { InputError } from './errors.js';

/** Largest expansion `expandHosts` accepts: a typo like `web[1-99999999]` must not eat the controller's memory. */
export const MAX_EXPANDED_HOSTS = 100_000;

/** Natural order: digit runs compare as numbers (web2 < web10); equal numbers with fewer digits first (1 < 01). */
export function compareHostNames(a: string, b: string): number {
  const ca = chunks(a);
  const cb = chunks(b);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    const xd = isDigits(x);
    const yd = isDigits(y);
    if (xd && yd) {
      const d = compareDigitStrings(x, y);
      if (d !== 0) return d;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return ca.length - cb.length;
}

/** Fold host names into a compact range expression. Order and duplicates of the input do not matter. */
export function foldHosts(hosts: readonly string[]): string {
  const plain: string[] = [];
  // prefix \0 suffix -> the numbers that share them
  const families = new Map<string, { prefix: string; suffix: string; digits: string[] }>();
  for (const name of new Set(hosts)) {
    const m = /^(.*?)(\d+)(\D*)$/.exec(name);
    // Names that already hold range syntax would not expand back to themselves: keep them as they are.
    if (!m || /[[\],]/.test(name)) {
      plain.push(name);
      continue;
    }
    const [, prefix = '', digits = '', suffix = ''] = m;
    const key = `${prefix}\0${suffix}`;
    let fam = families.get(key);
    if (!fam) families.set(key, (fam = { prefix, suffix, digits: [] }));
    fam.digits.push(digits);
  }

  const items: Array<{ first: string; text: string }> = plain.map((p) => ({ first: p, text: p }));
  for (const fam of families.values()) {
    for (const bucket of paddingBuckets(fam.digits)) {
      const first = `${fam.prefix}${bucket.digits[0]}${fam.suffix}`;
      if (bucket.digits.length === 1) {
        items.push({ first, text: first });
      } else {
        items.push({ first, text: `${fam.prefix}[${foldNumbers(bucket.digits)}]${fam.suffix}` });
      }
    }
  }
  items.sort((a, b) => compareHostNames(a.first, b.first));
  return items.map((i) => i.text).join(',');
}

/** Expand `web[01-03,07],db1` into host names (in the written order). Bad syntax is an InputError. */
export function expandHosts(expr: string, field = 'hosts'): string[] {
  const out: string[] = [];
  for (const item of splitTopLevel(expr, field)) {
    if (item === '') continue;
    expandItem(item, field, out);
    if (out.length > MAX_EXPANDED_HOSTS) {
      throw new InputError(`host range expands to more than ${MAX_EXPANDED_HOSTS} names`, { field });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

function chunks(s: string): string[] {
  return s.match(/\d+|\D+/g) ?? [];
}

function isDigits(s: string): boolean {
  return s.length > 0 && s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57;
}

function compareDigitStrings(x: string, y: string): number {
  const xs = x.replace(/^0+(?=\d)/, '');
  const ys = y.replace(/^0+(?=\d)/, '');
  if (xs.length !== ys.length) return xs.length - ys.length;
  if (xs !== ys) return xs < ys ? -1 : 1;
  return x.length - y.length;
}

/**
 * Split digit strings into groups that can share one bracket: the same zero-padded width, or no padding.
 * An unpadded number as wide as a padded group joins it (09 and 10 fold to [09-10]).
 */
function paddingBuckets(digits: string[]): Array<{ width: number; digits: string[] }> {
  const padded = new Map<number, string[]>();
  const unpadded: string[] = [];
  for (const d of new Set(digits)) {
    if (d.length > 1 && d.startsWith('0')) {
      const list = padded.get(d.length) ?? [];
      list.push(d);
      padded.set(d.length, list);
    } else {
      unpadded.push(d);
    }
  }
  const rest: string[] = [];
  for (const d of unpadded) {
    const list = padded.get(d.length);
    if (list) list.push(d);
    else rest.push(d);
  }
  const buckets = [...padded.entries()].map(([width, list]) => ({ width, digits: list }));
  if (rest.length) buckets.push({ width: 0, digits: rest });
  for (const b of buckets) b.digits.sort(compareDigitStrings);
  return buckets;
}

/** Consecutive runs of sorted digit strings of one padding class: ['01','02','03','07'] → '01-03,07'. */
function foldNumbers(sorted: string[]): string {
  const parts: string[] = [];
  let start = sorted[0]!;
  let prev = start;
  const flush = (): void => {
    parts.push(start === prev ? start : `${start}-${prev}`);
  };
  for (const d of sorted.slice(1)) {
    if (BigInt(d) === BigInt(prev) + 1n) {
      prev = d;
      continue;
    }
    flush();
    start = prev = d;
  }
  flush();
  return parts.join(',');
}

function splitTopLevel(expr: string, field: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of expr) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (depth < 0 || depth > 1) throw new InputError(`unbalanced brackets in host range ${JSON.stringify(expr)}`, { field });
    if (ch === ',' && depth === 0) {
      items.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (depth !== 0) throw new InputError(`unbalanced brackets in host range ${JSON.stringify(expr)}`, { field });
  items.push(cur.trim());
  return items;
}

function expandItem(item: string, field: string, out: string[]): void {
  const open = item.indexOf('[');
  if (open < 0) {
    out.push(item);
    return;
  }
  const close = item.indexOf(']', open);
  const head = item.slice(0, open);
  const body = item.slice(open + 1, close);
  const tail = item.slice(close + 1);
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new InputError(`bad range ${JSON.stringify(part)} in host range ${JSON.stringify(item)}`, { field });
    const lo = m[1]!;
    const hi = m[2] ?? lo;
    const a = Number(lo);
    const b = Number(hi);
    if (b < a) throw new InputError(`range ${part} runs backwards in ${JSON.stringify(item)}`, { field });
    if (b - a > MAX_EXPANDED_HOSTS) {
      throw new InputError(`host range expands to more than ${MAX_EXPANDED_HOSTS} names`, { field });
    }
    const width = lo.length > 1 && lo.startsWith('0') ? lo.length : 0;
    for (let n = a; n <= b; n++) {
      expandItem(`${head}${String(n).padStart(width, '0')}${tail}`, field, out);
      if (out.length > MAX_EXPANDED_HOSTS) {
        throw new InputError(`host range expands to more than ${MAX_EXPANDED_HOSTS} names`, { field });
      }
    }
  }
}
