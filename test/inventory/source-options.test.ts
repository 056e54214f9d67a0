/** The plain options behind --vault-id, --vault-password-file and --inventory-timeout (source-options.ts). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inventoryInputs, parseScriptTimeout } from '../../src/inventory/source-options.js';
import { encryptVault } from '../../src/inventory/vault.js';
import { InputError } from '../../src/util/errors.js';
import { Secret } from '../../src/util/secret.js';
import { tmpTree } from './helpers.js';

function vaultedTree(): string {
  return tmpTree({
    'group_vars/win.yml': encryptVault('ansible_user: admin\n', new Secret('fixture-pass')),
    'default.txt': 'fixture-pass\n',
    'prod.txt': 'prod-pass\n',
  });
}

describe('inventory inputs (plain options)', () => {
  it('parses time limits', () => {
    expect(parseScriptTimeout('30')).toBe(30_000);
    expect(parseScriptTimeout('1.5s')).toBe(1500);
    expect(parseScriptTimeout('500ms')).toBe(500);
    expect(parseScriptTimeout('2m')).toBe(120_000);
    for (const bad of ['', 'soon', '10ms', '2h', '-1']) expect(() => parseScriptTimeout(bad), bad).toThrow(InputError);
  });

  it('loads the passwords and the script options', async () => {
    const dir = vaultedTree();
    const got = await inventoryInputs(
      { vaultId: [`prod@${join(dir, 'prod.txt')}`], vaultPasswordFile: [join(dir, 'default.txt')], inventoryTimeout: '5s' },
      { env: {}, cwd: dir },
    );
    expect(got.vault!.map((p) => [p.label, p.password.reveal()])).toEqual([
      ['prod', 'prod-pass'],
      ['default', 'fixture-pass'],
    ]);
    expect(got.scripts.timeoutMs).toBe(5000);
    expect((await inventoryInputs({}, { env: {}, cwd: dir })).vault).toBeUndefined();
    const fromEnv = await inventoryInputs({}, { env: { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, 'default.txt') }, cwd: dir });
    expect(fromEnv.vault!.map((p) => p.label)).toEqual(['default']);
  });
});
