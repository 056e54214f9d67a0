/**
 * INI values: svcfleet's Python-literal reader against Python's own ast.literal_eval (Debian's python3, the
 * interpreter ansible-core runs on), on a curated corpus plus a few hundred generated strings. Where Python
 * produces something JSON cannot hold (complex, set, Ellipsis, ints beyond 2^53) svcfleet keeps the text;
 * that difference is documented and checked here too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { iniValue } from '../../../src/inventory/pyliteral.js';

const PYTHON = '/usr/bin/python3';

const ORACLE = String.raw`
import ast, json, sys
out = []
for s in json.load(sys.stdin):
    if "\\N{" in s:
        out.append(["unsupported"]); continue
    try:
        v = ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        out.append(["text"]); continue
    def conv(x):
        if isinstance(x, bytes):
            try: return x.decode("utf-8")
            except UnicodeDecodeError: raise OverflowError()
        if isinstance(x, bool) or x is None or isinstance(x, str): return x
        if isinstance(x, int):
            if abs(x) > 2**53: raise OverflowError()
            return x
        if isinstance(x, float):
            if x != x or x in (float("inf"), float("-inf")): raise OverflowError()
            return x
        if isinstance(x, (list, tuple)): return [conv(i) for i in x]
        if isinstance(x, dict):
            d = {}
            for k, val in x.items():
                if isinstance(k, bool): k = "true" if k else "false"
                elif k is None: k = "null"
                elif isinstance(k, bytes): k = conv(k)
                elif isinstance(k, float): k = repr(k)
                elif not isinstance(k, (str, int)): raise OverflowError()
                d[str(k)] = conv(val)
            return d
        raise OverflowError()
    try:
        out.append(["value", conv(v)])
    except OverflowError:
        out.append(["unsupported"])
json.dump(out, sys.stdout)
`;

const CURATED = [
  '23',
  '23 # c',
  '-1',
  '+1',
  '--1',
  '0x1F',
  '0o17',
  '0b101',
  '1_000',
  '1__0',
  '1_',
  '00',
  '010',
  '010.5',
  '1.',
  '.5',
  '1e3',
  '1E-2',
  '1.5e+3',
  'True',
  'False',
  'None',
  'true',
  'none',
  'yes',
  "'a'",
  '"a" \'b\'',
  'u"x"',
  'b"x"',
  'r"a\\b"',
  'rb"x"',
  'Rb"x"',
  'f"x"',
  '"""t"""',
  "'''t'''",
  '"\\x41\\u00e9\\n"',
  '"\\101"',
  '"\\q"',
  '"\\N{BULLET}"',
  "'03#pa33w0rd'",
  '[1, 2]',
  '[1,]',
  '[]',
  '1, 2',
  '1,',
  '(1)',
  '()',
  '(1,)',
  '{}',
  '{"a": [1, {"b": None}]}',
  "{1: 'x', True: 'y', None: 'z'}",
  '{1, 2}',
  '1+2j',
  '1+2',
  '...',
  'a=b',
  '"open',
  '[1, 2',
  '10.0.0.1',
  'C:\\x',
  'ntlm,basic',
  '-0',
  '-0.0',
  '9007199254740993',
  '1e400',
  "{'a': 1, 'a': 2}",
  '[[[[1]]]]',
  '( 1 , 2 )',
  '\t5',
  ' 5',
  "b'\\xff'",
  "b'\\xc3\\xa9'",
  "'é'",
  '"\\u00"',
  '-True',
  '+[1]',
  '1 2',
  '"a" 1',
  '[1 2]',
  '{"a" 1}',
  '{"a":}',
  ':',
  ',',
  '#only',
];

function generated(count: number): string[] {
  let seed = 12345;
  const r = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const atoms = ['1', '-2', '0x10', '1.5', '.5', 'True', 'None', 'x', "'s'", '"t"', "b'b'", '1_0', '07', '0'];
  const gen = (depth: number): string => {
    const k = r();
    if (depth > 2 || k < 0.5) return atoms[Math.floor(r() * atoms.length)]!;
    const items = Array.from({ length: Math.floor(r() * 3) }, () => gen(depth + 1));
    if (k < 0.65) return `[${items.join(', ')}${r() < 0.3 ? ',' : ''}]`;
    if (k < 0.8) return `(${items.join(', ')}${r() < 0.5 ? ',' : ''})`;
    return `{${items.map((i) => `${gen(3)}: ${i}`).join(', ')}}`;
  };
  return Array.from({ length: count }, () => {
    let s = gen(0);
    if (r() < 0.15) s = s.slice(0, Math.floor(r() * s.length)); // truncated → usually text
    if (r() < 0.1) s += ' # trailing comment';
    return s;
  });
}

describe('INI values against Python ast.literal_eval', () => {
  it('agree on every input, except values JSON cannot carry (kept as text)', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found; install it with \`apt-get install -y python3\` (ansible-core brings it)`);
    const corpus = [...CURATED, ...generated(400)];
    const results = JSON.parse(execFileSync(PYTHON, ['-c', ORACLE], { input: JSON.stringify(corpus), encoding: 'utf8' })) as Array<[string, unknown?]>;
    const mismatches: string[] = [];
    corpus.forEach((text, i) => {
      const [kind, value] = results[i]!;
      const ours = iniValue(text);
      const expected = kind === 'value' ? value : text;
      if (JSON.stringify(ours) !== JSON.stringify(expected))
        mismatches.push(`${JSON.stringify(text)}: python ${kind} ${JSON.stringify(value)}, svcfleet ${JSON.stringify(ours)}`);
    });
    expect(mismatches).toEqual([]);
  });
});
