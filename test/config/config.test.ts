import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFlags } from '../../src/cli/flags.js';
import { configLeaves, loadConfig } from '../../src/config/load.js';
import { DEFAULT_DEADLINES } from '../../src/transport/types.js';
import { expectInputErrorAsync, tmpTree } from '../inventory/helpers.js';

/** A project directory (package.json bounds cosmiconfig's upward search). */
function project(files: Record<string, string>): string {
  return tmpTree({ 'package.json': '{"name": "ops"}\n', ...files });
}

describe('loadConfig', () => {
  it('gives defaults when there is no config', async () => {
    const cwd = project({});
    const c = await loadConfig({ cwd, env: { XDG_STATE_HOME: '/srv/state' } });
    expect(c).toMatchObject({
      concurrency: 20,
      deadlines: { connectMs: DEFAULT_DEADLINES.connectMs, authMs: DEFAULT_DEADLINES.authMs, commandMs: DEFAULT_DEADLINES.commandMs, hostMs: 0 },
      output: 'auto',
      failureBudget: { kind: 'count', n: 0 },
      batches: [{ kind: 'percent', pct: 100 }],
      canary: [],
      unreachableCountsAsFailure: false,
      connection: {},
    });
    expect(c.journal).toBe('/srv/state/svcfleet');
    expect(c.configFile).toBeUndefined();
  });

  it('reads .svcfleetrc.yaml: sizes, durations, lists, and paths relative to the file', async () => {
    const cwd = project({
      '.svcfleetrc.yaml': `concurrency: 50
deadlines: { connect: 5s, command: 10m, host: 15m }
retries: { count: 3, backoff: 250ms }
failureBudget: 10%
canary: web01, web02
batches: [1, 5, 25%, 100%]
journal: ./state
transport: winrm
ssh: { knownHostsFile: ./known_hosts, hostKeyPolicy: accept-new }
winrm: { caFile: /etc/ca.pem, operationTimeout: 30s }
`,
    });
    const c = await loadConfig({ cwd, env: {} });
    expect(c.configFile).toBe(join(cwd, '.svcfleetrc.yaml'));
    expect(c.concurrency).toBe(50);
    expect(c.deadlines).toEqual({ connectMs: 5000, authMs: DEFAULT_DEADLINES.authMs, commandMs: 600_000, hostMs: 900_000 });
    expect(c.retries).toEqual({ count: 3, backoffMs: 250, maxBackoffMs: 10_000 });
    expect(c.failureBudget).toEqual({ kind: 'percent', pct: 10 });
    expect(c.canary).toEqual(['web01', 'web02']);
    expect(c.batches).toEqual([
      { kind: 'count', n: 1 },
      { kind: 'count', n: 5 },
      { kind: 'percent', pct: 25 },
      { kind: 'percent', pct: 100 },
    ]);
    expect(c.journal).toBe(join(cwd, 'state'));
    expect(c.connection).toEqual({
      transport: 'winrm',
      ssh: { knownHostsFile: join(cwd, 'known_hosts'), hostKeyPolicy: 'accept-new' },
      winrm: { caFile: '/etc/ca.pem', operationTimeoutSeconds: 30 },
    });
  });

  it('flags > environment > config file > defaults', async () => {
    const cwd = project({ '.svcfleetrc.json': '{"concurrency": 10, "output": "plain", "user": "file-user"}' });
    const env = { SVCFLEET_CONCURRENCY: '30', SVCFLEET_OUTPUT: 'ndjson', SVCFLEET_UNREACHABLE_COUNTS_AS_FAILURE: 'yes' };
    const c = await loadConfig({ cwd, env, flags: { concurrency: '40' as unknown as number } });
    expect(c.concurrency).toBe(40);
    expect(c.output).toBe('ndjson');
    expect(c.unreachableCountsAsFailure).toBe(true);
    expect(c.connection.user).toBe('file-user');
  });

  it('reads the svcfleet key of package.json and an ESM config file', async () => {
    const pkg = tmpTree({ 'package.json': '{\n  "name": "ops",\n  "svcfleet": { "concurrency": 7 }\n}\n' });
    expect((await loadConfig({ cwd: pkg, env: {} })).concurrency).toBe(7);
    const mjs = project({ 'svcfleet.config.mjs': 'export default { concurrency: 8, output: "plain" };\n' });
    expect(await loadConfig({ cwd: mjs, env: {} })).toMatchObject({ concurrency: 8, output: 'plain', configFile: join(mjs, 'svcfleet.config.mjs') });
  });

  it('reads svcfleet.config.ts through the typescript package', async () => {
    const ts = project({ 'svcfleet.config.ts': 'const concurrency: number = 9;\nexport default { concurrency };\n' });
    expect((await loadConfig({ cwd: ts, env: {} })).concurrency).toBe(9);
  });

  it('names file, line and field for a bad config file, with a hint for typos', async () => {
    const cwd = project({ '.svcfleetrc.yml': 'concurrency: 5\ndeadlines:\n  conect: 5s\n' });
    await expectInputErrorAsync(
      () => loadConfig({ cwd, env: {} }),
      { file: join(cwd, '.svcfleetrc.yml'), line: 3, field: 'deadlines.conect' },
      /did you mean "connect"/,
    );
    const bad = project({ '.svcfleetrc.yml': 'failureBudget: lots\n' });
    await expectInputErrorAsync(() => loadConfig({ cwd: bad, env: {} }), { line: 1, field: 'failureBudget' }, /count like 5 or a percentage/);
    const pkg = tmpTree({ 'package.json': '{\n  "name": "ops",\n  "svcfleet": {\n    "output": "fancy"\n  }\n}\n' });
    await expectInputErrorAsync(() => loadConfig({ cwd: pkg, env: {} }), { file: join(pkg, 'package.json'), line: 4, field: 'svcfleet.output' });
    const js = project({ 'svcfleet.config.mjs': 'export default { concurency: 1 };\n' });
    await expectInputErrorAsync(() => loadConfig({ cwd: js, env: {} }), { file: join(js, 'svcfleet.config.mjs') }, /concurency/);
    const broken = project({ '.svcfleetrc.yaml': 'a: [\n' });
    await expectInputErrorAsync(() => loadConfig({ cwd: broken, env: {} }), { file: join(broken, '.svcfleetrc.yaml') });
  });

  it('names the environment variable or flag that is wrong', async () => {
    const cwd = project({});
    await expectInputErrorAsync(() => loadConfig({ cwd, env: { SVCFLEET_CONCURRENCY: 'many' } }), { field: 'SVCFLEET_CONCURRENCY' }, /environment/);
    await expectInputErrorAsync(() => loadConfig({ cwd, env: { SVCFLEET_DEADLINES_CONNECT: 'soon' } }), { field: 'SVCFLEET_DEADLINES_CONNECT' }, /duration/);
    await expectInputErrorAsync(() => loadConfig({ cwd, env: {}, flags: { output: 'fancy' as 'plain' } }), { field: 'output' }, /command line/);
    await expectInputErrorAsync(() => loadConfig({ cwd, env: {}, file: 'nope.yml' }), { field: 'config' }, /not found/);
  });

  it('warns when certificate validation is turned off', async () => {
    const cwd = project({ '.svcfleetrc.yaml': 'winrm: { certValidation: ignore }\n' });
    expect((await loadConfig({ cwd, env: {} })).warnings.join()).toMatch(/validation OFF/);
  });

  it('has one SVCFLEET_ variable per setting', () => {
    const names = configLeaves().map((l) => l.env);
    expect(names).toContain('SVCFLEET_HANDSHAKE_CONCURRENCY');
    expect(names).toContain('SVCFLEET_SSH_KNOWN_HOSTS_FILE');
    expect(names).toContain('SVCFLEET_WINRM_CA_FILE');
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('configuration is bounded', () => {
  // A config that proves it ran: it leaves a marker file next to itself.
  const cjs = (n: number): string => `require('node:fs').writeFileSync(__dirname + '/ran', 'x');\nmodule.exports = { concurrency: ${n} };\n`;

  it('does not climb above the working directory when there is no project root or home above it', async () => {
    const outer = tmpTree({ '.svcfleetrc.cjs': cjs(3), 'a/b/.keep': '' });
    const c = await loadConfig({ cwd: join(outer, 'a/b'), env: {} });
    expect(c.configFile).toBeUndefined();
    expect(existsSync(join(outer, 'ran')), 'the .cjs two directories up was executed').toBe(false);
  });

  it('stops at the nearest .git or package.json, or at the home directory, whichever comes first', async () => {
    const outer = tmpTree({ '.svcfleetrc.yaml': 'concurrency: 3\n', 'repo/a/.keep': '' });
    mkdirSync(join(outer, 'repo/.git'));
    expect((await loadConfig({ cwd: join(outer, 'repo/a'), env: {} })).configFile).toBeUndefined();
    const home = tmpTree({ '.svcfleetrc.yaml': 'concurrency: 3\n', 'me/.svcfleetrc.yaml': 'concurrency: 4\n', 'me/work/x/.keep': '' });
    expect(await loadConfig({ cwd: join(home, 'me/work/x'), env: { HOME: join(home, 'me') } })).toMatchObject({ concurrency: 4 });
    const inProject = tmpTree({ '.svcfleetrc.yaml': 'concurrency: 5\n', 'package.json': '{}', 'src/deep/.keep': '' });
    expect(await loadConfig({ cwd: join(inProject, 'src/deep'), env: {} })).toMatchObject({ concurrency: 5 });
  });

  it('loads a JS/TS config only when the current user owns it and nobody else can write it', async () => {
    const dir = project({ '.svcfleetrc.cjs': cjs(6) });
    const file = join(dir, '.svcfleetrc.cjs');
    chmodSync(file, 0o666);
    await expectInputErrorAsync(() => loadConfig({ cwd: dir, env: {} }), { file }, /group- or world-writable/);
    chmodSync(file, 0o620);
    await expectInputErrorAsync(() => loadConfig({ cwd: dir, env: {}, file }), { file }, /group- or world-writable/);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    if (process.getuid?.() === 0) {
      chmodSync(file, 0o644);
      chownSync(file, 65534, 65534);
      await expectInputErrorAsync(() => loadConfig({ cwd: dir, env: {} }), { file }, /owned by uid 65534/);
      expect(existsSync(join(dir, 'ran'))).toBe(false);
      chownSync(file, 0, 0);
    }
    chmodSync(file, 0o644);
    expect((await loadConfig({ cwd: dir, env: {} })).concurrency).toBe(6);
  });

  it('warns about every security-weakening setting, from the file, the environment and the flags', async () => {
    const cwd = project({ '.svcfleetrc.yaml': 'ssh: { knownHostsFile: ./kh, hostKeyPolicy: accept-new }\nwinrm: { certValidation: ignore }\n' });
    const fromFile = (await loadConfig({ cwd, env: {} })).warnings.join('\n');
    expect(fromFile).toMatch(/ssh\.hostKeyPolicy: accept-new.*\.svcfleetrc\.yaml/);
    expect(fromFile).toMatch(/ssh\.knownHostsFile.*kh.*\.svcfleetrc\.yaml/);
    expect(fromFile).toMatch(/certValidation: ignore.*\.svcfleetrc\.yaml/);
    const bare = project({});
    const fromEnv = (
      await loadConfig({ cwd: bare, env: { SVCFLEET_SSH_HOST_KEY_POLICY: 'accept-new', SVCFLEET_SSH_KNOWN_HOSTS_FILE: '/tmp/kh' } })
    ).warnings.join('\n');
    expect(fromEnv).toMatch(/accept-new.*SVCFLEET_SSH_HOST_KEY_POLICY/);
    expect(fromEnv).toMatch(/knownHostsFile.*SVCFLEET_SSH_KNOWN_HOSTS_FILE/);
    const fromFlags = (
      await loadConfig({ cwd: bare, env: {}, flags: { ssh: { hostKeyPolicy: 'accept-new' }, winrm: { certValidation: 'ignore' } } })
    ).warnings.join('\n');
    expect(fromFlags).toMatch(/accept-new.*command line/);
    expect(fromFlags).toMatch(/certValidation: ignore.*command line/);
    expect((await loadConfig({ cwd: bare, env: {} })).warnings).toEqual([]);
  });

  it('--deadline 90s is a 90-second host deadline (the flag passes its text; a bare number in config means seconds)', async () => {
    const cwd = tmpTree({});
    const c = await loadConfig({ cwd, env: {}, flags: configFlags({ deadline: '90s' }) });
    expect(c.deadlines.hostMs).toBe(90_000);
    const m = await loadConfig({ cwd, env: {}, flags: configFlags({ deadline: '250ms' }) });
    expect(m.deadlines.hostMs).toBe(250);
  });
});
