/**
 * Fast paths for the two text functions Ink runs on every line of every frame: `string-width` (to lay text out
 * and again to draw it) and `@alcalzone/ansi-tokenize`'s `tokenize` (to put the line into its cell grid). Both
 * are exact for all of Unicode by splitting the line into grapheme clusters with Intl.Segmenter and testing each
 * against emoji and East-Asian-width tables; string-width skips that only for pure printable ASCII, tokenize
 * never. Dashboard lines are colour codes, ASCII and a few one-cell glyphs (`·`, `…`, `█`), for which a grapheme
 * is one UTF-16 unit and one cell: counted and split in one plain pass here, they cost a small fraction.
 * Anything else (CJK, emoji, combining marks, other escape sequences, control characters) goes to the exact
 * function. The dashboard bundle (scripts/build-ui.mjs) puts these in front of the functions Ink imports;
 * test/ui/fast-text.test.ts checks them against the exact ones.
 */

/**
 * One-cell glyphs the dashboard and the run's text (report/run-text.ts) draw (East Asian Width neutral or
 * ambiguous, which string-width counts as narrow by default; none is an emoji or a mark).
 */
export const NARROW_GLYPHS = '·…›█░■▏↑↓→←⏎—–─│•×≤µ';

const narrow = new Set<number>();
for (const c of NARROW_GLYPHS) narrow.add(c.charCodeAt(0));

const ESC = 0x1b;

/**
 * Width of `text` in terminal cells, or `undefined` when it has anything besides printable ASCII, the glyphs
 * above and SGR escape sequences (ESC [ digits and semicolons m, as chalk writes them).
 */
export function simpleWidth(text: string): number | undefined {
  let width = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      width++;
    } else if (c === ESC) {
      // SGR: ESC [ (1-4 digits, ';'-separated)* m — the sequences strip-ansi removes for string-width.
      if (text.charCodeAt(i + 1) !== 0x5b) return undefined;
      let j = i + 2;
      let digits = 0;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) {
          if (++digits > 4) return undefined;
        } else if (d === 0x3b) digits = 0;
        else break;
      }
      if (text.charCodeAt(j) !== 0x6d) return undefined;
      i = j;
    } else if (narrow.has(c)) {
      width++;
    } else {
      return undefined;
    }
  }
  return width;
}

type StringWidth = (text: string, options?: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean }) => number;

/** `exact` (string-width) with the fast path in front, for its default options only. */
export function fastStringWidth(exact: StringWidth): StringWidth {
  return (text, options) => {
    if (options === undefined && typeof text === 'string') {
      const w = simpleWidth(text);
      if (w !== undefined) return w;
    }
    return exact(text, options);
  };
}

/** The parts of @alcalzone/ansi-tokenize (0.2) that Ink's Output uses per frame. */
export interface AnsiCode {
  type: 'ansi';
  code: string;
  endCode: string;
}
export type Token = AnsiCode | { type: 'char'; value: string; fullWidth: boolean };
export type StyledChar = { type: 'char'; value: string; fullWidth: boolean; styles: AnsiCode[] };
export interface AnsiTokenize {
  tokenize(text: string, endChar?: number): Token[];
  styledCharsFromTokens(tokens: Token[]): StyledChar[];
  styledCharsToString(chars: StyledChar[]): string;
  reduceAnsiCodesIncremental(codes: AnsiCode[], newCodes: AnsiCode[]): AnsiCode[];
  diffAnsiCodes(from: AnsiCode[], to: AnsiCode[]): AnsiCode[];
  ansiCodesToString(codes: AnsiCode[]): string;
}

/** Same style, code for code (then the diff between them is empty). */
function sameStyles(a: AnsiCode[], b: AnsiCode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.code !== b[i]!.code || a[i]!.endCode !== b[i]!.endCode) return false;
  return true;
}

/**
 * `exact`'s tokenize, styledCharsFromTokens and styledCharsToString, giving the same results faster:
 *  - tokenize: simple lines (see `simpleWidth`) are one char token per UTF-16 unit (none of them full-width),
 *    and each SGR sequence is tokenized by `exact` itself, so colour tokens stay exactly its own;
 *  - styledCharsFromTokens: chars between two colour codes share one styles array instead of a copy each (the
 *    arrays are never mutated: the reducer returns new ones, Ink's Output only reads them);
 *  - styledCharsToString: two neighbouring cells with the same style need no diff (it is empty), so the
 *    Set-building diff runs only where the style changes, not for each of a frame's ~8,000 cells.
 */
export function fastAnsiTokenize(exact: AnsiTokenize): Pick<AnsiTokenize, 'tokenize' | 'styledCharsFromTokens' | 'styledCharsToString'> {
  return {
    tokenize(text, endChar) {
      if (endChar !== undefined || typeof text !== 'string' || simpleWidth(text) === undefined) return exact.tokenize(text, endChar);
      const tokens: Token[] = [];
      const n = text.length;
      for (let i = 0; i < n; i++) {
        if (text.charCodeAt(i) === ESC) {
          const end = text.indexOf('m', i);
          for (const t of exact.tokenize(text.slice(i, end + 1))) tokens.push(t);
          i = end;
        } else {
          tokens.push({ type: 'char', value: text[i]!, fullWidth: false });
        }
      }
      return tokens;
    },
    styledCharsFromTokens(tokens) {
      let codes: AnsiCode[] = [];
      const chars: StyledChar[] = [];
      for (const t of tokens) {
        if (t.type === 'ansi') codes = exact.reduceAnsiCodesIncremental(codes, [t]);
        else if (t.type === 'char') chars.push({ type: 'char', value: t.value, fullWidth: t.fullWidth, styles: codes });
      }
      return chars;
    },
    styledCharsToString(chars) {
      let out = '';
      for (let i = 0; i < chars.length; i++) {
        const c = chars[i]!;
        if (i === 0) out += exact.ansiCodesToString(c.styles);
        else {
          const prev = chars[i - 1]!.styles;
          if (!sameStyles(prev, c.styles)) out += exact.ansiCodesToString(exact.diffAnsiCodes(prev, c.styles));
        }
        out += c.value;
        if (i === chars.length - 1 && c.styles.length) out += exact.ansiCodesToString(exact.diffAnsiCodes(c.styles, []));
      }
      return out;
    },
  };
}

/**
 * `Intl.Segmenter` in the dashboard bundle (scripts/build-ui.mjs defines it as this): the first segmenter a
 * process creates loads ICU's break-iterator data, ~20 ms of CPU, and string-width, wrap-ansi's string-width and
 * ansi-tokenize each create one when they load. With the fast paths above they are seldom or never used, so the
 * real segmenter is created at the first `segment()` call instead.
 */
export class LazySegmenter {
  private real: Intl.Segmenter | undefined;
  private readonly args: ConstructorParameters<typeof Intl.Segmenter>;

  constructor(...args: ConstructorParameters<typeof Intl.Segmenter>) {
    this.args = args;
  }

  private get segmenter(): Intl.Segmenter {
    // globalThis.Intl, not Intl: the bundle replaces `Intl.Segmenter` with this class.
    return (this.real ??= new globalThis.Intl.Segmenter(...this.args));
  }

  segment(input: string): Intl.Segments {
    return this.segmenter.segment(input);
  }

  resolvedOptions(): Intl.ResolvedSegmenterOptions {
    return this.segmenter.resolvedOptions();
  }

  static supportedLocalesOf(...args: Parameters<typeof Intl.Segmenter.supportedLocalesOf>): string[] {
    return globalThis.Intl.Segmenter.supportedLocalesOf(...args);
  }
}
