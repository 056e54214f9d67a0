/**
 * Lab key generation: ssh2 1.17 drops a leading zero byte of ed25519 public keys (about 1 key in 256), which
 * OpenSSH then refuses to load; a 200-host lab hit it every time. Keys the lab writes must always load in OpenSSH.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { generateLabKeyPair, writeKeyPair } from '../../../src/lab/ssh/keys.js';
import { openSshBinary } from '../../../src/lab/ssh/openssh.js';

test('1000 ed25519 lab keys all have a 32-byte public key', () => {
  for (let i = 0; i < 1000; i++) {
    const blob = Buffer.from(generateLabKeyPair('ed25519', 'k').public.split(' ')[1]!, 'base64');
    expect(blob.length).toBe(51);
  }
});

test('keys written by the lab load in ssh-keygen and match their .pub', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'svcfleet-keys-'));
  try {
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const k = await writeKeyPair(join(dir, type), `lab ${type}`, type);
      const derived = execFileSync(openSshBinary('ssh-keygen'), ['-y', '-f', k.privatePath]).toString().trim();
      expect(derived.split(' ').slice(0, 2)).toEqual(k.publicLine.split(' ').slice(0, 2));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
