/**
 * Ansible's INI inventory turns every `key=value` (inline on a host line AND in `[group:vars]`, whatever the
 * docs say) into a value with Python's `ast.literal_eval`, keeping the raw text when that fails. So `23` is a
 * number, `True` a boolean, `'a b'` a string without quotes, `[1, 2]` a list, and `yes`, `FALSE`, `010` stay
 * text. This module reads the same subset of Python literals: strings (with prefixes and escapes, adjacent ones
 * concatenated), ints (decimal, 0x, 0o, 0b, `_` separators), floats, True/False/None, lists, tuples, dicts,
 * a sign on a number, and a trailing `# comment`.
 *
 * Deliberate differences (documented in docs/inventory.md): complex numbers, sets, `...`, `\N{NAME}` escapes and
 * ints beyond 2^53 are kept as text (Ansible would keep complex/sets as Python objects it cannot print as JSON).
 */

export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** The value Ansible's INI plugin stores for the raw text `text`. */
export function iniValue(text: string): PyValue {
  const parsed = parsePythonLiteral(text);
  return parsed.ok ? parsed.value : text;
}

export function parsePythonLiteral(text: string): { ok: true; value: PyValue } | { ok: false } {
  try {
    const p = new Parser(tokenize(text.replace(/^[ \t]+/, '')));
    const value = p.parseTop();
    return { ok: true, value };
  } catch (err) {
    if (err instanceof NotLiteral) return { ok: false };
    throw err;
  }
}

class NotLiteral extends Error {}
/** Thrown for every "not a literal": one instance, so no stack trace is captured per INI value. */
const NOT_LITERAL = new NotLiteral('not a Python literal');

type Token =
  | { t: 'str'; value: string; bytes: boolean }
  | { t: 'num'; value: number }
  | { t: 'name'; value: string }
  | { t: 'op'; value: string }
  | { t: 'end' };

const DIGITS = String.raw`\d(?:_?\d)*`;
const EXP = String.raw`[eE][+-]?${DIGITS}`;
const NUMBER_RE = new RegExp(
  [
    String.raw`0[xX](?:_?[0-9a-fA-F])+`,
    String.raw`0[oO](?:_?[0-7])+`,
    String.raw`0[bB](?:_?[01])+`,
    // floats: 1.5, 1., .5, 1e3, 1.5e3
    String.raw`(?:${DIGITS})?\.${DIGITS}(?:${EXP})?`,
    String.raw`${DIGITS}\.(?:${EXP})?`,
    String.raw`${DIGITS}${EXP}`,
    // ints: no leading zeros except for zero itself
    String.raw`[1-9](?:_?\d)*`,
    String.raw`0+(?:_?0)*`,
  ]
    .map((s) => `(?:${s})`)
    .join('|'),
  'y',
);
const NAME_RE = /[\p{L}_][\p{L}\p{N}_]*/uy;
const STRING_PREFIX_RE = /(?:[rR][bB]?|[bB][rR]?|[uU])?(?='|")/y;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\f') {
      i++;
      continue;
    }
    if (ch === '#') break; // comment to end of line
    if (ch === '\\' || ch === '\n' || ch === '\r') throw NOT_LITERAL;
    STRING_PREFIX_RE.lastIndex = i;
    const pm = STRING_PREFIX_RE.exec(src);
    if (pm) {
      const prefix = pm[0].toLowerCase();
      const [tok, next] = readString(src, i + pm[0].length, prefix.includes('r'), prefix.includes('b'));
      out.push(tok);
      i = next;
      continue;
    }
    if (/[0-9.]/.test(ch)) {
      NUMBER_RE.lastIndex = i;
      const m = NUMBER_RE.exec(src);
      if (m && m[0] !== '.' && m[0].length > 0) {
        const text = m[0];
        i += text.length;
        // "1abc", "1j" (complex), "0777" (old octal): not a literal we keep
        if (i < src.length && /[\p{L}\p{N}_.]/u.test(src[i]!)) throw NOT_LITERAL;
        out.push({ t: 'num', value: numberValue(text) });
        continue;
      }
      if (ch === '.') throw NOT_LITERAL;
    }
    NAME_RE.lastIndex = i;
    const nm = NAME_RE.exec(src);
    if (nm) {
      out.push({ t: 'name', value: nm[0] });
      i += nm[0].length;
      continue;
    }
    if ('[](){},:+-'.includes(ch)) {
      out.push({ t: 'op', value: ch });
      i++;
      continue;
    }
    throw NOT_LITERAL;
  }
  out.push({ t: 'end' });
  return out;
}

function numberValue(text: string): number {
  const clean = text.replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(clean)) n = parseInt(clean.slice(2), 16);
  else if (/^0[oO]/.test(clean)) n = parseInt(clean.slice(2), 8);
  else if (/^0[bB]/.test(clean)) n = parseInt(clean.slice(2), 2);
  else n = Number(clean);
  const isInt = !/[.eE]/.test(clean) || /^0[xXoObB]/.test(clean);
  // JSON cannot carry these exactly; keep the text rather than silently change the value.
  if ((isInt && !Number.isSafeInteger(n)) || !Number.isFinite(n)) throw NOT_LITERAL;
  return n;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function readString(src: string, start: number, raw: boolean, bytes: boolean): [Token, number] {
  const quote = src.startsWith("'''", start) || src.startsWith('"""', start) ? src.slice(start, start + 3) : src[start]!;
  let i = start + quote.length;
  let value = '';
  const byteValues: number[] = [];
  const put = (s: string): void => {
    if (bytes) {
      for (const c of s) {
        const code = c.codePointAt(0)!;
        if (code > 0x7f) throw NOT_LITERAL; // bytes literals are ASCII only
        byteValues.push(code);
      }
    } else {
      value += s;
    }
  };
  for (;;) {
    if (i >= src.length) throw NOT_LITERAL; // unterminated
    if (src.startsWith(quote, i)) {
      i += quote.length;
      break;
    }
    const ch = src[i]!;
    if (ch !== '\\') {
      put(ch);
      i++;
      continue;
    }
    const nx = src[i + 1];
    if (nx === undefined) throw NOT_LITERAL;
    if (raw) {
      // a backslash in a raw string stays, and keeps the next character from closing the string
      put(ch + nx);
      i += 2;
      continue;
    }
    if (SIMPLE_ESCAPES[nx] !== undefined) {
      put(SIMPLE_ESCAPES[nx]);
      i += 2;
      continue;
    }
    const oct = /^[0-7]{1,3}/.exec(src.slice(i + 1, i + 4));
    if (oct) {
      const code = parseInt(oct[0], 8);
      if (bytes) byteValues.push(code & 0xff);
      else value += String.fromCodePoint(code);
      i += 1 + oct[0].length;
      continue;
    }
    if (nx === 'x') {
      const hex = /^[0-9a-fA-F]{2}/.exec(src.slice(i + 2, i + 4));
      if (!hex) throw NOT_LITERAL;
      const code = parseInt(hex[0], 16);
      if (bytes) byteValues.push(code);
      else value += String.fromCodePoint(code);
      i += 4;
      continue;
    }
    if (!bytes && (nx === 'u' || nx === 'U')) {
      const len = nx === 'u' ? 4 : 8;
      const hex = src.slice(i + 2, i + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw NOT_LITERAL;
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw NOT_LITERAL;
      value += String.fromCodePoint(code);
      i += 2 + len;
      continue;
    }
    if (nx === 'N') throw NOT_LITERAL; // \N{NAME}: not supported, keep the raw text
    // Unknown escapes keep their backslash (Python does the same, with a warning).
    put(ch + nx);
    i += 2;
  }
  if (bytes) {
    // Ansible decodes bytes as UTF-8; invalid UTF-8 would become lone surrogates there: keep the text instead.
    try {
      value = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(byteValues));
    } catch {
      throw NOT_LITERAL;
    }
  }
  return [{ t: 'str', value, bytes }, i];
}

/** Python's parser refuses deeper nesting ("too many nested parentheses"); so do we, before the stack does. */
const MAX_DEPTH = 200;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    return this.toks[this.i++]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.value === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw NOT_LITERAL;
    this.i++;
  }

  parseTop(): PyValue {
    if (this.peek().t === 'end') throw NOT_LITERAL; // empty input is a SyntaxError in Python
    const first = this.parseExpr();
    let value: PyValue = first;
    if (this.isOp(',')) {
      // a bare tuple: 1, 2
      const items: PyValue[] = [first];
      while (this.isOp(',')) {
        this.i++;
        if (this.peek().t === 'end') break;
        items.push(this.parseExpr());
      }
      value = items;
    }
    if (this.peek().t !== 'end') throw NOT_LITERAL;
    return value;
  }

  private parseExpr(): PyValue {
    const t = this.peek();
    if (t.t === 'op' && (t.value === '+' || t.value === '-')) {
      this.i++;
      const operand = this.next();
      // literal_eval allows one sign, on a number only (not on True, not twice)
      if (operand.t !== 'num') throw NOT_LITERAL;
      if (this.isOp('+') || this.isOp('-')) throw NOT_LITERAL; // binary ops: only complex, unsupported
      return t.value === '-' ? -operand.value : operand.value;
    }
    const v = this.parseAtom();
    if (this.isOp('+') || this.isOp('-')) throw NOT_LITERAL;
    return v;
  }

  private parseAtom(): PyValue {
    if (++this.depth > MAX_DEPTH) throw NOT_LITERAL;
    try {
      return this.parseAtomInner();
    } finally {
      this.depth--;
    }
  }

  private parseAtomInner(): PyValue {
    const t = this.next();
    switch (t.t) {
      case 'num':
        return t.value;
      case 'str': {
        let s = t.value;
        // adjacent literals concatenate; mixing bytes and str is a SyntaxError
        for (let n = this.peek(); n.t === 'str'; n = this.peek()) {
          if (n.bytes !== t.bytes) throw NOT_LITERAL;
          s += n.value;
          this.i++;
        }
        return s;
      }
      case 'name':
        if (t.value === 'True') return true;
        if (t.value === 'False') return false;
        if (t.value === 'None') return null;
        throw NOT_LITERAL;
      case 'op':
        if (t.value === '[') return this.parseSeq(']');
        if (t.value === '(') return this.parseParen();
        if (t.value === '{') return this.parseDict();
        throw NOT_LITERAL;
      default:
        throw NOT_LITERAL;
    }
  }

  private parseSeq(close: string): PyValue[] {
    const items: PyValue[] = [];
    while (!this.isOp(close)) {
      items.push(this.parseExpr());
      if (this.isOp(',')) this.i++;
      else if (!this.isOp(close)) throw NOT_LITERAL;
    }
    this.i++;
    return items;
  }

  private parseParen(): PyValue {
    if (this.isOp(')')) {
      this.i++;
      return [];
    }
    const first = this.parseExpr();
    if (this.isOp(')')) {
      this.i++;
      return first; // (1) is just 1
    }
    this.expectOp(',');
    const rest = this.parseSeq(')');
    return [first, ...rest];
  }

  private parseDict(): PyValue {
    const out: { [key: string]: PyValue } = {};
    // Python dict keys compare by value: 1, 1.0 and True are one key, which keeps its first spelling.
    const spelling = new Map<string, string>();
    while (!this.isOp('}')) {
      const key = this.parseExpr();
      if (!this.isOp(':')) throw NOT_LITERAL; // {1, 2} is a set: unsupported
      this.i++;
      const value = this.parseExpr();
      const identity = typeof key === 'boolean' ? `n:${Number(key)}` : typeof key === 'number' ? `n:${key}` : `${typeof key}:${String(key)}`;
      const name = spelling.get(identity) ?? jsonKey(key);
      spelling.set(identity, name);
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      if (this.isOp(',')) this.i++;
      else if (!this.isOp('}')) throw NOT_LITERAL;
    }
    this.i++;
    return out;
  }
}

/** How Python's json.dumps writes a dict key. Unhashable keys (lists, dicts) fail in Python too. */
function jsonKey(key: PyValue): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'boolean') return key ? 'true' : 'false';
  if (key === null) return 'null';
  if (typeof key === 'number') return String(key);
  throw NOT_LITERAL;
}
