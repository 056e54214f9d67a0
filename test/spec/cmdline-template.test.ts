import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/spec/load.js';
import { renderHostRequests } from '../../src/spec/render.js';
import { quoteWindowsArg, splitWindowsArgs } from '../../src/util/windows-cmdline.js';
import { expectInputError } from '../inventory/helpers.js';

// Hostile values: spaces that would add arguments, quotes, backslashes before quotes, Unicode smart quotes.
const HOSTILE = [
  'app.yaml --admin-shell C:\\evil\\payload.exe',
  'a "b" c',
  'x" --evil "y',
  'C:\\dir with space\\',
  'C:\\trailing\\\\',
  'back\\"slash',
  '\\\\server\\share\\a b\\"',
  '“smart” ‘single’ \u201Cx\u201D --y',
  '\u2018 ; whoami \u2019',
  '',
  ' ',
  'plain',
];

const SPEC = `service: S
set:
  binaryPath: '"C:\\apps\\svc.exe" --config {{ cfg }} --port 8081'
  failure:
    command: 'C:\\tools\\notify.exe --host {{ inventory_hostname }} --msg {{ cfg }}'
`;
const spec = parseSpec(SPEC, '/specs/cmd.yml');
const render = (vars: Record<string, unknown>) => renderHostRequests(spec, { name: 'web01', vars })[0]!.desired!;

describe('a {{ var }} in a command line renders as exactly one argument', () => {
  const kept = HOSTILE.filter((v) => !v.includes('"'));
  it.each(kept.map((v) => [JSON.stringify(v), v]))('binaryPath and failure.command keep %s as one argument', (_label, value) => {
    const d = render({ cfg: value });
    // argv[0] is the quoted executable; the program's runtime splits the rest with CommandLineToArgvW.
    const args = splitWindowsArgs(d.binaryPath!.slice('"C:\\apps\\svc.exe"'.length));
    expect(args).toEqual(['--config', value, '--port', '8081']);
    expect(splitWindowsArgs(d.failure!.command!)).toEqual(['C:\\tools\\notify.exe', '--host', 'web01', '--msg', value]);
  });

  it.each(HOSTILE.filter((v) => v.includes('"')).map((v) => [JSON.stringify(v), v]))(
    'refuses %s (a double quote) with file, line, field and host',
    (_label, value) => {
      expectInputError(
        () => render({ cfg: value }),
        { file: '/specs/cmd.yml', line: 3, field: 'set.binaryPath', host: 'web01' },
        /variable cfg of host web01 contains a double quote/,
      );
      const only = parseSpec("service: S\nset:\n  failure: { command: 'C:\\x.exe --msg {{ cfg }}' }\n", '/specs/f.yml');
      expectInputError(
        () => renderHostRequests(only, { name: 'web01', vars: { cfg: value } }),
        { file: '/specs/f.yml', line: 3, field: 'set.failure.command', host: 'web01' },
        /double quote/,
      );
    },
  );

  it('leaves a plain value unquoted and quotes one with spaces', () => {
    expect(render({ cfg: 'app.yaml' }).binaryPath).toBe('"C:\\apps\\svc.exe" --config app.yaml --port 8081');
    expect(render({ cfg: 'my app.yaml' }).failure!.command).toBe('C:\\tools\\notify.exe --host web01 --msg "my app.yaml"');
  });

  it('keeps a value inside double quotes when it cannot leave them, and refuses one that can', () => {
    const s = parseSpec(`service: S\nset:\n  binaryPath: '"C:\\apps\\svc.exe" --config "C:\\ProgramData\\{{ site }}.yaml"'\n`, '/q.yml');
    const smart = 'a “b” ‘c’ d';
    expect(splitWindowsArgs(renderHostRequests(s, { name: 'h', vars: { site: smart } })[0]!.desired!.binaryPath!.slice(17))).toEqual([
      '--config',
      `C:\\ProgramData\\${smart}.yaml`,
    ]);
    expectInputError(
      () => renderHostRequests(s, { name: 'h', vars: { site: 'x" --evil "y' } }),
      { file: '/q.yml', line: 3, field: 'set.binaryPath', host: 'h' },
      /variable site of host h contains a double quote/,
    );
    const t = parseSpec(`service: S\nset:\n  failure: { command: 'C:\\x.exe --dir "{{ d }}" --y' }\n`, '/t.yml');
    expectInputError(
      () => renderHostRequests(t, { name: 'h', vars: { d: 'C:\\a\\' } }),
      { file: '/t.yml', line: 3, field: 'set.failure.command', host: 'h' },
      /backslash right before a double quote/,
    );
  });

  it('refuses whitespace or a quote in a value that is only part of an argument, with file, line, field and host', () => {
    const s = parseSpec(`service: S\nset:\n  failure:\n    command: 'C:\\x.exe --name={{ n }}'\n`, '/p.yml');
    expectInputError(
      () => renderHostRequests(s, { name: 'web02', vars: { n: 'a --admin' } }),
      { file: '/p.yml', line: 4, field: 'set.failure.command', host: 'web02' },
      /variable n of host web02 contains whitespace/,
    );
    expectInputError(() => renderHostRequests(s, { name: 'web02', vars: { n: 'a"b' } }), { field: 'set.failure.command', host: 'web02' }, /double quote/);
    expect(renderHostRequests(s, { name: 'web02', vars: { n: '“x”' } })[0]!.desired!.failure!.command).toBe('C:\\x.exe --name=“x”');
  });

  it('quotes a whole executable with spaces and refuses one with a double quote', () => {
    const s = parseSpec(`service: S\nset:\n  binaryPath: '{{ exe }} --x'\n`, '/e.yml');
    expect(renderHostRequests(s, { name: 'h', vars: { exe: 'C:\\Program Files\\A\\a.exe' } })[0]!.desired!.binaryPath).toBe(
      '"C:\\Program Files\\A\\a.exe" --x',
    );
    expectInputError(() => renderHostRequests(s, { name: 'h', vars: { exe: 'C:\\a.exe" --evil "' } }), { field: 'set.binaryPath', host: 'h' }, /double quote/);
  });
});

describe('quoteWindowsArg', () => {
  it('round-trips through CommandLineToArgvW splitting for every short string of tricky characters', () => {
    const alphabet = ['a', ' ', '\t', '"', '\\', '\u201C', "'"];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 3000; n++) {
      const s = Array.from({ length: next() % 9 }, () => alphabet[next() % alphabet.length]).join('');
      expect(splitWindowsArgs(`x ${quoteWindowsArg(s)} y`), JSON.stringify(s)).toEqual(['x', s, 'y']);
    }
  });
});
