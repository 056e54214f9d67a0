/**
 * Ansible Vault without Ansible: the format (round trips, tampering, labels, padding), the password sources
 * (files, scripts, client scripts, environment, prompt) and vaulted values in inventories and vars files.
 * test/inventory/ansible/vault-compat.test.ts checks the same against Debian's ansible-vault and ansible-inventory.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listInventory } from '../../src/inventory/list.js';
import { loadInventory, readInventory } from '../../src/inventory/load.js';
import { decryptVault, encryptVault, parseVaultEnvelope, VaultError, type VaultPassword } from '../../src/inventory/vault.js';
import { isClientScript, loadVaultPasswords, splitVaultId } from '../../src/inventory/vault-passwords.js';
import { Secret } from '../../src/util/secret.js';
import { expectInputError, expectInputErrorAsync, tmpTree } from './helpers.js';

const pw = (password: string, label = 'default'): VaultPassword => ({ label, password: new Secret(password), source: 'test' });

describe('the vault format', () => {
  it('round-trips 1.1 and 1.2 envelopes, in 80-column hex lines', () => {
    for (const label of [undefined, 'prod']) {
      const text = encryptVault('ansible_password: Pässw0rd\n', new Secret('hunter2'), label ? { label } : {});
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).toBe(label ? '$ANSIBLE_VAULT;1.2;AES256;prod' : '$ANSIBLE_VAULT;1.1;AES256');
      expect(lines.slice(1, -1).every((l) => l.length === 80 && /^[0-9a-f]+$/.test(l))).toBe(true);
      expect(lines.at(-1)!.length).toBeLessThanOrEqual(80);
      const out = decryptVault(text, [pw('hunter2', label ?? 'default')]);
      expect(out.plaintext.toString('utf8')).toBe('ansible_password: Pässw0rd\n');
    }
  });

  it('pads a plaintext of a whole block with a whole block (PKCS#7)', () => {
    const text = encryptVault('0123456789abcdef', new Secret('p'));
    expect(parseVaultEnvelope(text).ciphertext.length).toBe(32);
    expect(decryptVault(text, [pw('p')]).plaintext.toString()).toBe('0123456789abcdef');
    expect(decryptVault(encryptVault('', new Secret('p')), [pw('p')]).plaintext.length).toBe(0);
  });

  it('refuses a wrong password and any altered byte (HMAC), before decrypting', () => {
    const text = encryptVault('secret', new Secret('right'));
    expect(() => decryptVault(text, [pw('wrong')])).toThrow(/HMAC check failed/);
    const env = parseVaultEnvelope(text);
    for (const part of ['salt', 'hmac', 'ciphertext'] as const) {
      const altered = { ...env, [part]: Buffer.from(env[part]) };
      altered[part][0]! ^= 1;
      const body = Buffer.from([altered.salt.toString('hex'), altered.hmac.toString('hex'), altered.ciphertext.toString('hex')].join('\n')).toString('hex');
      const err = (() => {
        try {
          decryptVault(`$ANSIBLE_VAULT;1.1;AES256\n${body}\n`, [pw('right')]);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, part).toBeInstanceOf(VaultError);
      expect((err as VaultError).reason).toBe('no-match');
    }
  });

  it('tries the passwords of the envelope label first, then the others; names a label not given', () => {
    const text = encryptVault('x', new Secret('prod-pass'), { label: 'prod' });
    expect(decryptVault(text, [pw('nope'), pw('prod-pass', 'prod')]).label).toBe('prod');
    // The label is not authenticated: a password given under another label still opens it (Ansible's default).
    expect(decryptVault(text, [pw('prod-pass', 'dev')]).label).toBe('dev');
    expect(() => decryptVault(text, [pw('nope', 'dev')])).toThrow(/vault id "prod", which was not given/);
    expect(() => decryptVault(text, [])).toThrow(/no vault password was given/);
  });

  it('names damaged envelopes', () => {
    expect(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.3;AES256\n00\n')).toThrow(/version/);
    expect(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.1;AES128\n00\n')).toThrow(/cipher/);
    expect(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.2;AES256\n00\n')).toThrow(/label/);
    expect(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.1;AES256\nzz\n')).toThrow(/hexadecimal/);
    expect(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.1;AES256\n6162\n')).toThrow(/damaged/);
  });
});

describe('vault passwords', () => {
  it('splits label@source like Ansible', () => {
    expect(splitVaultId('prod@/x/y')).toEqual({ label: 'prod', source: '/x/y' });
    expect(splitVaultId('/x/y')).toEqual({ label: 'default', source: '/x/y' });
    expect(splitVaultId('a@b@c')).toEqual({ label: 'a', source: 'b@c' });
    expect(isClientScript('/x/keyring-client.py')).toBe(true);
    expect(isClientScript('/x/keyring-client')).toBe(true);
    expect(isClientScript('/x/client.sh')).toBe(false);
  });

  it('reads files (stripped), runs scripts (stdout), passes --vault-id to client scripts, in Ansible order', async () => {
    const dir = tmpTree({
      'plain.txt': '  file-pass \n\n',
      'script.sh': '#!/bin/sh\n[ $# -eq 0 ] || exit 9\nprintf "script-pass\\r\\n"\n',
      'keys-client.sh': '#!/bin/sh\n[ "$1" = --vault-id ] || exit 9\n[ "$2" = prod ] && { echo client-pass-$2; exit 0; }\necho "no such id $2" >&2\nexit 2\n',
      'env.txt': 'env-pass\n',
    });
    chmodSync(join(dir, 'script.sh'), 0o755);
    chmodSync(join(dir, 'keys-client.sh'), 0o755);
    const got = await loadVaultPasswords({
      ids: ['dev@plain.txt', `prod@${join(dir, 'keys-client.sh')}`],
      passwordFiles: ['script.sh'],
      env: { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, 'env.txt') },
      cwd: dir,
    });
    expect(got.map((p) => [p.label, p.password.reveal()])).toEqual([
      ['dev', 'file-pass'],
      ['prod', 'client-pass-prod'],
      ['default', 'script-pass'],
      ['default', 'env-pass'],
    ]);
    await expectInputErrorAsync(
      () => loadVaultPasswords({ ids: [`stage@${join(dir, 'keys-client.sh')}`] }),
      { file: join(dir, 'keys-client.sh') },
      /no secret for vault id stage: no such id stage/,
    );
  });

  it('refuses a missing, empty or failing password source, and @prompt without a terminal', async () => {
    const dir = tmpTree({ 'empty.txt': ' \n', 'fail.sh': '#!/bin/sh\necho oops >&2\nexit 3\n', 'slow.sh': '#!/bin/sh\nsleep 5\n' });
    chmodSync(join(dir, 'fail.sh'), 0o755);
    chmodSync(join(dir, 'slow.sh'), 0o755);
    await expectInputErrorAsync(() => loadVaultPasswords({ passwordFiles: [join(dir, 'nope.txt')] }), { file: join(dir, 'nope.txt') }, /ENOENT/);
    await expectInputErrorAsync(() => loadVaultPasswords({ passwordFiles: [join(dir, 'empty.txt')] }), { file: join(dir, 'empty.txt') }, /empty/);
    await expectInputErrorAsync(() => loadVaultPasswords({ passwordFiles: [join(dir, 'fail.sh')] }), { file: join(dir, 'fail.sh') }, /code 3: oops/);
    await expectInputErrorAsync(() => loadVaultPasswords({ passwordFiles: [join(dir, 'slow.sh')], scriptTimeoutMs: 300 }), {}, /within 0.3 s/);
    await expectInputErrorAsync(() => loadVaultPasswords({ ids: ['prod@prompt'] }), { field: '--vault-id' }, /terminal/);
    const asked: string[] = [];
    const got = await loadVaultPasswords({
      ids: ['prod@prompt'],
      env: {},
      prompt: async (q) => {
        asked.push(q);
        return 'typed';
      },
    });
    expect(asked).toEqual(['Vault password (prod)']);
    expect(got[0]!.password.reveal()).toBe('typed');
  });
});

describe('vaulted inventories and vars files', () => {
  const pass = [pw('fixture-pass')];

  function tree(): string {
    const secret = new Secret('fixture-pass');
    const inline = (v: string): string =>
      `!vault |\n${encryptVault(v, secret)
        .trimEnd()
        .split('\n')
        .map((l) => `        ${l}`)
        .join('\n')}`;
    return tmpTree({
      'hosts.ini': '[win]\nw1 ansible_host=10.0.0.1\nw2\n[win:vars]\nansible_connection=winrm\n',
      'group_vars/win.yml': encryptVault('ansible_user: admin\nansible_password: S3cret!\nansible_port: 5986\n', secret),
      'host_vars/w1.yml': `site: north\napi_token: ${inline('tok-123')}\nnote: ${inline('plain words')}\n`,
    });
  }

  it('decrypts whole files and !vault values into Secrets; connections get the plaintext', () => {
    const dir = tree();
    const inv = loadInventory({ sources: join(dir, 'hosts.ini'), vault: pass });
    const w1 = inv.hosts.find((h) => h.name === 'w1')!;
    expect(w1.connection).toMatchObject({ transport: 'winrm', address: '10.0.0.1', user: 'admin', port: 5986 });
    expect(w1.connection.password!.reveal()).toBe('S3cret!');
    expect(w1.vars.api_token).toBeInstanceOf(Secret);
    expect((w1.vars.api_token as Secret).reveal()).toBe('tok-123');
    expect(w1.vars.note).toBeInstanceOf(Secret);
    expect(w1.vars.ansible_user).toBeInstanceOf(Secret);
    const listed = JSON.stringify(listInventory(readInventory({ sources: join(dir, 'hosts.ini'), vault: pass })));
    for (const plain of ['S3cret!', 'tok-123', 'plain words', 'admin']) expect(listed).not.toContain(plain);
    expect(inv.warnings).toEqual([]);
  });

  it('a wrong password, no password or an altered file stops at the file and line', () => {
    const dir = tree();
    const src = join(dir, 'hosts.ini');
    expectInputError(() => loadInventory({ sources: src, vault: [pw('wrong')] }), { file: join(dir, 'group_vars/win.yml'), line: 1 }, /HMAC/);
    expectInputError(() => loadInventory({ sources: src }), { file: join(dir, 'group_vars/win.yml'), line: 1 }, /no vault password was given/);
    // Alter one ciphertext digit of the inline value.
    const hv = join(dir, 'host_vars/w1.yml');
    const lines = readFileSync(hv, 'utf8').split('\n');
    // Each pair of the envelope's hex is one hex digit of the body ('30'-'39', '61'-'66'): change one to another,
    // in the ciphertext (the envelope's end). The last line can be short and hold no digit that can be raised
    // (only '39'/'66' pairs, or just the tail): look upwards from it for one that does.
    const digit = /^(3[0-8]|6[1-5])$/;
    let last = lines.findIndex((l) => l.startsWith('note:')) - 1;
    while (!(lines[last]!.trim().match(/../g) ?? []).some((p) => digit.test(p))) last--;
    const pairs = lines[last]!.trim().match(/../g)!;
    const j = pairs.findLastIndex((p) => digit.test(p));
    pairs[j] = `${pairs[j]![0]}${Number(pairs[j]![1]) + 1}`;
    lines[last] = `        ${pairs.join('')}`;
    writeFileSync(hv, lines.join('\n'));
    expectInputError(() => loadInventory({ sources: src, vault: pass }), { file: hv, line: 2 }, /!vault value api_token: .*HMAC/);
  });

  it('warns on a literal password in an INI inventory, not on one from a vaulted file', () => {
    const dir = tmpTree({ 'hosts.ini': '[g]\nh1 ansible_password=s3cret\n[g:vars]\nansible_winrm_password=x\n' });
    const warnings = loadInventory({ sources: join(dir, 'hosts.ini') }).warnings;
    expect(warnings).toEqual([
      `${join(dir, 'hosts.ini')}:2: ansible_password is a literal password in an INI inventory; keep it in a vault-encrypted group_vars/ or host_vars/ file instead`,
      `${join(dir, 'hosts.ini')}:4: ansible_winrm_password is a literal password in an INI inventory; keep it in a vault-encrypted group_vars/ or host_vars/ file instead`,
    ]);
  });

  it('reads a whole vault-encrypted YAML inventory; its variables are Secrets, its names are not', () => {
    const dir = tmpTree({ 'inv.yml': encryptVault('win:\n  hosts:\n    w9:\n      ansible_password: pw9\n      site: east\n', new Secret('fixture-pass')) });
    const inv = loadInventory({ sources: join(dir, 'inv.yml'), vault: pass });
    expect(inv.hosts.map((h) => h.name)).toEqual(['w9']);
    expect(inv.hosts[0]!.connection.password!.reveal()).toBe('pw9');
    expect(inv.hosts[0]!.vars.site).toBeInstanceOf(Secret);
  });
});
