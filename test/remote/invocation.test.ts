/** What goes on the wire: the static bootstrap as -EncodedCommand and one ASCII JSON payload line. */
import { describe, expect, it } from 'vitest';
import { asciiJson, buildInvocation, buildPayload, newNonce, passwordLine, withEngineScript } from '../../src/remote/invocation.js';
import { loadPsScripts } from '../../src/remote/scripts.js';
import { redactRequest } from '../../src/remote/redact.js';
import { remoteRequestSchema } from '../../src/remote/schema.js';
import type { Payload, RemoteRequest } from '../../src/remote/protocol.js';
import { Secret } from '../../src/util/secret.js';

const password = 'P\u00e4ss \u2018w\u2019 "x" $(y)';
const request = {
  v: 1 as const,
  op: 'apply' as const,
  nonce: newNonce(),
  runId: 'run-1',
  service: 'App\u2603',
  desired: { description: '\u201csmart\u201d \u00e9 \u{1f389}\nline', account: { name: '.\\svc', password: new Secret(password) } },
};

describe('buildInvocation', () => {
  const inv = buildInvocation(request);
  const [line = '', pwLine = '', ...more] = inv.stdin.toString('latin1').split('\n');

  it('runs the static bootstrap, well under the ~2 KB that fits a cmd.exe command line once encoded', () => {
    const { bootstrap } = loadPsScripts();
    expect(Buffer.from(inv.encodedCommand, 'base64').toString('utf16le')).toBe(bootstrap);
    expect(Buffer.byteLength(bootstrap, 'utf8')).toBeLessThan(2048);
    expect(inv.encodedCommand.length).toBeLessThan(8191 - 100);
  });

  it('carries the line in pieces too: the constant head is one shared Buffer, never copied per invocation', () => {
    const other = buildInvocation({ ...request, nonce: newNonce() });
    expect(inv.stdinParts).toHaveLength(2);
    expect(Buffer.concat(inv.stdinParts!).equals(inv.stdin)).toBe(true);
    expect(other.stdinParts![0]).toBe(inv.stdinParts![0]);
    expect(other.stdinParts![1]!.length).toBeLessThan(4096);
  });

  it('sends one line of pure ASCII JSON: no code page can change a byte', () => {
    expect(/^[\x20-\x7e]*$/.test(line)).toBe(true);
    const payload = JSON.parse(line) as Payload;
    expect(payload.request.desired?.description).toBe(request.desired.description);
    expect(payload.request.service).toBe(request.service);
    expect(payload.script).toBe(loadPsScripts().engine);
  });

  it('keeps the password out of the JSON line: it is revealed once, on a second line of its own, as hex of its UTF-8', () => {
    const payload = JSON.parse(line) as Payload;
    expect(payload.request.desired?.account).toEqual({ name: '.\\svc' });
    expect(line).not.toContain(asciiJson(password).slice(1, -1));
    expect(line).not.toContain('P\u00e4ss');
    expect(pwLine).toBe(`hex:${Buffer.from(password, 'utf8').toString('hex')}`);
    expect(Buffer.from(pwLine.slice(4), 'hex').toString('utf8')).toBe(password);
    expect(more).toEqual(['']);
    expect(passwordLine('')).toBe('hex:\n');
  });

  it('sends no second line without a password, and a request without one is the documented payload, byte for byte', () => {
    const { desired: _desired, ...bare } = request;
    const plain = buildInvocation(bare);
    expect(plain.stdin.toString('ascii')).toBe(`${asciiJson(buildPayload(bare))}\n`);
    expect(buildPayload(request).request.desired?.account).toEqual({ name: '.\\svc' });
  });

  it('swaps the engine text and keeps every other byte, the password line too', () => {
    const swapped = withEngineScript(inv, 'param($Request) 1');
    const [l1 = '', ...rest] = swapped.stdin.toString('latin1').split('\n');
    expect(JSON.parse(l1)).toEqual({ ...(JSON.parse(line) as Payload), script: 'param($Request) 1' });
    expect(Object.keys(JSON.parse(l1) as object)).toEqual(['script', 'native', 'request']);
    expect(rest).toEqual([pwLine, '']);
  });

  it('makes a fresh 32-character nonce per call', () => {
    const a = newNonce();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(newNonce()).not.toBe(a);
  });

  it('never repeats a nonce, across many calls (random bytes are drawn in batches)', () => {
    const many = Array.from({ length: 2000 }, () => newNonce());
    expect(new Set(many).size).toBe(many.length);
    for (const n of many) expect(n).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});

describe('redactRequest', () => {
  it('replaces the password for logs and rendering, whether it is a Secret or a string', () => {
    for (const pw of [new Secret(password), password]) {
      const r = redactRequest({ ...request, desired: { ...request.desired, account: { name: '.\\svc', password: pw } } });
      expect(r.desired?.account).toEqual({ name: '.\\svc', password: '[REDACTED]' });
      expect(JSON.stringify(r)).not.toContain('P\u00e4ss');
    }
    const plain: RemoteRequest = { v: 1, op: 'snapshot', nonce: newNonce(), runId: 'r', service: 's' };
    expect(redactRequest(plain)).toEqual(plain);
  });
});

describe('remoteRequestSchema', () => {
  const base = { v: 1, op: 'apply', nonce: newNonce(), runId: 'r1', service: 'Svc' };
  it('refuses environment names that differ only in case (Windows names are case-insensitive; PowerShell cannot even parse them)', () => {
    const r = remoteRequestSchema.safeParse({ ...base, desired: { environment: { Path: 'a', PATH: 'b' } } });
    expect(r.success).toBe(false);
  });
  it('refuses unknown settings, bad nonces and service names with slashes', () => {
    expect(remoteRequestSchema.safeParse({ ...base, desired: { colour: 'red' } }).success).toBe(false);
    expect(remoteRequestSchema.safeParse({ ...base, nonce: 'short' }).success).toBe(false);
    expect(remoteRequestSchema.safeParse({ ...base, service: 'a/b' }).success).toBe(false);
    expect(remoteRequestSchema.safeParse(base).success).toBe(true);
  });
});

describe('buildInvocation caching', () => {
  it('sends exactly the bytes of the documented payload, call after call', () => {
    for (const service of ['A', 'Ünïcødé “smart”']) {
      const request = { v: 1 as const, op: 'snapshot' as const, nonce: 'n'.repeat(32), runId: 'r', service };
      const inv = buildInvocation(request);
      expect(inv.stdin.toString('ascii')).toBe(`${asciiJson(buildPayload(request))}\n`);
    }
  });
});
