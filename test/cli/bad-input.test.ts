/**
 * Bad input — malformed or hostile inventory, spec, config, flags, plan files, run ids — exits 1 with an error
 * naming the file / field / host, and contacts NO host: a spy transport fails the test if anything is opened,
 * and no run is journaled.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/transport/types.js';
import { cli } from '../app/fleet/lab-fleet.js';

let dir: string;
let opened: string[];
const spy: Transport = {
  kind: 'local',
  open: async (host) => {
    opened.push(host);
    throw new Error(`host ${host} was contacted`);
  },
};

const INVENTORY = `kind: svcfleet-inventory
version: 1
defaults: { transport: local }
groups:
  web: { hosts: [web01, web02] }
hosts:
  web01: { address: 127.0.0.1, local: { stateDir: /nonexistent/web01 }, vars: { app_port: 18001, site: ams } }
  web02: { address: 127.0.0.1, local: { stateDir: /nonexistent/web02 }, vars: { app_port: 18002, site: "ams\\u201d; Remove-Item C:\\\\ -Recurse \\u201c" } }
`;
const SPEC = `service: AppSvc
set:
  binaryPath: '"C:\\Program Files\\App\\app.exe" --port {{ app_port }}'
verify: { running: true, port: '{{ app_port }}' }
`;

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

async function bad(args: string[], env: NodeJS.ProcessEnv = {}, journal = true): Promise<string> {
  const r = await cli([...args, ...(journal ? ['--journal', join(dir, 'journal')] : [])], spy, env);
  if (process.env.SHOW_ERRORS) console.log(args.slice(0, 1).concat(args.slice(3)).join(' '), '=>', r.stderr.trim());
  expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(1);
  expect(opened, 'a host was contacted').toEqual([]);
  const runs = join(dir, 'journal', 'runs');
  expect(existsSync(runs) ? readdirSync(runs) : [], 'a run was journaled').toEqual([]);
  return r.stderr;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-badinput-'));
  opened = [];
  write('inv.yaml', INVENTORY);
  write('spec.yaml', SPEC);
});
afterEach(() => {
  try {
    expect(opened).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('bad inventory', () => {
  it('names the file and line of a YAML syntax error', async () => {
    const inv = write('broken.yaml', 'kind: svcfleet-inventory\nversion: 1\nhosts:\n  web01: { address: 127.0.0.1\n');
    expect(await bad(['apply', join(dir, 'spec.yaml'), '-i', inv, '--output', 'plain'])).toMatch(/broken\.yaml:\d+/);
  });
  it('refuses a literal password, naming the file and field', async () => {
    const inv = write('pw.yaml', INVENTORY.replace('defaults: { transport: local }', 'defaults: { transport: local, password: hunter2 }'));
    const e = await bad(['plan', join(dir, 'spec.yaml'), '-i', inv, '--output', 'plain']);
    expect(e).toMatch(/pw\.yaml/);
    expect(e).toMatch(/password/);
    expect(e).not.toContain('hunter2');
  });
  it('names a missing inventory file', async () => {
    expect(await bad(['apply', join(dir, 'spec.yaml'), '-i', join(dir, 'nope.yaml'), '--output', 'plain'])).toMatch(/nope\.yaml/);
  });
  it('refuses a --limit that selects nothing', async () => {
    expect(await bad(['apply', join(dir, 'spec.yaml'), '-i', join(dir, 'inv.yaml'), '--limit', 'db*', '--output', 'plain'])).toMatch(/limit/);
  });
  it('requires an inventory', async () => {
    expect(await bad(['apply', join(dir, 'spec.yaml'), '--output', 'plain'])).toMatch(/--inventory/);
  });
});

describe('bad spec', () => {
  it('names the field of an unknown key and of a bad value', async () => {
    const s1 = write('s1.yaml', `${SPEC}restart: sometimes\n`);
    expect(await bad(['apply', s1, '-i', join(dir, 'inv.yaml'), '--output', 'plain'])).toMatch(/s1\.yaml:\d+.*restart/);
    const s2 = write('s2.yaml', SPEC.replace('set:', 'set:\n  starttype: auto'));
    expect(await bad(['apply', s2, '-i', join(dir, 'inv.yaml'), '--output', 'plain'])).toMatch(/s2\.yaml.*starttype/);
  });
  it('refuses an unquoted binary path with spaces (CWE-428)', async () => {
    const s = write('s3.yaml', "service: AppSvc\nset:\n  binaryPath: 'C:\\Program Files\\App\\app.exe --port 1'\n");
    expect(await bad(['apply', s, '-i', join(dir, 'inv.yaml'), '--output', 'plain'])).toMatch(/s3\.yaml.*binaryPath/);
  });
  it('names the host whose variable is missing or hostile', async () => {
    const s = write('s4.yaml', SPEC.replace("{{ app_port }}'\nverify", "{{ app_port }} --config {{ nothere }}'\nverify"));
    expect(await bad(['apply', s, '-i', join(dir, 'inv.yaml'), '--output', 'plain'])).toMatch(/host web01/);
    // web02's `site` carries PowerShell smart quotes and a command: as data it is fine in a description...
    // ...but a double quote smuggled into a binary path would change how it splits: refused, naming the host.
    const inv = write('q.yaml', INVENTORY.replace('site: ams }', 'site: \'a" --evil "b\' }'));
    const s5 = write('s5.yaml', SPEC.replace("{{ app_port }}'\nverify", "{{ app_port }} --site {{ site }}'\nverify"));
    expect(await bad(['apply', s5, '-i', inv, '--output', 'plain'])).toMatch(/host web01.*double quote|double quote.*host web01|web01/);
  });
  it('asks for no password and contacts nobody when the password variable is not set', async () => {
    const s = write('s6.yaml', `${SPEC.replace('set:', "set:\n  account: { name: '.\\svc', password: { env: SVC_PW_UNSET } }")}`);
    expect(await bad(['apply', s, '-i', join(dir, 'inv.yaml'), '--output', 'plain'], { SVC_PW_UNSET: undefined })).toMatch(/SVC_PW_UNSET/);
  });
});

describe('bad config and flags', () => {
  it('names the config file and field', async () => {
    const cfgDir = join(dir, 'proj');
    mkdirSync(cfgDir);
    const cfg = join(cfgDir, '.svcfleetrc.yaml');
    writeFileSync(cfg, 'concurrency: 0\n');
    expect(await bad(['apply', join(dir, 'spec.yaml'), '-i', join(dir, 'inv.yaml'), '--config', cfg, '--output', 'plain'])).toMatch(
      /\.svcfleetrc\.yaml.*concurrency/,
    );
    writeFileSync(cfg, 'concurency: 5\n');
    expect(await bad(['apply', join(dir, 'spec.yaml'), '-i', join(dir, 'inv.yaml'), '--config', cfg, '--output', 'plain'])).toMatch(/concurency/);
  });
  it.each([
    [['--concurrency', '0'], /--concurrency/],
    [['--concurrency', 'ten'], /--concurrency/],
    [['--max-failures', 'many'], /--max-failures/],
    [['--max-failures', '150%'], /--max-failures/],
    [['--batches', '1,,x'], /--batches/],
    [['--deadline', '5 parsecs'], /--deadline/],
    [['--retries', '-1'], /--retries|argument/],
    [['--canary', 'db*'], /--canary/],
    [['--on-failure', 'ask'], /--on-failure/],
    [['--junit', '/nonexistent/dir/report.xml'], /--junit/],
    [['--output', 'xml'], /xml|output/i],
    [['--frobnicate'], /unknown option/],
  ])('apply %j', async (flags, message) => {
    // (the last --output wins in commander, so '--output xml' after '--output plain' is the one checked)
    expect(await bad(['apply', join(dir, 'spec.yaml'), '-i', join(dir, 'inv.yaml'), '--output', 'plain', ...(flags as string[])])).toMatch(message as RegExp);
  });
  it('an environment variable with a bad value names the variable', async () => {
    expect(await bad(['apply', join(dir, 'spec.yaml'), '-i', join(dir, 'inv.yaml'), '--output', 'plain'], { SVCFLEET_CONCURRENCY: 'lots' })).toMatch(
      /SVCFLEET_CONCURRENCY/,
    );
  });
});

describe('bad plan files and run ids', () => {
  it('refuses a tampered plan, naming the file and field', async () => {
    const p = write(
      'plan.json',
      JSON.stringify({
        kind: 'svcfleet-plan',
        version: 2,
        digest: 'a'.repeat(64),
        createdAt: 'now',
        spec: { file: 'x', digest: 'nothex' },
        inventory: { sources: [join(dir, 'inv.yaml')], digest: 'a'.repeat(64) },
        hosts: [],
      }),
    );
    expect(await bad(['apply', p, '--output', 'plain'])).toMatch(/plan\.json.*digest/);
  });
  it('refuses a plan naming hosts the inventory does not have', async () => {
    const p = write(
      'plan2.json',
      JSON.stringify({
        kind: 'svcfleet-plan',
        version: 2,
        digest: 'a'.repeat(64),
        createdAt: 'now',
        spec: { file: join(dir, 'spec.yaml'), digest: createHash('sha256').update(SPEC).digest('hex') },
        inventory: { sources: [join(dir, 'inv.yaml')], digest: 'a'.repeat(64) },
        hosts: [
          {
            host: 'db09',
            status: 'change',
            bind: { connection: 'a'.repeat(64), vars: 'a'.repeat(64) },
            services: [{ service: 'AppSvc', configHash: 'h', request: { desired: { startType: 'auto' } } }],
          },
        ],
      }),
    );
    const e = await bad(['apply', p, '--output', 'plain']);
    expect(e).toMatch(/db09/);
  });
  it.each([['show'], ['rollback'], ['resume'], ['retry']])('%s with a bad or unknown run id', async (cmd) => {
    expect(await bad([cmd, '../../etc/passwd'])).toMatch(/not a run id/);
    expect(await bad([cmd, '20260101T000000Z-abcd'])).toMatch(/no run 20260101T000000Z-abcd/);
  });
  it('render needs a known host', async () => {
    expect(await bad(['render', join(dir, 'spec.yaml'), '--host', 'web99', '-i', join(dir, 'inv.yaml')], {}, false)).toMatch(/web99/);
  });
});
