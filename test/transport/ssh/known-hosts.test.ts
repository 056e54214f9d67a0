/**
 * known_hosts semantics (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), checked against files written by OpenSSH's own
 * ssh-keygen where the format matters (hashed names, `-F` lookups).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openSshBinary } from '../../../src/lab/ssh/openssh.js';
import { checkHostKey } from '../../../src/transport/ssh/host-key-policy.js';
import { hashKnownHostsName, judgeHostKey, KnownHosts, knownHostsName, parseKnownHosts } from '../../../src/transport/ssh/known-hosts.js';

function newKey(type: 'ed25519' | 'ecdsa' = 'ed25519'): { line: string; blob: Buffer } {
  const pair = type === 'ed25519' ? ssh2.utils.generateKeyPairSync('ed25519') : ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
  const [t, b64] = pair.public.trim().split(/\s+/);
  return { line: `${t} ${b64}`, blob: Buffer.from(b64 as string, 'base64') };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-kh-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('host names and patterns', () => {
  test('port 22 is the bare host, any other port the [host]:port form', () => {
    expect(knownHostsName('Web01.Example.COM', 22)).toBe('web01.example.com');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  test('wildcards, negation and case-insensitive matching', () => {
    const k = newKey();
    const entries = parseKnownHosts(`*.example.com,!bad.example.com,[10.0.0.?]:2222 ${k.line}\n`, 'kh');
    expect(entries).toHaveLength(1);
    const e = entries[0]!;
    expect(e.matches('web.example.com')).toBe(true);
    expect(e.matches('WEB.EXAMPLE.COM'.toLowerCase())).toBe(true);
    expect(e.matches('bad.example.com')).toBe(false);
    expect(e.matches('example.com')).toBe(false);
    expect(e.matches('[10.0.0.7]:2222')).toBe(true);
    expect(e.matches('[10.0.0.17]:2222')).toBe(false);
    expect(e.matches('10.0.0.7')).toBe(false);
  });

  test('comments, blank, malformed and unknown-marker lines are skipped', () => {
    const k = newKey();
    const text = [
      '# comment',
      '',
      'host-only-field',
      `@unknown-marker host ${k.line}`,
      `host ssh-ed25519 !!!notbase64`,
      `mismatched ecdsa-sha2-nistp256 ${k.line.split(' ')[1]}`,
      `good ${k.line} trailing comment`,
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    expect(entries.map((e) => e.line)).toEqual([7]);
  });
});

describe('verdicts', () => {
  const a = newKey();
  const b = newKey();
  const c = newKey('ecdsa');

  test('trusted, unknown, changed (same type or another type)', () => {
    const entries = parseKnownHosts(`[h]:2200 ${a.line}\n`, 'kh');
    expect(judgeHostKey(entries, '[h]:2200', a.blob).kind).toBe('trusted');
    expect(judgeHostKey(entries, '[other]:2200', a.blob).kind).toBe('unknown');
    expect(judgeHostKey(entries, '[h]:2200', b.blob).kind).toBe('changed');
    // A key of a type not on file for a known host is treated as changed: it could be a downgrade by a MITM.
    expect(judgeHostKey(entries, '[h]:2200', c.blob).kind).toBe('changed');
  });

  test('several key types for one host: each matching key is trusted', () => {
    const entries = parseKnownHosts(`h ${a.line}\nh ${c.line}\n`, 'kh');
    expect(judgeHostKey(entries, 'h', a.blob).kind).toBe('trusted');
    expect(judgeHostKey(entries, 'h', c.blob).kind).toBe('trusted');
  });

  test('@revoked refuses the key even when a plain line trusts it', () => {
    const entries = parseKnownHosts(`h ${a.line}\n@revoked * ${a.line}\n`, 'kh');
    const v = judgeHostKey(entries, 'h', a.blob);
    expect(v.kind).toBe('revoked');
  });

  test('@cert-authority alone is reported as unsupported, not ignored', () => {
    const entries = parseKnownHosts(`@cert-authority *.corp ${a.line}\n`, 'kh');
    expect(judgeHostKey(entries, 'web.corp', b.blob).kind).toBe('cert-authority-unsupported');
    expect(judgeHostKey(entries, 'web.other', b.blob).kind).toBe('unknown');
  });

  test('a hashed entry written by ssh-keygen -H matches; our hash equals the HMAC OpenSSH uses', async () => {
    const file = join(dir, 'hashed');
    await writeFile(file, `[127.0.0.1]:2201 ${a.line}\n`);
    execFileSync(openSshBinary('ssh-keygen'), ['-H', '-f', file], { stdio: 'pipe' });
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('|1|')).toBe(true);
    expect(text).not.toContain('127.0.0.1');
    const entries = parseKnownHosts(text, file);
    expect(entries[0]?.hashed).toBe(true);
    expect(judgeHostKey(entries, '[127.0.0.1]:2201', a.blob).kind).toBe('trusted');
    expect(judgeHostKey(entries, '[127.0.0.1]:2202', a.blob).kind).toBe('unknown');
    const field = text.split(' ')[0] as string;
    const salt = Buffer.from(field.split('|')[2] as string, 'base64');
    expect(hashKnownHostsName('[127.0.0.1]:2201', salt)).toBe(field);
  });
});

describe('recording (accept-new)', () => {
  test('records plain entries that OpenSSH finds with ssh-keygen -F', async () => {
    const file = join(dir, 'sub', 'known_hosts');
    const kh = new KnownHosts({ files: [file] });
    const k = newKey();
    expect((await kh.record('127.0.0.1', 2222, k.blob)).kind).toBe('trusted');
    expect((await kh.verify('127.0.0.1', 2222, k.blob)).kind).toBe('trusted');
    const found = execFileSync(openSshBinary('ssh-keygen'), ['-F', '[127.0.0.1]:2222', '-f', file]).toString();
    expect(found).toContain(k.line.split(' ')[1]);
  });

  test('concurrent writers (two stores, same file) record one key once and refuse a racing different key', async () => {
    const file = join(dir, 'race');
    const k1 = newKey();
    const k2 = newKey();
    const s1 = new KnownHosts({ files: [file] });
    const s2 = new KnownHosts({ files: [file] });
    const results = await Promise.all([
      s1.record('10.1.1.1', 22, k1.blob),
      s2.record('10.1.1.1', 22, k1.blob),
      s1.record('10.1.1.1', 22, k1.blob),
      s2.record('10.1.1.1', 22, k2.blob),
    ]);
    const text = await readFile(file, 'utf8');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1);
    const recorded = lines[0]!.includes(k1.line.split(' ')[1]!) ? 'k1' : 'k2';
    // Whichever key got there first is trusted; the other one is a CHANGED key, never silently added.
    expect(results.filter((r) => r.kind === 'changed').length).toBe(recorded === 'k1' ? 1 : 3);
    expect(existsLock(file)).toBe(false);
  });

  test('appends after a last line that lacks a newline', async () => {
    const file = join(dir, 'nonl');
    const a = newKey();
    const b = newKey();
    await writeFile(file, `other ${a.line}`);
    const kh = new KnownHosts({ files: [file] });
    await kh.record('h', 22, b.blob);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect((await kh.verify('other', 22, a.blob)).kind).toBe('trusted');
  });
});

function existsLock(file: string): boolean {
  try {
    execFileSync('test', ['-e', `${file}.lock`]);
    return true;
  } catch {
    return false;
  }
}

describe('unknown and changed host keys are told apart', () => {
  test('an unknown host is hostkey-unknown, a changed key hostkey-mismatch, with different messages', async () => {
    const known = newKey();
    const other = newKey();
    const file = join(dir, 'known_hosts.apart');
    await writeFile(file, `[10.0.0.1]:2222 ${known.line}\n`);
    const kh = new KnownHosts({ files: [file] });
    const unknown = await checkHostKey(kh, 'strict', '10.0.0.2', 2222, other.blob);
    expect([unknown?.errorClass, unknown?.phase]).toEqual(['hostkey-unknown', 'connect']);
    expect(unknown?.message).toMatch(/^UNKNOWN HOST KEY for \[10\.0\.0\.2\]:2222: ssh-ed25519 SHA256:\S+ is not in .*known_hosts\.apart/);
    const changed = await checkHostKey(kh, 'strict', '10.0.0.1', 2222, other.blob);
    expect(changed?.errorClass).toBe('hostkey-mismatch');
    expect(changed?.message).toMatch(/^HOST KEY CHANGED for \[10\.0\.0\.1\]:2222/);
    expect(await checkHostKey(kh, 'accept-new', '10.0.0.1', 2222, other.blob)).toMatchObject({ errorClass: 'hostkey-mismatch' });
    expect(await checkHostKey(kh, 'strict', '10.0.0.1', 2222, known.blob)).toBeNull();
  });
});
