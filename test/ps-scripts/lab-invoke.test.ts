/** `svcfleet lab invoke`: request files are checked before anything runs; results and exit codes as documented. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../inventory/run-cli.js';
import { initLabHost, readLabHost, stopLabHost } from '../../src/lab/host.js';
import { readRequestFile } from '../../src/lab/cli/invoke.js';
import type { RemoteResult } from '../../src/remote/protocol.js';
import { InputError } from '../../src/util/errors.js';
import { Secret } from '../../src/util/secret.js';
import { freePort, httpGet } from './lab-rig.js';

const dir = mkdtempSync(join(tmpdir(), 'svcfleet-invoke-'));
const stateDir = join(dir, 'host');
let port = 0;

function requestFile(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

const cli = (...args: string[]) => runCli(args);

beforeAll(async () => {
  port = await freePort();
  await initLabHost({ stateDir, accounts: { '.\\svc': 'pw' }, services: [{ name: 'AppSvc', binaryPath: `"C:\\Program Files\\App\\app.exe" --port ${port}` }] });
}, 120_000);

afterAll(async () => {
  await stopLabHost(stateDir);
  rmSync(dir, { recursive: true, force: true });
});

describe('request files', () => {
  it('names the file, line and column of a syntax error, and of a wrong value; exit 1, nothing run', async () => {
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const syntax = requestFile('broken.json', '{\n  "service": "AppSvc"\n  "desired": {}\n}');
    const r = await cli('lab', 'invoke', 'apply', '--state', stateDir, '--request', syntax);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^svcfleet: ${esc(syntax)}:3:3: Missing ,`));
    expect(r.stdout).toBe('');
    const value = requestFile('value.json', '{\n  "service": "AppSvc",\n  "desired": { "description": }\n}');
    const r2 = await cli('lab', 'invoke', 'apply', '--state', stateDir, '--request', value);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(new RegExp(`^svcfleet: ${esc(value)}:3:\\d+, field desired\\.description: `));
  });

  it('names the field that is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [{ desired: {} }, 'service'],
      [{ service: 'AppSvc', desired: { startType: 'sometimes' } }, 'desired.startType'],
      [{ service: 'AppSvc', desired: { environment: { Path: '1', PATH: '2' } } }, 'desired.environment'],
      [{ service: 'AppSvc', op: 'plan' }, 'op'],
      [{ service: 'AppSvc', runId: '../etc' }, 'runId'],
    ];
    for (const [content, field] of cases) {
      const file = requestFile('bad.json', content);
      let caught: unknown;
      try {
        readRequestFile(file, 'apply');
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(content)).toBeInstanceOf(InputError);
      expect((caught as InputError).where).toMatchObject({ file, field });
    }
  });

  it('fills in v, op and a fresh nonce, and holds the password as a Secret', () => {
    const file = requestFile('pw.json', { service: 'AppSvc', desired: { account: { name: '.\\svc', password: 'pw' } } });
    const a = readRequestFile(file, 'apply');
    const b = readRequestFile(file, 'apply');
    expect(a).toMatchObject({ v: 1, op: 'apply', service: 'AppSvc' });
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.desired?.account?.password).toBeInstanceOf(Secret);
    expect(JSON.stringify(a)).not.toContain('"pw"');
  });

  it('refuses a state directory that is not an emulated host', async () => {
    const file = requestFile('ok.json', { service: 'AppSvc' });
    const r = await cli('lab', 'invoke', 'snapshot', '--state', dir, '--request', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no emulated host/);
  });
});

describe('running the real engine', () => {
  it('apply prints the RemoteResult as JSON (exit 0); a hot-fix that fails is rolled back (exit 2)', { timeout: 240_000 }, async () => {
    const good = requestFile('apply.json', {
      service: 'AppSvc',
      runId: 'cli-1',
      desired: { description: 'from the CLI', args: { set: { workers: '2' } } },
      verify: { port },
    });
    const r = await cli('lab', 'invoke', 'apply', '--state', stateDir, '--request', good, '--runner', 'spawn');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as RemoteResult;
    expect(result).toMatchObject({ kind: 'result', op: 'apply', outcome: 'changed' });
    expect(r.stderr).toMatch(/\] verify: port \d+ accepts connections/);
    expect(readLabHost(stateDir).services.AppSvc?.description).toBe('from the CLI');
    expect(JSON.parse(await httpGet(port, '/args'))).toEqual(['--port', String(port), '--workers', '2']);

    const bad = requestFile('bad-apply.json', { service: 'AppSvc', desired: { args: { set: { bogus: '1' } } }, verify: { port } });
    const r2 = await cli('lab', 'invoke', 'apply', '--state', stateDir, '--request', bad, '--runner', 'pool', '--quiet');
    expect(r2.code).toBe(2);
    expect(JSON.parse(r2.stdout)).toMatchObject({ outcome: 'rolled-back', reason: { code: 'start-failed' } });
    expect(r2.stderr).toBe('');
  });
});
