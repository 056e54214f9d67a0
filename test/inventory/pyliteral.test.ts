import { describe, expect, it } from 'vitest';
import { iniValue, parsePythonLiteral } from '../../src/inventory/pyliteral.js';

// Expected values are what Python 3.11's ast.literal_eval gives (test/inventory/ansible/pyliteral-oracle.test.ts checks
// a larger corpus against python3 itself); "text" means literal_eval fails and Ansible keeps the raw string.
describe('INI values (Python literal_eval)', () => {
  const cases: Array<[string, unknown]> = [
    ['23', 23],
    ['23 # a comment', 23],
    ['-1', -1],
    ['+7', 7],
    ['0x1F', 31],
    ['0o17', 15],
    ['0b101', 5],
    ['1_000', 1000],
    ['00', 0],
    ['1.5', 1.5],
    ['1.', 1],
    ['.5', 0.5],
    ['1e3', 1000],
    ['True', true],
    ['False', false],
    ['None', null],
    ["'quoted'", 'quoted'],
    ['"a" \'b\'', 'ab'],
    ['u"x"', 'x'],
    ['b"bytes"', 'bytes'],
    ['r"a\\b"', 'a\\b'],
    ['"\\x41\\u00e9\\n\\t"', 'Aé\n\t'],
    ["'03#pa33w0rd'", '03#pa33w0rd'],
    ['[1, 2]', [1, 2]],
    ['[1,]', [1]],
    ['1, 2', [1, 2]],
    ['(1, "a")', [1, 'a']],
    ['()', []],
    ['(5)', 5],
    ['{"a": [1, {"b": None}]}', { a: [1, { b: null }] }],
    ["{1: 'x', True: 'y', None: 'z'}", { '1': 'y', null: 'z' }], // True == 1 in Python: one key
    // kept as text
    ['yes', 'yes'],
    ['FALSE', 'FALSE'],
    ['none', 'none'],
    ['010', '010'],
    ['1__0', '1__0'],
    ['--1', '--1'],
    ['1+2', '1+2'],
    ['1+2j', '1+2j'],
    ['{1, 2}', '{1, 2}'],
    ['f"x"', 'f"x"'],
    ['"unterminated', '"unterminated'],
    ['a=b', 'a=b'],
    ['spaced value # not a python comment', 'spaced value # not a python comment'],
    ['', ''],
    ['10.0.0.1', '10.0.0.1'],
    ['C:\\Program Files\\x', 'C:\\Program Files\\x'],
    ['99999999999999999999', '99999999999999999999'],
    ['ntlm,basic', 'ntlm,basic'],
  ];
  it.each(cases)('%j', (text, expected) => {
    expect(iniValue(text)).toEqual(expected);
  });

  it('never builds a prototype from a dict key', () => {
    const v = iniValue("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(['__proto__']);
  });

  it('reports failure instead of throwing on hostile input', () => {
    for (const s of ['\u0000', '((((((((((', '['.repeat(5000), '"\\N{BULLET}"', "b'é'", '\\']) {
      expect(() => parsePythonLiteral(s)).not.toThrow();
    }
  });
});
