import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec, parseSpec } from '../../src/spec/load.js';
import { renderHostRequests, resolveSpecSecrets } from '../../src/spec/render.js';
import { binaryPathProblem } from '../../src/spec/binpath.js';
import { renderTemplate, TemplateError } from '../../src/spec/template.js';
import { buildInvocation, buildPayload, passwordLine } from '../../src/remote/invocation.js';
import { Secret } from '../../src/util/secret.js';
import { expectInputError, expectInputErrorAsync, tmpTree } from '../inventory/helpers.js';

const ISSUE_SPEC = `service: MyGoService
set:                          # only what is listed changes
  binaryPath: '"C:\\Program Files\\MyGo\\myapp.exe" --config "C:\\ProgramData\\MyGo\\{{ site }}.yaml" --port 8081'
  startType: delayed-auto
  errorControl: normal
  displayName: My Go Service
  description: Payments API
  account: { name: 'NT AUTHORITY\\NetworkService' }
  dependencies: [Tcpip, Dnscache]
  failure:
    resetPeriod: 86400
    actions: [restart/60000, restart/60000, none/0]
    nonCrashFailures: true
  environment: { GOMAXPROCS: '4' }
restart: if-needed
verify: { running: true, port: 8081, timeoutSeconds: 60, dependencies: running }
rollback: auto
`;

const host = (name: string, vars: Record<string, unknown> = {}) => ({ name, vars });

describe('the change spec from the issue', () => {
  it('validates and renders to the engine request shape', () => {
    const spec = parseSpec(ISSUE_SPEC, '/specs/fix.yml');
    const [req] = renderHostRequests(spec, host('web01', { site: 'ams' }));
    expect(req).toEqual({
      service: 'MyGoService',
      desired: {
        binaryPath: '"C:\\Program Files\\MyGo\\myapp.exe" --config "C:\\ProgramData\\MyGo\\ams.yaml" --port 8081',
        startType: 'delayed-auto',
        errorControl: 'normal',
        displayName: 'My Go Service',
        description: 'Payments API',
        account: { name: 'NT AUTHORITY\\NetworkService' },
        dependencies: ['Tcpip', 'Dnscache'],
        failure: {
          resetPeriod: 86400,
          actions: [
            { type: 'restart', delayMs: 60000 },
            { type: 'restart', delayMs: 60000 },
            { type: 'none', delayMs: 0 },
          ],
          nonCrashFailures: true,
        },
        environment: { GOMAXPROCS: '4' },
      },
      restart: 'if-needed',
      verify: { running: true, port: 8081, timeoutSeconds: 60, dependencies: 'running' },
      rollback: 'auto',
    });
  });

  it('reads the same spec written as JSON, with line numbers in errors', () => {
    const dir = tmpTree({ 'fix.json': '{\n  "service": "Svc",\n  "set": {\n    "startTyp": "auto"\n  }\n}\n' });
    expectInputError(() => loadSpec(join(dir, 'fix.json')), { file: join(dir, 'fix.json'), line: 4, field: 'set.startTyp' }, /did you mean "startType"/);
  });
});

describe('spec validation: file, line and field in every error', () => {
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['unknown top-level key', 'service: S\nset: { startType: auto }\nrestrat: never\n', { line: 3, field: 'restrat' }, /did you mean "restart"/],
    ['bad enum', 'service: S\nset:\n  startType: automatic\n', { line: 3, field: 'set.startType' }, /delayed-auto/],
    ['CWE-428 unquoted path', "service: S\nset:\n  binaryPath: 'C:\\Program Files\\App\\app.exe --x'\n", { line: 3, field: 'set.binaryPath' }, /CWE-428/],
    ['unclosed quote', "service: S\nset:\n  binaryPath: '\"C:\\app.exe --x'\n", { line: 3, field: 'set.binaryPath' }, /never closes/],
    ['reset without actions', 'service: S\nset:\n  failure:\n    resetPeriod: 60\n', { line: 4, field: 'set.failure.resetPeriod' }, /needs failure.actions/],
    [
      'bad action',
      'service: S\nset:\n  failure:\n    resetPeriod: 60\n    actions: [restart-6000]\n',
      { line: 5, field: 'set.failure.actions[0]' },
      /type\/delayMs/,
    ],
    [
      'literal password',
      'service: S\nset:\n  account: { name: ".\\\\svc", password: hunter2 }\n',
      { line: 3, field: 'set.account.password' },
      /literal password/,
    ],
    [
      'set and removed flag',
      'service: S\nset:\n  args: { set: { --port: 1 }, remove: [--port] }\n',
      { line: 3, field: 'set.args.remove[0]' },
      /both set and removed/,
    ],
    ['bad flag name', 'service: S\nset:\n  args: { set: { port: 1 } }\n', { line: 3, field: 'set.args.set.port' }, /flag/],
    ['both forms', 'service: S\nservices: [{ service: T, set: { startType: auto } }]\n', { line: 2, field: 'services' }, /either/],
    ['no service', 'set: { startType: auto }\n', {}, /names no service/],
    ['nothing to do', 'service: S\n', {}, /nothing to change/],
    [
      'duplicate service',
      'services:\n  - { service: A, set: { startType: auto } }\n  - { service: a, set: { startType: demand } }\n',
      { line: 3, field: 'services[1].service' },
      /twice/,
    ],
    ['duplicate YAML key', 'service: S\nset: { startType: auto }\nservice: T\n', { line: 3 }, /unique/],
    ['env names differing by case', 'service: S\nset:\n  environment: { Path: a, PATH: b }\n', { line: 3 }, /same variable on Windows/],
    ['port out of range', 'service: S\nrestart: always\nverify: { port: 70000 }\n', { line: 3, field: 'verify.port' }, /65535/],
    ['service with a slash', 'service: a/b\nrestart: always\n', { line: 1, field: 'service' }, /cannot contain/],
    ['empty file', '', {}, /empty/],
    ['set in multi form', 'services: [{ service: A, restart: always }]\nset: { startType: auto }\n', { line: 2, field: 'set' }, /inside each entry/],
  ];
  it.each(cases)('%s', (_t, text, where, re) => {
    expectInputError(() => parseSpec(text, '/specs/s.yml'), { file: '/specs/s.yml', ...where }, re);
  });

  it('lists further problems in the same message', () => {
    const e = expectInputError(() => parseSpec('service: S\nset:\n  startType: x\n  errorControl: y\n', '/s.yml'), { line: 3 });
    expect(e.message).toMatch(/also \/s\.yml:4, field set\.errorControl/);
  });
});

describe('binary path checks (docs/reference/windows-cmdline.md#unquoted-service-paths-cwe-428)', () => {
  it('accepts quoted paths and unquoted paths without spaces', () => {
    expect(binaryPathProblem('"C:\\Program Files\\A B\\svc.exe" -k x')).toBeUndefined();
    expect(binaryPathProblem('C:\\svc\\svc.exe --name "a b"')).toBeUndefined();
    expect(binaryPathProblem('C:\\Windows\\System32\\svchost.exe -k netsvcs')).toBeUndefined();
  });
  it('refuses unquoted spaces before .exe and single quotes', () => {
    expect(binaryPathProblem('C:\\Program Files\\A B\\svc.exe')).toMatch(/CWE-428/);
    expect(binaryPathProblem("'C:\\x\\svc.exe'")).toMatch(/single quotes/);
    expect(binaryPathProblem('   ')).toMatch(/empty/);
  });
});

describe('{{ var }} values are data', () => {
  const ctx = { host: 'web01.corp', vars: { port: 18001, site: 'ams', evil: '{{ site }}', flag: true, nothing: null, list: [1], sec: new Secret('x') } };
  it('inserts values as they are, never rendering them again', () => {
    expect(renderTemplate('{{ port }}-{{site}}-{{ evil }}', ctx)).toBe('18001-ams-{{ site }}');
    expect(renderTemplate("{{ missing | default('dflt') }} {{ nothing | default(7) }}", ctx)).toBe('dflt 7');
    expect(renderTemplate('{{ inventory_hostname }} {{ inventory_hostname_short }}', ctx)).toBe('web01.corp web01');
  });
  it('refuses expressions, filters, blocks, and values that are not text or numbers', () => {
    for (const bad of [
      '{{ port + 1 }}',
      '{{ site | upper }}',
      "{{ lookup('env','HOME') }}",
      '{% if x %}',
      '{{ site',
      '{{ missing }}',
      '{{ flag }}',
      '{{ list }}',
      '{{ sec }}',
      '{{ nothing }}',
      '{# c #}',
    ]) {
      expect(() => renderTemplate(bad, ctx), bad).toThrow(TemplateError);
    }
  });
});

describe('per-host rendering', () => {
  const SPEC = `services:
  - service: 'Svc{{ idx }}'
    set:
      binaryPath: '"C:\\apps\\svc.exe" --name "{{ label }}"'
      args:
        set: { --port: '{{ app_port }}', --verbose: true, --workers: 4 }
        remove: [--debug]
      displayName: '{{ label }}'
      environment: { LABEL: '{{ label }}', N: 3 }
    verify: { port: '{{ app_port }}', http: { url: 'http://127.0.0.1:{{ app_port }}/health' } }
  - service: Other
    restart: always
restart: never
rollback: never
timeouts: { stopSeconds: 30 }
`;
  const spec = parseSpec(SPEC, '/specs/multi.yml');

  it('renders several services with shared defaults', () => {
    const reqs = renderHostRequests(spec, host('web07', { idx: 7, label: 'web seven', app_port: 18007 }));
    expect(reqs.map((r) => r.service)).toEqual(['Svc7', 'Other']);
    expect(reqs[0]!.desired).toEqual({
      binaryPath: '"C:\\apps\\svc.exe" --name "web seven"',
      args: { set: { '--port': '18007', '--verbose': true, '--workers': '4' }, remove: ['--debug'] },
      displayName: 'web seven',
      environment: { LABEL: 'web seven', N: '3' },
    });
    expect(reqs[0]!.verify).toEqual({ port: 18007, http: { url: 'http://127.0.0.1:18007/health' } });
    expect(reqs[0]!).toMatchObject({ restart: 'never', rollback: 'never', timeouts: { stopSeconds: 30 } });
    expect(reqs[1]).toMatchObject({ service: 'Other', restart: 'always', desired: {} });
  });

  it('dependents: a default for every entry, an entry may override it; the request carries it only when set', () => {
    const doc = `services:
  - service: A
    set: { description: a }
  - service: B
    set: { description: b }
    dependents: refuse
dependents: stop-and-restart
`;
    const reqs = renderHostRequests(parseSpec(doc, '/specs/deps.yml'), host('h'));
    expect(reqs.map((r) => r.dependents)).toEqual(['stop-and-restart', 'refuse']);
    expect(renderHostRequests(spec, host('h', { idx: 1, label: 'x', app_port: 1 }))[0]!.dependents).toBeUndefined();
    expect(() => parseSpec('service: A\nset: { description: a }\ndependents: stop\n', '/specs/bad.yml')).toThrow(/refuse/);
  });

  it('keeps hostile variable values as data (smart quotes, $(), backticks, newlines refused)', () => {
    const hostile = '‘’“” $(Remove-Item C:\\ -Recurse) `whoami` ; & | %TEMP%';
    const [req] = renderHostRequests(spec, host('h', { idx: 1, label: hostile, app_port: 1 }));
    expect(req!.desired!.displayName).toBe(hostile);
    expect(req!.desired!.environment).toEqual({ LABEL: hostile, N: '3' });
    // The payload carries it as JSON data: the bytes come back unchanged.
    const payload = buildPayload({ v: 1, op: 'apply', nonce: 'n'.repeat(16), runId: 'r1', ...req! });
    expect(payload.request.desired!.displayName).toBe(hostile);
    expectInputError(
      () => renderHostRequests(spec, host('h', { idx: 1, label: 'a\nb', app_port: 1 })),
      { host: 'h', field: 'services[0].set.binaryPath', line: 4 },
      /control character/,
    );
  });

  it('refuses a variable that would change how the command line is split', () => {
    expectInputError(
      () => renderHostRequests(spec, host('h', { idx: 1, label: 'x" --evil "y', app_port: 1 })),
      { host: 'h', field: 'services[0].set.binaryPath' },
      /double quote/,
    );
  });

  it('names spec file, line, field and host for a missing variable or a bad rendered port', () => {
    expectInputError(
      () => renderHostRequests(spec, host('web09', { idx: 1, label: 'x' })),
      { file: '/specs/multi.yml', host: 'web09', field: 'services[0].set.args.set.--port', line: 6 },
      /app_port is not defined for host web09/,
    );
    expectInputError(
      () => renderHostRequests(spec, host('web09', { idx: 1, label: 'x', app_port: 'http' })),
      { host: 'web09', field: 'services[0].verify.port' },
      /port number/,
    );
  });

  it('checks CWE-428 again after rendering', () => {
    const s = parseSpec("service: S\nset:\n  binaryPath: '{{ dir }}\\app.exe'\n", '/s.yml');
    expectInputError(() => renderHostRequests(s, host('h', { dir: 'C:\\Program Files' })), { host: 'h', field: 'set.binaryPath', line: 3 }, /CWE-428/);
    expect(renderHostRequests(s, host('h', { dir: 'C:\\apps' }))[0]!.desired!.binaryPath).toBe('C:\\apps\\app.exe');
  });
});

describe('account passwords', () => {
  const dir = tmpTree({ 'pw.txt': 'from-file\n' });
  const text = `services:
  - service: A
    set: { account: { name: '.\\svc', password: { env: SVC_PW } } }
  - service: B
    set: { account: { name: '.\\svc', password: { env: SVC_PW } } }
  - service: C
    set: { account: { name: '.\\other', password: { file: pw.txt } } }
  - service: D
    set: { account: { name: '.\\asked', password: { prompt: true } } }
`;
  const spec = parseSpec(text, join(dir, 'spec.yml'));

  it('resolves each reference once (one prompt), keeps it Secret, and reveals it only in the payload', async () => {
    let prompts = 0;
    const secrets = await resolveSpecSecrets(spec, {
      env: { SVC_PW: 'envpw' },
      prompt: async () => {
        prompts++;
        return 'typed';
      },
    });
    expect(prompts).toBe(1);
    const reqs = renderHostRequests(spec, host('h'), secrets);
    expect(reqs[0]!.desired!.account!.password).toBeInstanceOf(Secret);
    expect(JSON.stringify(reqs)).not.toMatch(/envpw|from-file|typed/);
    expect(String(reqs[2]!.desired!.account!.password)).toBe('[REDACTED]');
    // Revealed only into the payload's password line, never into its JSON line (docs/remote-protocol.md).
    const request = { v: 1 as const, op: 'apply' as const, nonce: 'n'.repeat(16), runId: 'r1', ...reqs[2]! };
    expect(buildPayload(request).request.desired!.account!.password).toBeUndefined();
    const [line, pwLine] = buildInvocation(request).stdin.toString('ascii').split('\n');
    expect(line).not.toContain('from-file');
    expect(pwLine).toBe(passwordLine('from-file').trimEnd());
    expect((reqs[3]!.desired!.account!.password as Secret).reveal()).toBe('typed');
  });

  it('leaves the password out and says where it comes from when secrets are not resolved (plan)', () => {
    const reqs = renderHostRequests(spec, host('h'));
    // The engine is told that apply will carry a password, so a plan of a new password account needs none.
    expect(reqs[0]!.desired!.account).toEqual({ name: '.\\svc', passwordAtApply: true });
    expect(reqs[0]!.passwordRef).toEqual({ env: 'SVC_PW' });
  });

  it('names the field when an environment variable is missing or no terminal can prompt', async () => {
    await expectInputErrorAsync(() => resolveSpecSecrets(spec, { env: {} }), { field: 'services[0].set.account.password', line: 3 }, /SVC_PW is not set/);
    await expectInputErrorAsync(() => resolveSpecSecrets(spec, { env: { SVC_PW: 'x' } }), { field: 'services[3].set.account.password' }, /no terminal/);
  });
});

describe('account choices', () => {
  it('passes rollbackPassword: none and grantLogonRight through to the request, and keeps them in the payload', () => {
    const spec = parseSpec(`service: S\nset:\n  account: { name: 'NT AUTHORITY\\LocalService', rollbackPassword: none, grantLogonRight: true }\n`, '/s.yml');
    const [req] = renderHostRequests(spec, host('h'));
    expect(req!.desired!.account).toEqual({ name: 'NT AUTHORITY\\LocalService', rollbackPassword: 'none', grantLogonRight: true });
    const payload = buildPayload({ v: 1, op: 'apply', nonce: 'n'.repeat(16), runId: 'r1', ...req! });
    expect(payload.request.desired!.account).toEqual({ name: 'NT AUTHORITY\\LocalService', rollbackPassword: 'none', grantLogonRight: true });
  });

  it('passes rotatePassword through, and refuses it without a password', () => {
    const spec = parseSpec(`service: S\nset:\n  account: { name: '.\\svc', password: { env: PW }, rotatePassword: true, rollbackPassword: none }\n`, '/s.yml');
    const [req] = renderHostRequests(spec, host('h'));
    expect(req!.desired!.account).toEqual({ name: '.\\svc', passwordAtApply: true, rotatePassword: true, rollbackPassword: 'none' });
    expectInputError(() => parseSpec(`service: S\nset:\n  account: { name: '.\\svc', rotatePassword: true }\n`, '/r.yml'), {
      field: 'set.account.rotatePassword',
    });
  });

  it('refuses a password for a virtual or managed account, and any rollbackPassword but none', () => {
    const virt = parseSpec(`service: S\nset:\n  account: { name: 'NT SERVICE\\S', password: { env: PW } }\n`, '/v.yml');
    expectInputError(() => renderHostRequests(virt, host('h')), { field: 'set.account.password' }, /virtual account/);
    const gmsa = parseSpec(`service: S\nset:\n  account: { name: 'CONTOSO\\web$', password: { env: PW } }\n`, '/g.yml');
    expectInputError(() => renderHostRequests(gmsa, host('h')), { field: 'set.account.password' }, /managed account/);
    expectInputError(() => parseSpec(`service: S\nset:\n  account: { name: '.\\svc', rollbackPassword: keep }\n`, '/r.yml'), {
      field: 'set.account.rollbackPassword',
    });
  });
});

describe('malformed specs never crash', () => {
  it('every mutation parses and renders, or fails with an InputError', async () => {
    const { InputError } = await import('../../src/util/errors.js');
    let seed = 42;
    const r = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const nasty = [
      '{{',
      '}}',
      '"',
      "'",
      '‘',
      '“',
      ':',
      '- ',
      '[',
      ']',
      '{',
      '}',
      '\n',
      '\t',
      '#',
      '&a',
      '*a',
      '!!binary',
      '\\',
      '%',
      '{{ x }}',
      '__proto__: 1\n',
    ];
    for (let i = 0; i < 250; i++) {
      let text = ISSUE_SPEC;
      for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
        const at = Math.floor(r() * text.length);
        text =
          r() < 0.5
            ? text.slice(0, at) + nasty[Math.floor(r() * nasty.length)]! + text.slice(at)
            : text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 8));
      }
      try {
        const spec = parseSpec(text, '/m.yml');
        renderHostRequests(spec, host('h', { site: 'ams', x: 1 }));
      } catch (err) {
        if (!(err instanceof InputError)) throw new Error(`iteration ${i}: ${(err as Error).stack}\n${text}`);
      }
    }
  });
});

describe('secrets never appear in error messages', () => {
  it('does not print a secret-looking value that is not a valid template', () => {
    for (const [value, parts] of [
      ['abc{{xyz', ['abc', 'xyz']],
      ['s3cr{{ et }}x', ['s3cr', ' et ', '}}x']],
      ['p{{ a + b }}q', ['a + b']],
      ['{% x %}', ['{% x %}']],
    ] as const) {
      const spec = parseSpec(`service: S\nset:\n  environment: { DB_PASSWORD: '${value}' }\n`, '/s.yml');
      const e = expectInputError(() => renderHostRequests(spec, host('h')), { file: '/s.yml', line: 3, field: 'set.environment.DB_PASSWORD', host: 'h' });
      for (const p of [value, ...parts]) expect(e.message).not.toContain(p);
    }
  });
});
