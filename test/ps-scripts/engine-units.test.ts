/**
 * The pure parts of the remote engine (as assembled and sent), run in real pwsh (one process for the whole file):
 * CommandLineToArgvW splitting and quoting, native-argument encoding for 5.1 ('Legacy') and 7 ('Standard'), args
 * edits, CWE-428 detection, FailureActions decoding, the canonical config hash (checked against the TypeScript one),
 * desired-setting validation and the per-field diff.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configHash, canonicalJson } from '../../src/remote/config-hash.js';
import type { ServiceConfig } from '../../src/remote/protocol.js';
import { callEngine, errorOf, here, okValue, type HarnessCall, type HarnessResult } from './pwsh.js';
import { hostileCorpus } from './hostile.js';

const calls: HarnessCall[] = [];
let results: HarnessResult[] = [];
function call(fn: string, args: unknown[] = [], legacy = false): () => HarnessResult {
  const i = calls.push({ fn, args, legacy }) - 1;
  return () => results[i]!;
}

const pwned = join(mkdtempSync(join(tmpdir(), 'svcfleet-units-')), 'PWNED');
const corpus = hostileCorpus(pwned);
afterAll(() => rmSync(dirname(pwned), { recursive: true, force: true }));
const values = Object.values(corpus);

// --- CommandLineToArgvW (docs/reference/windows-cmdline.md#from-command-line-to-argv) ---
const splitVectors: Array<[string, string[]]> = [
  ['a b\tc', ['a', 'b', 'c']],
  ['"a b" c', ['a b', 'c']],
  ['a\\\\b c\\', ['a\\\\b', 'c\\']], // backslashes not before a quote are literal
  ['a\\\\"b c"', ['a\\b c']], // 2n backslashes + quote: n backslashes, quote toggles
  ['a\\"b', ['a"b']], // 2n+1 backslashes + quote: literal quote
  ['a\\\\\\"b', ['a\\"b']],
  ['"a""b" c', ['a"b c']], // CommandLineToArgvW: "" inside quotes is a literal quote and ends quoting
  ['""', ['']],
  ['  lead   trail  ', ['lead', 'trail']],
  ['--name="a b" -x', ['--name=a b', '-x']],
];
const splits = splitVectors.map(([text]) => call('Split-Arguments', [text]));
const roundTrip = call('Test-ArgvRoundTrip', [values.concat(['', ' ', '\\', '"', '\\\\"', 'a b\\\\', '\t'])]);

// --- native arguments, through a real native program ---
const echo = join(here, 'echo-argv.cjs');
const nativeLegacy = call('Test-NativeEcho', [process.execPath, echo, values], true);
const nativeStandard = call('Test-NativeEcho', [process.execPath, echo, values], false);
const modeLegacy = call('Get-NativeArgumentMode', [], true);

// --- image paths and args edits ---
const unquoted = [
  ['C:\\Program Files\\App\\app.exe --port 1', true],
  ['"C:\\Program Files\\App\\app.exe" --port 1', false],
  ['C:\\apps\\app.exe --name "a b"', false],
  ['C:\\Windows\\system32\\svchost.exe -k netsvcs', false],
  ['C:\\My Apps\\tool.exe', true],
] as const;
const unquotedCalls = unquoted.map(([p]) => call('Test-UnquotedPath', [p]));
const edits: Array<[string, unknown, string]> = [
  [
    'C:\\Program Files\\App\\app.exe --port 8080 --log "C:\\x y\\l.txt" -v',
    { set: { port: '9090', 'log-level': 'debug', verbose: true }, remove: ['--log'] },
    '"C:\\Program Files\\App\\app.exe" --port 9090 -v --log-level debug --verbose',
  ],
  ['"C:\\a\\app.exe" --port=8080 --x', { set: { '--port': '1' } }, '"C:\\a\\app.exe" --port=1 --x'],
  ['"C:\\a\\app.exe" -port 1 -port 2 -w 3', { set: { '-port': '7' } }, '"C:\\a\\app.exe" -port 7 -w 3'],
  [
    '"C:\\a\\app.exe" --config "C:\\cfg dir\\a.json"',
    { set: { config: 'C:\\new dir\\b "q".json' } },
    '"C:\\a\\app.exe" --config "C:\\new dir\\b \\"q\\".json"',
  ],
  ['"C:\\a\\app.exe" --debug --port 1', { remove: ['debug'] }, '"C:\\a\\app.exe" --port 1'],
  ['"C:\\a\\app.exe" --offset -5 --x', { set: { offset: '3' } }, '"C:\\a\\app.exe" --offset 3 --x'],
  ['C:\\a\\app.exe', { set: { port: '' } }, '"C:\\a\\app.exe" --port ""'],
];
const editCalls = edits.map(([path, edit]) => call('Edit-ImagePathArgs', [path, edit]));
const editBad = call('Edit-ImagePathArgs', ['"C:\\a\\app.exe', { set: { port: '1' } }]);
const editBadName = call('Edit-ImagePathArgs', ['"C:\\a\\app.exe"', { set: { 'a b': '1' } }]);

// --- FailureActions REG_BINARY (docs/reference/windows-services.md#the-failureactions-registry-value worked example: WaaSMedicSvc) ---
const waas = [
  0x84, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0x14, 0, 0, 0, 1, 0, 0, 0, 0xc0, 0xd4, 1, 0, 1, 0, 0, 0, 0xe0, 0x93, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const infinite = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x14, 0, 0, 0, 3, 0, 0, 0, 0xe8, 3, 0, 0, 2, 0, 0, 0, 0x20, 0x03, 0, 0];
const blobWaas = call('ConvertFrom-FailureActionsBlob', [waas]);
const blobInfinite = call('ConvertFrom-FailureActionsBlob', [infinite]);
const blobEmpty = call('ConvertFrom-FailureActionsBlob', [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]);

// --- config hash: the engine and the TypeScript side must agree byte for byte ---
const config: ServiceConfig = {
  name: 'Svc \u2603',
  displayName: corpus.smartQuotes!,
  binaryPath: '"C:\\Program Files\\App\\app.exe" --name "a b"',
  startType: 'delayed-auto',
  errorControl: 'normal',
  serviceType: 16,
  account: 'NT AUTHORITY\\LocalService',
  description: `${corpus.newlines} \u0001 \u007f \ud83c\udf89 ${corpus.backslashQuote}`,
  dependencies: ['Tcpip', '+NetworkProvider'],
  loadOrderGroup: '',
  failure: {
    resetPeriod: 'infinite',
    rebootMessage: '',
    command: 'C:\\x.exe "a"',
    actions: [{ type: 'restart', delayMs: 4294967295 }],
    nonCrashFailures: true,
  },
  environment: { Zeta: '1', alpha: corpus.dateLike!, Mid: '' },
};
const hashCall = call('Get-ConfigHash', [config]);
const canonicalCall = call('ConvertTo-CanonicalJson', [config]);

// --- desired settings: validation before anything is touched ---
const current = { ...config, startType: 'auto', binaryPath: '"C:\\a\\app.exe" --port 1', environment: null };
const target = (desired: unknown) => call('New-TargetConfig', [current, desired]);
const badUnknown = target({ colour: 'red' });
const badDisplay = target({ displayName: 'x'.repeat(257) });
const okDisplay256 = target({ displayName: 'x'.repeat(256) });
const badNul = target({ description: 'a\u0000b' });
const badUnquoted = target({ binaryPath: 'C:\\Program Files\\App\\app.exe --port 2' });
const okQuoted = target({ binaryPath: '"C:\\Program Files\\App\\app.exe" --port 2' });
const badPassword = target({ account: { name: '.\\svcuser' } });
const okBuiltin = target({ account: { name: 'NT AUTHORITY\\NetworkService' } });
const badReset = target({ failure: { actions: [], resetPeriod: 60 } });
const okClear = target({ failure: { actions: [] } });
const badEnv = target({ environment: { 'A=B': '1' } });
const badStart = target({ startType: 'Automatic' });
const badTooLongDesc = target({ description: 'd'.repeat(8193) });
const depsOrder = target({ dependencies: ['+GroupA', 'SvcB', '+GroupC', 'SvcD'] });
const noneNative = call('Test-NeedsNativeFailureWrite', [
  [
    { type: 'restart', delayMs: 1 },
    { type: 'none', delayMs: 0 },
  ],
]);
const scOnly = call('Test-NeedsNativeFailureWrite', [
  [
    { type: 'restart', delayMs: 1 },
    { type: 'run', delayMs: 2 },
    { type: 'reboot', delayMs: 3 },
  ],
]);
const noneTarget = target({
  failure: {
    resetPeriod: 86400,
    actions: [
      { type: 'restart', delayMs: 60000 },
      { type: 'restart', delayMs: 60000 },
      { type: 'none', delayMs: 0 },
    ],
    nonCrashFailures: true,
  },
});

// --- diff and take-effect (docs/reference/windows-services.md#when-a-change-takes-effect) ---
const diffCall = call('Get-Diff', [
  current,
  {
    ...current,
    binaryPath: '"C:\\a\\app.exe" --port 2',
    description: 'new',
    account: 'nt authority\\localservice',
    failure: { ...current.failure, nonCrashFailures: false },
  },
  'set',
]);
const segments = ['MySvc', 'my svc', '..', '.hidden', 'a:b*c?', 'x_x41_'].map((s) => call('ConvertTo-FileSegment', [s]));

beforeAll(async () => {
  results = await callEngine(calls);
});

describe('CommandLineToArgvW splitting (Split-Arguments)', () => {
  it.each(splitVectors.map((v, i) => ({ text: v[0], want: v[1], i })))('$text', ({ want, i }) => {
    const tokens = okValue(splits[i]!()) as Array<{ raw: string; value: string }>;
    expect(tokens.map((t) => t.value)).toEqual(want);
  });

  it('keeps the raw text of every token', () => {
    const tokens = okValue(splits[9]!()) as Array<{ raw: string; value: string }>;
    expect(tokens.map((t) => t.raw)).toEqual(['--name="a b"', '-x']);
  });

  it('quotes every hostile value so that splitting gives it back exactly', () => {
    for (const r of okValue(roundTrip()) as Array<{ value: string; token: string; back: string[] }>) {
      expect(r.back, `token ${JSON.stringify(r.token)}`).toEqual([r.value]);
    }
  });
});

/** Windows PowerShell 5.1's NeedQuotes (NativeCommandParameterBinder): whitespace outside "..." (\" not counted). */
function needQuotes51(arg: string): boolean {
  let quotes = 0;
  let afterBackslash = false;
  for (const c of arg) {
    if (c === '"' && !afterBackslash) quotes++;
    else if (/\s/u.test(c) && quotes % 2 === 0) return true;
    afterBackslash = c === '\\';
  }
  return false;
}

describe('native arguments (docs/reference/powershell.md#native-argument-passing: the PS 5.1 quoting trap)', () => {
  const argv = (r: HarnessResult) => {
    const v = okValue(r)[0] as { mode: string; tokens: string[]; argv: string };
    return { ...v, received: JSON.parse(Buffer.from(v.argv, 'base64').toString('utf8')) as string[] };
  };

  it('detects Legacy passing when $PSNativeCommandArgumentPassing is Legacy (as 5.1 always is)', () => {
    expect(okValue(modeLegacy())).toEqual(['Legacy']);
  });

  it('Legacy (5.1 quoting): every hostile value reaches the program byte-exact, the empty string included', () => {
    const r = argv(nativeLegacy());
    expect(r.mode).toBe('Legacy');
    expect(r.received).toEqual(values);
  });

  it('Legacy: no encoded token would be re-quoted by 5.1 (so 5.1 and 7-Legacy build the same command line)', () => {
    for (const t of argv(nativeLegacy()).tokens) expect(needQuotes51(t), t).toBe(false);
  });

  it('Standard (7.3+): every hostile value reaches the program byte-exact', () => {
    const r = argv(nativeStandard());
    expect(r.mode).toBe('Standard');
    expect(r.received).toEqual(values);
  });

  it('never executed anything', () => {
    expect(existsSync(pwned)).toBe(false);
  });
});

describe('binary paths', () => {
  it.each(unquoted.map(([p, want], i) => ({ p, want, i })))('CWE-428 detection: $p', ({ want, i }) => {
    expect(okValue(unquotedCalls[i]!())).toEqual([want]);
  });

  it.each(edits.map(([path, edit, want], i) => ({ path, edit: JSON.stringify(edit), want, i })))('args edit $edit on $path', ({ want, i }) => {
    expect(okValue(editCalls[i]!())).toEqual([want]);
  });

  it('refuses an args edit of a path with an unclosed quote, and bad flag names', () => {
    expect(errorOf(editBad()).code).toBe('bad-binary-path');
    expect(errorOf(editBadName()).code).toBe('bad-request');
  });
});

describe('FailureActions REG_BINARY decoding (docs/reference/windows-services.md#the-failureactions-registry-value)', () => {
  it('decodes the WaaSMedicSvc example: reset 900 s, restart/120000, restart/300000, none/0', () => {
    expect(okValue(blobWaas())[0]).toEqual({
      resetPeriod: 900,
      actions: [
        { type: 'restart', delayMs: 120000 },
        { type: 'restart', delayMs: 300000 },
        { type: 'none', delayMs: 0 },
      ],
    });
  });

  it('decodes INFINITE and the run/reboot action codes', () => {
    expect(okValue(blobInfinite())[0]).toEqual({
      resetPeriod: 'infinite',
      actions: [
        { type: 'run', delayMs: 1000 },
        { type: 'reboot', delayMs: 800 },
      ],
    });
  });

  it('decodes an empty blob as no actions', () => {
    expect(okValue(blobEmpty())[0]).toEqual({ resetPeriod: 0, actions: [] });
  });
});

describe('config hash', () => {
  it('is the same in the engine and in TypeScript, for a config full of awkward strings', () => {
    expect(okValue(canonicalCall())).toEqual([canonicalJson(config)]);
    expect(okValue(hashCall())).toEqual([configHash(config)]);
  });

  it('does not depend on key order', () => {
    const shuffled = Object.fromEntries(Object.entries(config).reverse()) as unknown as ServiceConfig;
    expect(configHash(shuffled)).toBe(configHash(config));
  });
});

describe('desired settings are checked before anything changes', () => {
  it.each([
    ['unknown setting', badUnknown, 'bad-request', /colour/],
    ['display name over 256 characters', badDisplay, 'too-long', /displayName/],
    ['NUL in a value', badNul, 'bad-request', /NUL/],
    ['unquoted binary path with spaces (CWE-428)', badUnquoted, 'unquoted-path', /CWE-428/],
    ['account without a password', badPassword, 'password-required', /svcuser/],
    ['reset period without actions', badReset, 'bad-request', /resetPeriod/],
    ['environment name with "="', badEnv, 'bad-request', /environment/],
    ['unknown start type', badStart, 'bad-request', /startType/],
    ['description over 8192 characters', badTooLongDesc, 'too-long', /description/],
  ] as const)('%s', (_name, result, code, message) => {
    const e = errorOf(result());
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('accepts the limits and the safe forms', () => {
    const t = (r: () => HarnessResult) => (okValue(r())[0] as { config: ServiceConfig }).config;
    expect(t(okDisplay256).displayName).toHaveLength(256);
    expect(t(okQuoted).binaryPath).toBe('"C:\\Program Files\\App\\app.exe" --port 2');
    expect(t(okBuiltin).account).toBe('NT AUTHORITY\\NetworkService');
    expect(t(okClear).failure).toMatchObject({ actions: [], resetPeriod: 0 });
  });

  it('orders dependencies as Windows stores them: services, then +groups', () => {
    expect((okValue(depsOrder())[0] as { config: ServiceConfig }).config.dependencies).toEqual(['SvcB', 'SvcD', '+GroupA', '+GroupC']);
  });

  it("accepts failure actions with 'none' (written with ChangeServiceConfig2; only such lists leave sc.exe)", () => {
    expect((okValue(noneTarget())[0] as { config: ServiceConfig }).config.failure.actions.map((a) => a.type)).toEqual(['restart', 'restart', 'none']);
    expect(okValue(noneNative())).toEqual([true]);
    expect(okValue(scOnly())).toEqual([false]);
  });
});

describe('diff', () => {
  it('lists changed fields with the take-effect rule, treats account names case-insensitively, never shows a password', () => {
    const diff = okValue(diffCall()) as Array<{ field: string; before: unknown; after: unknown; restartNeeded: boolean }>;
    expect(diff.map((d) => [d.field, d.restartNeeded])).toEqual([
      ['binaryPath', true],
      ['description', false],
      ['failure.nonCrashFailures', false],
      ['account.password', true],
    ]);
    expect(diff.at(-1)).toMatchObject({ before: null, after: '(set)' });
  });
});

describe('backup file names', () => {
  it('turns any service name into one safe path segment', () => {
    expect(segments.map((s) => okValue(s())[0])).toEqual(['MySvc', 'my svc', '_x002E_.', '_x002E_hidden', 'a_x003A_b_x002A_c_x003F_', 'x_x005F_x41_']);
  });
});
