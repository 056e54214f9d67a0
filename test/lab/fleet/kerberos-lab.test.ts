/**
 * `svcfleet lab up --auth kerberos`: a lab realm (a real MIT krb5kdc on loopback) and WinRM listeners that accept
 * only Kerberos — here with `--cbt-hardening strict`, so every ticket must be bound to the listener's TLS certificate
 * (channel binding) — driven through the built CLI as a user would: the written inventory authenticates by keytab,
 * `ping` and `apply` work, a stale keytab ends the host with the specific Kerberos code in the run report
 * (`show`, NDJSON) rather than a bare `auth-failed`, and `lab down` stops the KDC.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LabState } from '../../../src/lab/fleet/supervisor.js';
import { readLabHost } from '../../../src/lab/host.js';
import { pidAlive } from '../../transport/ssh/helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(root, 'bin', 'svcfleet.js');
let dir: string;

function svcfleet(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, XDG_STATE_HOME: join(dir, 'state'), ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'lab', 'kerberos', 'kdc.js'))) throw new Error('dist/ is missing: run `npm run build`');
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-labkrb-'));
});
afterAll(async () => {
  if (existsSync(join(dir, 'lab.yml'))) svcfleet(['lab', 'down', '--inventory', 'lab.yml']);
  await rm(dir, { recursive: true, force: true });
});

describe('svcfleet lab up --auth kerberos', () => {
  test('refuses Kerberos over http before starting anything', () => {
    const r = svcfleet(['lab', 'up', '--hosts', '1', '--transport', 'winrm', '--winrm-scheme', 'http', '--auth', 'kerberos', '--inventory', 'x.yml']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--auth kerberos needs WinRM over https/);
    expect(existsSync(join(dir, 'x.yml'))).toBe(false);
    const bad = svcfleet(['lab', 'up', '--hosts', '1', '--transport', 'winrm', '--auth', 'kerberos', '--cbt-hardening', 'loose', '--inventory', 'x.yml']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--cbt-hardening must be strict, relaxed or none, not loose/);
    const ntlm = svcfleet(['lab', 'up', '--hosts', '1', '--transport', 'winrm', '--cbt-hardening', 'strict', '--inventory', 'x.yml']);
    expect(ntlm.status).toBe(1);
    expect(ntlm.stderr).toMatch(/--cbt-hardening applies to --auth kerberos only/);
    expect(existsSync(join(dir, 'x.yml'))).toBe(false);
  });

  test('the lab realm authenticates ping and apply; a stale keytab is reported as krb-bad-password; lab down stops the KDC', () => {
    const up = svcfleet([
      'lab',
      'up',
      '--hosts',
      '2',
      '--transport',
      'winrm',
      '--auth',
      'kerberos',
      '--cbt-hardening',
      'strict',
      '--inventory',
      'lab.yml',
      '--detach',
    ]);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    const labDir = join(dir, '.lab', 'lab');
    const state = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8')) as LabState;
    expect(state.kdcPid).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${state.kdcPid}/comm`, 'utf8').trim()).toBe('krb5kdc');
    const inventory = readFileSync(join(dir, 'lab.yml'), 'utf8');
    expect(inventory).toMatch(/auth: kerberos/);
    expect(inventory).toMatch(/user: Administrator@LAB\.TEST/);
    expect(inventory).not.toMatch(/password/); // keytab, no password anywhere

    const ping = svcfleet(['ping', '-i', 'lab.yml', '-l', 'all']);
    expect(ping.stdout).toMatch(/2\/2 hosts answered/);
    expect(ping.stdout + ping.stderr).not.toMatch(/without channel binding/);
    expect(ping.status).toBe(0);

    writeFileSync(join(dir, 'spec.yml'), 'service: MyGoService\nset:\n  description: kerberos was here\nverify: { running: true }\n');
    const apply = svcfleet(['apply', 'spec.yml', '-i', 'lab.yml', '-l', 'lab001', '--ui', 'plain']);
    expect(apply.status, apply.stderr + apply.stdout).toBe(0);
    const host = readLabHost(state.hosts[0]!.stateDir);
    expect(host.services.MyGoService!.description).toBe('kerberos was here');

    // The lab account gets a new key in the KDC: the controller's keytab is stale, kinit fails preauthentication.
    const kadmin = spawnSync('kadmin.local', ['-r', 'LAB.TEST', '-q', 'cpw -randkey Administrator'], {
      encoding: 'utf8',
      env: { ...process.env, KRB5_CONFIG: join(labDir, 'kdc', 'krb5.conf'), KRB5_KDC_PROFILE: join(labDir, 'kdc', 'kdc.conf') },
    });
    expect(kadmin.status, kadmin.stderr).toBe(0);
    const failed = svcfleet(['apply', 'spec.yml', '-i', 'lab.yml', '-l', 'lab002', '--ui', 'ndjson']);
    expect(failed.status).not.toBe(0);
    const events = failed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; host?: string; outcome?: string; reason?: { code: string; errorClass?: string }; runId?: string });
    const result = events.find((e) => e.host === 'lab002' && e.reason);
    expect(result?.reason).toMatchObject({ code: 'krb-bad-password', errorClass: 'auth-failed' });
    const runId = events.find((e) => e.runId)?.runId;
    expect(runId).toBeDefined();
    const show = svcfleet(['show', runId!]);
    expect(show.stdout).toMatch(/krb-bad-password/);

    const down = svcfleet(['lab', 'down', '--inventory', 'lab.yml']);
    expect(down.status).toBe(0);
    expect(pidAlive(state.kdcPid!)).toBe(false);
    expect(existsSync(labDir)).toBe(false);
  });
});
