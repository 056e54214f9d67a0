/**
 * Structured input files (YAML or JSON) read with their source positions, so that every error about an
 * inventory, change spec, config or plan file can name the file, the line and the field.
 *
 * JSON is read by the same YAML parser (JSON is a subset of YAML 1.2), so both formats give line numbers.
 * Duplicate keys are errors (a silently overwritten key is a silently ignored setting).
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type Tags, type YAMLMap } from 'yaml';
import type { z } from 'zod';
import { InputError, type InputLocation } from './errors.js';

export interface Position {
  line: number;
  column: number;
}

export type PathSegment = string | number;

export interface ParsedDocument {
  file: string;
  /** Plain JS value (maps → objects, sequences → arrays). */
  value: unknown;
  /** Position of the value at `path` (or of its key when `key` is set); the nearest existing ancestor if absent. */
  locate(path: readonly PathSegment[], opts?: { key?: boolean }): Position | undefined;
}

export interface ParseOptions {
  /** '1.1' reads like PyYAML (Ansible files: yes/no booleans, 0755 octal); '1.2' (default) is plain YAML/JSON. */
  version?: '1.1' | '1.2';
  /** Extra tags (e.g. Ansible's !vault and !unsafe). */
  customTags?: Tags;
}

/** Marks the tags YAML 1.1 turns into Dates: Ansible prints them back as text, so do we (keep them strings). */
const TIMESTAMP_TAG = 'tag:yaml.org,2002:timestamp';

export function parseYamlDocument(text: string, file: string, opts: ParseOptions = {}): ParsedDocument {
  const lineCounter = new LineCounter();
  const version = opts.version ?? '1.2';
  const extra = opts.customTags ?? [];
  let doc: Document;
  try {
    doc = parseDocument(text, {
      version,
      lineCounter,
      merge: version === '1.1',
      uniqueKeys: true,
      prettyErrors: true,
      customTags: (tags) => [...tags.filter((t) => typeof t === 'string' || t.tag !== TIMESTAMP_TAG), ...extra],
    });
  } catch (err) {
    throw new InputError(`cannot parse: ${(err as Error).message}`, { file }, { cause: err });
  }
  const firstProblem = doc.errors[0] ?? doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (firstProblem) {
    const pos = firstProblem.linePos?.[0];
    const where: InputLocation = { file };
    if (pos) {
      where.line = pos.line;
      where.column = pos.col;
    }
    throw new InputError(firstLine(firstProblem.message), where);
  }
  // `__proto__` as a key is how prototype-pollution payloads look; no svcfleet or Ansible file needs one.
  const at = (node: unknown): InputLocation => {
    const r = rangeOf(node);
    const p = r ? lineCounter.linePos(r[0]) : undefined;
    return p ? { file, line: p.line, column: p.col } : { file };
  };
  visit(doc, {
    Alias(_, alias) {
      if (!alias.resolve(doc)) throw new InputError(`unknown alias *${alias.source}`, at(alias));
    },
    Pair(_, pair) {
      if (isScalar(pair.key) && String(pair.key.value) === '__proto__') throw new InputError('the key "__proto__" is not allowed', at(pair.key));
    },
  });
  let value: unknown;
  try {
    // maxAliasCount bounds "billion laughs" alias bombs.
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new InputError(`cannot read: ${(err as Error).message}`, { file }, { cause: err });
  }

  const locate = (path: readonly PathSegment[], o: { key?: boolean } = {}): Position | undefined => {
    let node: unknown = doc.contents;
    let best: [number, number, number] | undefined = rangeOf(node);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = pairIndex(node).get(String(seg));
        if (!pair) break;
        if (last && o.key) {
          best = rangeOf(pair.key) ?? best;
          break;
        }
        node = pair.value;
        best = rangeOf(node) ?? rangeOf(pair.key) ?? best;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (node === undefined) break;
        best = rangeOf(node) ?? best;
      } else {
        break;
      }
    }
    if (!best) return undefined;
    const p = lineCounter.linePos(best[0]);
    return { line: p.line, column: p.col };
  };
  return { file, value, locate };
}

/** Where a path is, as an InputLocation (file, line, column, dotted field). */
export function locationOf(doc: ParsedDocument, path: readonly PathSegment[], opts?: { key?: boolean }): InputLocation {
  const where: InputLocation = { file: doc.file };
  const pos = doc.locate(path, opts);
  if (pos) {
    where.line = pos.line;
    where.column = pos.column;
  }
  const field = formatPath(path);
  if (field) where.field = field;
  return where;
}

/** `['set', 'failure', 'actions', 1]` → `set.failure.actions[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/**
 * Validate a parsed document against a zod schema. Failures become one InputError naming the file, line and
 * field of the first problem; further problems are listed in the message (up to a few), each with its line.
 * `prefix` is prepended to zod paths when the schema validates a sub-tree of the document.
 */
export function validateDocument<S extends z.ZodType>(
  schema: S,
  doc: ParsedDocument,
  opts: { prefix?: readonly PathSegment[]; value?: unknown; host?: string } = {},
): z.output<S> {
  const prefix = opts.prefix ?? [];
  const result = schema.safeParse(opts.value === undefined ? doc.value : opts.value);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describeIssue(issue, doc, prefix, schema));
  const [first, ...rest] = problems;
  if (!first) throw new InputError('invalid document', { file: doc.file });
  let message = first.message;
  if (rest.length) {
    const shown = rest.slice(0, 4).map((p) => `\n  also ${formatWhere(p.where)}: ${p.message}`);
    message += shown.join('') + (rest.length > 4 ? `\n  (and ${rest.length - 4} more)` : '');
  }
  const where = { ...first.where };
  if (opts.host) where.host = opts.host;
  return throwInput(message, where);
}

function throwInput(message: string, where: InputLocation): never {
  throw new InputError(message, where);
}

interface Problem {
  message: string;
  where: InputLocation;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  doc: ParsedDocument,
  prefix: readonly PathSegment[],
  root: z.ZodType,
  base: readonly PathSegment[] = [],
): Problem[] {
  const rel = [...base, ...(issue.path as PathSegment[])];
  const path = [...prefix, ...rel];
  if (issue.code === 'unrecognized_keys') {
    const known = objectKeysAt(root, rel);
    return issue.keys.map((key) => {
      const hint = suggest(key, known);
      return {
        message: `unknown key ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`,
        where: locationOf(doc, [...path, key], { key: true }),
      };
    });
  }
  if (issue.code === 'invalid_union' && issue.errors.length) {
    // Report the branch that got furthest (the longest path) instead of "invalid input".
    const best = issue.errors.map((branch) => branch.flatMap((i) => describeIssue(i, doc, prefix, root, rel))).sort((a, b) => depthOf(b) - depthOf(a))[0];
    if (best?.length && depthOf(best) > path.length) return best;
  }
  if (issue.code === 'invalid_key' && issue.issues[0]) {
    return [{ message: `key: ${issue.issues[0].message}`, where: locationOf(doc, path, { key: true }) }];
  }
  return [{ message: issue.message, where: locationOf(doc, path) }];
}

function depthOf(problems: Problem[]): number {
  return Math.max(0, ...problems.map((p) => (p.where.field ?? '').split(/[.[]/).length));
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
  in?: z.ZodType;
  getter?: () => z.ZodType;
}

/**
 * The keys an object schema allows at `path` (zod's unrecognized_keys issue does not carry them), for
 * "did you mean" hints. Walks objects, arrays, records, optionals, unions and pipes; [] when unknown.
 */
function objectKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const defOf = (s: z.ZodType): SchemaDef => (s as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const candidates = (s: z.ZodType | undefined, depth = 0): z.ZodType[] => {
    if (!s || depth > 20) return [];
    const d = defOf(s);
    switch (d.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'catch':
        return candidates(d.innerType, depth + 1);
      case 'pipe':
        return candidates(d.in, depth + 1);
      case 'lazy':
        return candidates(d.getter?.(), depth + 1);
      case 'union':
        return (d.options ?? []).flatMap((o) => candidates(o, depth + 1));
      default:
        return [s];
    }
  };
  let current = candidates(schema);
  for (const seg of path) {
    current = current.flatMap((s) => {
      const d = defOf(s);
      if (d.type === 'object' && typeof seg === 'string') return candidates(d.shape?.[seg]);
      if (d.type === 'array' && typeof seg === 'number') return candidates(d.element);
      if (d.type === 'record') return candidates(d.valueType);
      return [];
    });
  }
  return [...new Set(current.flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
}

export function formatWhere(w: InputLocation): string {
  const parts: string[] = [];
  if (w.file) parts.push(w.line !== undefined ? `${w.file}:${w.line}` : w.file);
  if (w.field) parts.push(`field ${w.field}`);
  return parts.join(', ');
}

/** The closest known name within a small edit distance, for "did you mean" hints on typos. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

// Key lookups per map, built once: locating every host of a 10,000-host group must not be quadratic.
const pairIndexes = new WeakMap<object, Map<string, Pair>>();

function pairIndex(map: YAMLMap): Map<string, Pair> {
  let index = pairIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) if (isPair(p) && !index.has(keyText(p.key))) index.set(keyText(p.key), p);
    pairIndexes.set(map, index);
  }
  return index;
}

function rangeOf(node: unknown): [number, number, number] | undefined {
  const r = (node as Node | undefined)?.range;
  return r ? [r[0], r[1], r[2]] : undefined;
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}
