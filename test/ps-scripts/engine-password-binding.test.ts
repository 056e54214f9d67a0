/**
 * The account password never reaches a PowerShell parameter binding. Module logging (event 4103) records every
 * command's parameter bindings, with each argument as text (docs/reference/powershell.md "What Windows logs about an
 * svcfleet run"); `Trace-Command -Name ParameterBinding` writes the same bindings, so the real bootstrap and engine
 * run here under it, against an emulated host, for an apply that sets a password account, and the trace must not
 * hold the password in any form the request carried it (plain or JSON-escaped).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost, stopLabHost } from '../../src/lab/host.js';
import { createLabRunner } from '../../src/lab/runner/index.js';
import { psQuote } from '../../src/lab/runner/spawn.js';
import { parseFrames } from '../../src/remote/frames.js';
import { asciiJson, buildInvocation, encodeCommand, newNonce } from '../../src/remote/invocation.js';
import { loadPsScripts } from '../../src/remote/scripts.js';
import { Secret } from '../../src/util/secret.js';
import { freePort } from './lab-rig.js';

// Unique, and hostile to every quoting layer on the way: quotes, smart quotes, a subexpression, a backtick, a newline.
const marker = randomUUID().replaceAll('-', '');
const PASSWORD = `pw-${marker} '"\u2018\u2019\u201c\u201d $(whoami) \`t back\`tick\nline2-${marker.slice(0, 12)}`;
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

let stateDir: string;
let traceDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'svcfleet-pwtrace-'));
  traceDir = mkdtempSync(join(tmpdir(), 'svcfleet-pwtrace-out-'));
  const port = await freePort();
  await initLabHost({
    stateDir,
    services: [{ name: 'PwSvc', binaryPath: `"C:\\Program Files\\App\\app.exe" --port ${port}` }],
    accounts: { '.\\svcuser': PASSWORD },
  });
}, 180_000);

afterAll(async () => {
  if (stateDir) {
    await stopLabHost(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  }
  if (traceDir) rmSync(traceDir, { recursive: true, force: true });
});

/**
 * The bootstrap exactly as sent, run as a script block whose input is the stdin lines, inside Trace-Command.
 * (Piping the lines into a script block binds no parameter, as powershell.exe's own stdin does not.)
 */
function tracedBootstrap(traceFile: string): string {
  const { bootstrap } = loadPsScripts();
  return [
    `$b = [ScriptBlock]::Create(${psQuote(bootstrap)})`,
    '$lines = @($input)',
    `Trace-Command -Name ParameterBinding -FilePath ${psQuote(traceFile)} -Expression { $lines | & $b }`,
  ].join('\n');
}

describe('the password and parameter binding (what module logging records)', () => {
  it('an apply that sets a password account binds the password to no command or function parameter, and works', async () => {
    const traceFile = join(traceDir, 'binding.txt');
    const nonce = newNonce();
    const invocation = buildInvocation({
      v: 1,
      op: 'apply',
      nonce,
      runId: 'pw-trace-1',
      service: 'PwSvc',
      desired: { account: { name: '.\\svcuser', password: new Secret(PASSWORD) } },
    });
    const runner = createLabRunner({ mode: 'spawn' });
    const r = await runner.run(stateDir, { encodedCommand: encodeCommand(tracedBootstrap(traceFile)), stdin: invocation.stdin }, { commandMs: 180_000 });
    const frames = parseFrames(r.stdout, nonce);
    const where = `exit ${r.exitCode}: ${frames.result?.message ?? r.stderr.slice(0, 2000)}`;
    expect(frames.result?.outcome, where).toBe('changed');
    expect(r.exitCode, where).toBe(0);

    // The emulated SCM holds the account with this very password (the lab keeps only its hash).
    const svc = readLabHost(stateDir).services.PwSvc!;
    expect(svc.account).toBe('.\\svcuser');
    expect(svc.passwordSha256).toBe(sha(PASSWORD));

    const trace = readFileSync(traceFile, 'utf8');
    // The trace did record the run's bindings (the engine's CIM call among them)...
    expect(trace).toContain('BIND arg');
    expect(trace).toContain('Invoke-CimMethod');
    expect(trace).toContain('svcuser');
    // ...and the password in none of its forms.
    // The engine's logon check ran (through the emulated LogonUser) and was traced too.
    expect(trace).toContain('Invoke-LabLogonUser');
    // Any piece of it: each half of the unique part names the binding that leaked it.
    const pieces = [marker.slice(0, 16), marker.slice(16)];
    expect(trace.split('\n').filter((l) => pieces.some((p) => l.includes(p)))).toEqual([]);
    for (const form of [PASSWORD, JSON.stringify(PASSWORD).slice(1, -1), asciiJson(PASSWORD).slice(1, -1), marker]) {
      expect(trace.includes(form), `the trace holds ${JSON.stringify(form)}`).toBe(false);
    }
  }, 240_000);

  it('a password inside the request (the line a cmdlet parses) is refused before anything changes', async () => {
    const nonce = newNonce();
    const inv = buildInvocation({ v: 1, op: 'apply', nonce, runId: 'pw-inline-1', service: 'PwSvc', desired: { account: { name: '.\\other' } } });
    const stdin = inv.stdin.toString('ascii').replace('"account":{"name":".\\\\other"}', '"account":{"name":".\\\\other","password":"inline"}');
    expect(stdin).toContain('"password":"inline"');
    const before = readLabHost(stateDir).services.PwSvc!;
    const r = await createLabRunner({ mode: 'spawn' }).run(stateDir, { ...inv, stdin: Buffer.from(stdin, 'ascii') }, { commandMs: 180_000 });
    const result = parseFrames(r.stdout, nonce).result;
    expect(result).toMatchObject({ outcome: 'failed', reason: { code: 'bad-request' } });
    expect(result?.message).toMatch(/stdin line of its own/);
    expect(readLabHost(stateDir).services.PwSvc!.account).toBe(before.account);
  }, 240_000);
});
