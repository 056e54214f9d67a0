/**
 * Ansible Vault against Debian's ansible-core: files and strings encrypted by `ansible-vault encrypt` /
 * `encrypt_string` (1.1, and 1.2 with a vault id label) decrypt to the same bytes in svcfleet; what svcfleet
 * encrypts, `ansible-vault decrypt` opens; and a vaulted inventory (INI with a vault-encrypted group_vars file,
 * !vault values in host_vars and in a YAML inventory) lists like `ansible-inventory --list --vault-id …`.
 *
 * Deliberate differences the comparison accounts for (docs/inventory.md, "Ansible Vault"):
 *   - every value decrypted from a vault prints as [REDACTED]: ansible-inventory prints a whole encrypted file's
 *     values in clear and a `!vault` value as {"__ansible_vault": CIPHERTEXT}; both are replaced before comparing;
 *   - svcfleet opens every vaulted value when it reads a file, so a wrong password is an error even for a value
 *     ansible-inventory would only print encrypted.
 * The plaintext of `!vault` values is compared with what Ansible's debug module prints (no host contacted).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listInventory } from '../../../src/inventory/list.js';
import { loadInventory, readInventory } from '../../../src/inventory/load.js';
import { decryptVault, encryptVault, type VaultPassword } from '../../../src/inventory/vault.js';
import { loadVaultPasswords } from '../../../src/inventory/vault-passwords.js';
import { InputError } from '../../../src/util/errors.js';
import { Secret } from '../../../src/util/secret.js';
import { runCli } from '../run-cli.js';
import { makeOracle, requireAnsible, type Oracle } from './oracle.js';

let oracle: Oracle;
let dir: string;
let passwords: VaultPassword[];
const GROUP_VARS = 'ansible_user: admin\nansible_password: "S3cret! with spaces"\nansible_port: 5986\nansible_winrm_transport: ntlm\n';
const PROD_VARS = 'db_password: prod-db\nregion: eu-west\n';

async function vault(args: string[]): Promise<string> {
  const r = await oracle.run('ansible-vault', args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** `ansible-vault encrypt_string` output (`name: !vault |` block), indented for a YAML mapping at `indent`. */
async function encryptString(value: string, name: string, id: string, indent: string): Promise<string> {
  const out = await vault(['encrypt_string', '--vault-id', id, '--name', name, '--', value]);
  return out
    .trimEnd()
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

beforeAll(async () => {
  requireAnsible();
  oracle = makeOracle();
  dir = join(oracle.dir, 'inv');
  mkdirSync(join(dir, 'group_vars'), { recursive: true });
  mkdirSync(join(dir, 'host_vars'), { recursive: true });
  writeFileSync(join(oracle.dir, 'default.txt'), 'fixture-pass\n');
  writeFileSync(join(oracle.dir, 'prod.txt'), 'prod-pass\n');
  const def = `default@${join(oracle.dir, 'default.txt')}`;
  const prod = `prod@${join(oracle.dir, 'prod.txt')}`;
  writeFileSync(join(dir, 'hosts.ini'), '[win]\nw1 ansible_host=10.0.0.1\nw2\n[win:vars]\nansible_connection=winrm\n[prod:children]\nwin\n');
  writeFileSync(join(dir, 'group_vars/win.yml'), GROUP_VARS);
  await vault(['encrypt', '--vault-id', def, join(dir, 'group_vars/win.yml')]);
  writeFileSync(join(dir, 'group_vars/prod.yml'), PROD_VARS);
  await vault(['encrypt', '--vault-id', prod, join(dir, 'group_vars/prod.yml')]);
  writeFileSync(
    join(dir, 'host_vars/w1.yml'),
    `site: north\n${await encryptString('tok-123', 'api_token', prod, '')}\n${await encryptString('ünïcode "quoted" value\nsecond line', 'note', def, '')}\n`,
  );
  writeFileSync(
    join(dir, 'more.yml'),
    `linux:\n  hosts:\n    l1:\n${await encryptString('l1-pass', 'ansible_password', def, '      ')}\n      ansible_connection: ssh\n  vars:\n${await encryptString('sh4red-value', 'shared_secret', prod, '    ')}\n`,
  );
  passwords = await loadVaultPasswords({ ids: [def, prod], env: {} });
}, 120_000);
afterAll(() => oracle?.dispose());

describe('the vault format against ansible-vault', () => {
  it('decrypts files encrypted by ansible-vault encrypt (1.1 and 1.2) to the same bytes', () => {
    const win = readFileSync(join(dir, 'group_vars/win.yml'), 'utf8');
    const prod = readFileSync(join(dir, 'group_vars/prod.yml'), 'utf8');
    expect(win.split('\n')[0]).toBe('$ANSIBLE_VAULT;1.1;AES256');
    expect(prod.split('\n')[0]).toBe('$ANSIBLE_VAULT;1.2;AES256;prod');
    expect(decryptVault(win, passwords).plaintext.toString('utf8')).toBe(GROUP_VARS);
    expect(decryptVault(prod, passwords)).toMatchObject({ label: 'prod' });
    expect(decryptVault(prod, passwords).plaintext.toString('utf8')).toBe(PROD_VARS);
  });

  it('writes what ansible-vault decrypt opens (1.1 and 1.2)', async () => {
    for (const [label, file] of [
      ['default', 'default.txt'],
      ['prod', 'prod.txt'],
    ] as const) {
      const password = readFileSync(join(oracle.dir, file), 'utf8').trim();
      const plain = `from svcfleet, label ${label}: é\n${'x'.repeat(100)}\n`;
      const path = join(oracle.dir, `ours-${label}.vault`);
      writeFileSync(path, encryptVault(plain, new Secret(password), { label }));
      expect(await vault(['decrypt', '--vault-id', `${label}@${join(oracle.dir, file)}`, '--output', '-', path])).toBe(plain);
    }
  });

  it('opens !vault values from encrypt_string to the plaintext Ansible sees (debug module, no host contacted)', async () => {
    const src = [join(dir, 'hosts.ini'), join(dir, 'more.yml')];
    const r = await oracle.run('ansible', [
      'all',
      '-o',
      '-m',
      'debug',
      '-a',
      'msg={{ [api_token|default(""), note|default(""), shared_secret|default("")] }}',
      ...src.flatMap((s) => ['-i', s]),
      ...passwords.flatMap((p) => ['--vault-id', `${p.label}@${p.source}`]),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const theirs = new Map<string, string[]>();
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+) \| SUCCESS => (\{.*\})$/.exec(line);
      if (m) theirs.set(m[1]!, (JSON.parse(m[2]!) as { msg: string[] }).msg);
    }
    const data = readInventory({ sources: src, vault: passwords });
    const inv = loadInventory({ sources: src, vault: passwords });
    const reveal = (v: unknown): string => (v === undefined ? '' : v instanceof Secret ? v.reveal() : String(v));
    expect(theirs.size).toBe(3);
    for (const h of inv.hosts) {
      expect([reveal(h.vars.api_token), reveal(h.vars.note), reveal(h.vars.shared_secret)], h.name).toEqual(theirs.get(h.name));
    }
    expect(theirs.get('w1')![1]).toBe('ünïcode "quoted" value\nsecond line');
    expect(inv.hosts.find((h) => h.name === 'l1')!.connection.password!.reveal()).toBe('l1-pass');
    expect(data.model.hosts.size).toBe(3);
  });
});

/** Replace, in the oracle's --list, values svcfleet prints as [REDACTED]: !vault objects and the given keys. */
function redact(doc: unknown, keys: readonly string[]): unknown {
  if (Array.isArray(doc)) return doc.map((d) => redact(d, keys));
  if (doc && typeof doc === 'object') {
    if ('__ansible_vault' in doc) return '[REDACTED]';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) out[k] = keys.includes(k) ? '[REDACTED]' : redact(v, keys);
    return out;
  }
  return doc;
}

describe('vaulted inventories against ansible-inventory', () => {
  it('--list equals ansible-inventory --list --vault-id … (vault-decrypted values redacted)', async () => {
    const src = [join(dir, 'hosts.ini'), join(dir, 'more.yml')];
    const ids = passwords.flatMap((p) => ['--vault-id', `${p.label}@${p.source}`]);
    const [list, exported] = await Promise.all(
      [[], ['--export']].map(async (extra) => {
        const r = await oracle.run('ansible-inventory', [...src.flatMap((s) => ['-i', s]), '--list', ...extra, ...ids]);
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as unknown;
      }),
    );
    // Every key of the two encrypted group_vars files is a secret; so is ansible_password everywhere.
    const keys = ['ansible_user', 'ansible_password', 'ansible_port', 'ansible_winrm_transport', 'db_password', 'region'];
    const data = readInventory({ sources: src, vault: passwords });
    const ours = JSON.stringify(listInventory(data));
    expect(JSON.parse(ours)).toEqual(redact(list, keys));
    expect(JSON.parse(JSON.stringify(listInventory(data, { export: true })))).toEqual(redact(exported, keys));
    for (const plain of ['S3cret! with spaces', 'prod-db', 'eu-west', 'tok-123', 'l1-pass', 'sh4red-value']) expect(ours).not.toContain(plain);
  });

  it('svcfleet inventory --list --vault-password-file … --vault-id … equals ansible-inventory with the same flags', async () => {
    const flags = ['--vault-password-file', join(oracle.dir, 'default.txt'), '--vault-id', `prod@${join(oracle.dir, 'prod.txt')}`];
    const src = ['-i', join(dir, 'hosts.ini'), '-i', join(dir, 'more.yml')];
    const theirs = await oracle.run('ansible-inventory', [...src, '--list', ...flags]);
    expect(theirs.code, theirs.stderr).toBe(0);
    const cli = await runCli(['inventory', ...src, '--list', ...flags]);
    expect(cli.code, cli.stderr).toBe(0);
    const keys = ['ansible_user', 'ansible_password', 'ansible_port', 'ansible_winrm_transport', 'db_password', 'region'];
    expect(JSON.parse(cli.stdout)).toEqual(redact(JSON.parse(theirs.stdout), keys));
    expect(cli.stdout).not.toContain('S3cret! with spaces');
  });

  it('a wrong password or an altered file fails in both; svcfleet names the file and line', async () => {
    const wrong = join(oracle.dir, 'wrong.txt');
    writeFileSync(wrong, 'not-it\n');
    const src = join(dir, 'hosts.ini');
    const r = await oracle.run('ansible-inventory', ['-i', src, '--list', '--vault-password-file', wrong]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Decryption failed/);
    const bad = await loadVaultPasswords({ passwordFiles: [wrong], env: {} });
    const err = (() => {
      try {
        loadInventory({ sources: src, vault: bad });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).format()).toMatch(new RegExp(`^${join(dir, 'group_vars')}/(win|prod).yml:1: vault-encrypted file: cannot decrypt`));

    // One flipped ciphertext digit in a copy: the HMAC check fails for Ansible and for svcfleet.
    const copy = join(oracle.dir, 'tampered');
    mkdirSync(join(copy, 'group_vars'), { recursive: true });
    writeFileSync(join(copy, 'hosts.ini'), '[win]\nw1\n');
    const lines = readFileSync(join(dir, 'group_vars/win.yml'), 'utf8').split('\n');
    const i = lines.length - 2;
    // Each pair of the envelope's hex is one hex digit of the body ('30'-'39', '61'-'66'): change one to another.
    const pairs = lines[i]!.match(/../g)!;
    const j = pairs.findLastIndex((p) => /^(3[0-8]|6[1-5])$/.test(p));
    pairs[j] = `${pairs[j]![0]}${Number(pairs[j]![1]) + 1}`;
    lines[i] = pairs.join('');
    writeFileSync(join(copy, 'group_vars/win.yml'), lines.join('\n'));
    const t = await oracle.run('ansible-inventory', [
      '-i',
      join(copy, 'hosts.ini'),
      '--list',
      ...passwords.flatMap((p) => ['--vault-id', `${p.label}@${p.source}`]),
    ]);
    expect(t.code).not.toBe(0);
    expect(() => loadInventory({ sources: join(copy, 'hosts.ini'), vault: passwords })).toThrow(/HMAC check failed/);
  });
});
