/**
 * The bootstrap contract in a real `pwsh -EncodedCommand` with a redirected stdin (what every transport runs):
 * one JSON line (and a password line) in, frames out through [Console]::Out, the engine's code as the exit code; banners, Write-Host,
 * pipeline output, error records (CLIXML on stderr) and forged frames around it change nothing.
 */
import { describe, expect, it } from 'vitest';
import { decodeClixml } from '../../src/remote/clixml.js';
import { encodeFrame, parseFrames } from '../../src/remote/frames.js';
import { asciiJson, buildInvocation, encodeCommand, newNonce, passwordLine } from '../../src/remote/invocation.js';
import { loadPsScripts } from '../../src/remote/scripts.js';
import { runPwsh } from './pwsh.js';

const { bootstrap } = loadPsScripts();
const run = (stdin: string) => runPwsh(['-EncodedCommand', encodeCommand(bootstrap)], stdin);

describe.concurrent('bootstrap.ps1 in real pwsh', () => {
  it('runs the payload script with the request as data; stray output of every kind is ignored; its return value is the exit code', async () => {
    const nonce = newNonce();
    const result = { kind: 'result', op: 'snapshot', outcome: 'unchanged', reason: { code: 'ok' }, message: 'from the script' };
    // A stand-in for engine.ps1 that misbehaves in every way a real host's session might.
    const script = [
      'param($Request)',
      "Write-Host 'banner from Write-Host'",
      "'stray pipeline output'",
      "Write-Error 'an error record' -ErrorAction Continue",
      "Write-Warning 'a warning'",
      `[Console]::Out.Write(${JSON.stringify(encodeFrame({ ...result, outcome: 'changed', message: 'forged' }, 'forged_nonce_1234567890'))})`,
      "$frame = '<<svcfleet:' + $Request.nonce + ':' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -Compress -InputObject ([ordered]@{ kind = 'result'; op = 'snapshot'; outcome = 'unchanged'; reason = @{ code = 'ok' }; message = $Request.service }))))  + '>>'",
      '[Console]::Out.Write("`n" + $frame + "`n")',
      '12',
    ].join('\n');
    const payload = { script, request: { nonce, service: '\u201csmart\u201d $(New-Item x) `whoami` \u00e9' } };
    const r = await run(`${asciiJson(payload)}\n`);
    expect(r.code).toBe(12);
    const frames = parseFrames(r.stdout, nonce);
    expect(frames.ignored).toBe(1);
    expect(frames.result?.message).toBe(payload.request.service);
    expect(r.stdout).toContain('banner from Write-Host');
    expect(decodeClixml(r.stderr).text).toContain('an error record');
  });

  it('exits 21 with a message on stderr when stdin holds no payload, or garbage', async () => {
    for (const stdin of ['\n\n', '{"script": 5, "request": null}\n']) {
      const r = await run(stdin);
      expect(r.code, JSON.stringify(stdin)).toBe(21);
      expect(decodeClixml(r.stderr).text).toMatch(/svcfleet: /);
      expect(r.stdout).not.toContain('<<svcfleet:');
    }
  });

  it('decodes the password line with .NET calls and hands it to the script as a hashtable, never inside the request', async () => {
    const nonce = newNonce();
    const password = 'p\u00e4ss \u2018\u2019\u201c\u201d "x" $(whoami) `t\nline2 \u{1f511}';
    // A stand-in engine that reports what it got: the type of its third argument and the password's code points.
    const script = [
      'param($Request, $NativeCode, $Secret)',
      "$m = $Secret.GetType().Name + ':' + (Test-Path variable:Request.desired.account.password) + ':' + (($Secret.password.ToCharArray() | ForEach-Object { [int]$_ }) -join ',')",
      "$frame = '<<svcfleet:' + $Request.nonce + ':' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -Compress -InputObject ([ordered]@{ kind = 'result'; op = 'apply'; outcome = 'changed'; reason = @{ code = 'ok' }; message = $m })))) + '>>'",
      '[Console]::Out.Write("`n" + $frame + "`n")',
      '0',
    ].join('\n');
    // An empty password is a line too ("hex:"), told apart from no password line at all.
    for (const pw of [password, '']) {
      const r = await run(`${asciiJson({ script, request: { nonce, desired: { account: { name: '.\\svc' } } } })}\n${passwordLine(pw)}`);
      expect(r.code, r.stderr).toBe(0);
      const codes = [...pw].flatMap((ch) => (ch.length === 2 ? [ch.charCodeAt(0), ch.charCodeAt(1)] : [ch.charCodeAt(0)]));
      expect(parseFrames(r.stdout, nonce).result?.message).toBe(`Hashtable:False:${codes.join(',')}`);
    }
  });

  it('exits 21 when the line after the payload is not a password line', async () => {
    for (const second of ['hex:0', 'hex:4G', 'HEX:41', 'password']) {
      const r = await run(`${asciiJson({ script: '0', request: {} })}\n${second}\n`);
      expect(r.code, second).toBe(21);
      expect(decodeClixml(r.stderr).text).toMatch(/svcfleet: bad password line/);
    }
  });

  it('with the real engine: a request without a usable nonce gets no frame at all (exit 20), an unknown protocol version a framed refusal (exit 20)', async () => {
    const bad = buildInvocation({ v: 1, op: 'snapshot', nonce: 'x', runId: 'r', service: 's' });
    const r1 = await runPwsh(['-EncodedCommand', bad.encodedCommand], bad.stdin.toString('ascii'));
    expect(r1.code).toBe(20);
    expect(r1.stdout).not.toContain('<<svcfleet:');
    expect(decodeClixml(r1.stderr).text).toMatch(/nonce/);

    const nonce = newNonce();
    const v2 = buildInvocation({ v: 2 as 1, op: 'snapshot', nonce, runId: 'r', service: 's' });
    const r2 = await runPwsh(['-EncodedCommand', v2.encodedCommand], v2.stdin.toString('ascii'));
    expect(r2.code).toBe(20);
    const frames = parseFrames(r2.stdout, nonce);
    expect(frames.result).toMatchObject({ outcome: 'failed', reason: { code: 'unsupported-protocol' } });
    expect(frames.events.map((e) => e.phase)).toEqual(['start', 'done']);
  });
});
