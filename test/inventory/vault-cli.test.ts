/**
 * The command-line side of vaults, inventory scripts and schemas: --vault-id / --vault-password-file /
 * ANSIBLE_VAULT_PASSWORD_FILE and --inventory-timeout on `svcfleet inventory` and the fleet commands (through
 * `render`, which contacts no host), and `svcfleet schema KIND`. The plain-options module behind the flags: source-options.test.ts.
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptVault } from '../../src/inventory/vault.js';
import { jsonSchema } from '../../src/spec/json-schema.js';
import { Secret } from '../../src/util/secret.js';
import { tmpTree } from './helpers.js';
import { runCli } from './run-cli.js';

function vaultedTree(): string {
  const secret = new Secret('fixture-pass');
  return tmpTree({
    'hosts.ini': '[win]\nw1 ansible_host=10.0.0.1\n[win:vars]\nansible_connection=winrm\n',
    'group_vars/win.yml': encryptVault('ansible_user: admin\nansible_password: S3cret!\n', secret),
    'host_vars/w1.yml': encryptVault('site: north\n', new Secret('prod-pass'), { label: 'prod' }),
    'default.txt': 'fixture-pass\n',
    'prod.txt': 'prod-pass\n',
    'wrong.txt': 'wrong\n',
    'spec.yaml': 'service: Svc\nset: { startType: auto }\n',
  });
}

describe('svcfleet inventory with vaults', () => {
  it('--vault-password-file and --vault-id open the vaults; values print [REDACTED]', async () => {
    const dir = vaultedTree();
    const r = await runCli([
      'inventory',
      '-i',
      join(dir, 'hosts.ini'),
      '--list',
      '--vault-password-file',
      join(dir, 'default.txt'),
      '--vault-id',
      `prod@${join(dir, 'prod.txt')}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const hv = (JSON.parse(r.stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars.w1!;
    expect(hv).toEqual({
      ansible_connection: 'winrm',
      ansible_host: '10.0.0.1',
      ansible_user: '[REDACTED]',
      ansible_password: '[REDACTED]',
      site: '[REDACTED]',
    });
    expect(r.stdout).not.toContain('S3cret!');
    expect(r.stderr).toBe('');
  });

  it('a wrong password or a missing vault id: exit 1, the file and line named', async () => {
    const dir = vaultedTree();
    const wrong = await runCli(['inventory', '-i', join(dir, 'hosts.ini'), '--list', '--vault-password-file', join(dir, 'wrong.txt')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`${join(dir, 'group_vars/win.yml')}:1: vault-encrypted file: cannot decrypt`);
    const missing = await runCli(['inventory', '-i', join(dir, 'hosts.ini'), '--list', '--vault-password-file', join(dir, 'default.txt')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(dir, 'host_vars/w1.yml')}:1`);
    expect(missing.stderr).toMatch(/vault id "prod", which was not given/);
    const none = await runCli(['inventory', '-i', join(dir, 'hosts.ini'), '--list']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no vault password was given/);
  });

  it('fleet commands take the same flags (render contacts no host)', async () => {
    const dir = vaultedTree();
    const base = ['render', join(dir, 'spec.yaml'), '--host', 'w1', '-i', join(dir, 'hosts.ini')];
    const ok = await runCli([...base, '--vault-password-file', join(dir, 'default.txt'), '--vault-id', `prod@${join(dir, 'prod.txt')}`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).not.toContain('S3cret!');
    const bad = await runCli([...base, '--vault-id', `default@${join(dir, 'wrong.txt')}`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${join(dir, 'group_vars/win.yml')}:1`);
  });

  it('--inventory-timeout limits an inventory script', async () => {
    const dir = tmpTree({ 'slow.sh': '#!/bin/sh\nsleep 20\n' });
    chmodSync(join(dir, 'slow.sh'), 0o755);
    const r = await runCli(['inventory', '-i', join(dir, 'slow.sh'), '--list', '--inventory-timeout', '300ms']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not finish within 0.3 s/);
  });
});

describe('svcfleet schema', () => {
  it.each(['spec', 'inventory', 'config'] as const)('%s prints jsonSchema(kind)', async (kind) => {
    const r = await runCli(['schema', kind]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(jsonSchema(kind));
  });

  it('refuses an unknown kind', async () => {
    const r = await runCli(['schema', 'plan']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec, inventory, config/);
  });
});
