/**
 * Dynamic inventories without Ansible: how a script is run (--list, --host only without _meta), Ansible's
 * group shapes and JSON extensions, and the errors (non-zero exit, invalid JSON, wrong shapes, time limit).
 * test/inventory/ansible/dynamic-compat.test.ts compares the fixture scripts with ansible-inventory.
 */
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listInventory } from '../../src/inventory/list.js';
import { loadInventory, readInventory } from '../../src/inventory/load.js';
import { encryptVault } from '../../src/inventory/vault.js';
import { Secret } from '../../src/util/secret.js';
import { expectInputError, tmpTree } from './helpers.js';

const FIX = join(import.meta.dirname, '../fixtures/inventories/dynamic');

function script(body: string, name = 'inv.sh'): string {
  const dir = tmpTree({ [name]: `#!/bin/sh\n${body}\n` });
  chmodSync(join(dir, name), 0o755);
  return join(dir, name);
}

describe('dynamic inventory scripts', () => {
  it('reads --list with _meta, and group_vars beside the script apply', () => {
    const inv = loadInventory({ sources: join(FIX, 'cmdb/cmdb.py') });
    const app = inv.hosts.find((h) => h.name === 'win-app01')!;
    expect(app.groups).toEqual(['site_north', 'win_canary', 'windows']);
    expect(app.connection).toMatchObject({ transport: 'winrm', address: '10.1.0.11', port: 5986, user: 'svc-deploy', winrm: { certValidation: 'validate' } });
    expect(app.connection.password!.reveal()).toBe('from-cmdb');
    expect(app.vars).toMatchObject({ maintenance_window: 'sun 02:00', owner: { team: 'payments', oncall: true } });
  });

  it('runs --host for each host when --list has no _meta', () => {
    const log = join(tmpTree({}), 'calls');
    const path = script(
      `echo "$*" >> ${log}\ncase "$1" in --list) echo '{"g": {"hosts": ["a", "b"]}}';; --host) [ "$2" = a ] && echo '{"x": 1}' || echo '';; esac`,
    );
    const data = readInventory({ sources: path });
    expect(JSON.parse(JSON.stringify(listInventory(data)))._meta.hostvars).toEqual({ a: { x: 1 } });
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['--list', '--host a', '--host b']);
  });

  it('opens {"__ansible_vault": …} values with the vault passwords, else keeps them sealed; __ansible_unsafe is text', () => {
    const ciphertext = encryptVault('cmdb-secret', new Secret('pw'));
    const path = script(
      `printf '%s\n' '${JSON.stringify({ g: ['h1'], _meta: { hostvars: { h1: { ansible_password: { __ansible_vault: ciphertext }, raw: { __ansible_unsafe: '{{ kept as text }}' } } } } })}'`,
    );
    const inv = loadInventory({ sources: path, vault: [{ label: 'default', password: new Secret('pw'), source: 'test' }] });
    expect(inv.hosts[0]!.connection.password!.reveal()).toBe('cmdb-secret');
    expect(inv.hosts[0]!.vars.raw).toBe('{{ kept as text }}');
    expectInputError(() => loadInventory({ sources: path }), { host: 'h1', field: 'ansible_password' }, /Ansible Vault/);
    expectInputError(
      () => loadInventory({ sources: path, vault: [{ label: 'default', password: new Secret('no'), source: 'test' }] }),
      { file: path, host: 'h1', field: 'ansible_password' },
      /HMAC/,
    );
  });

  it('names the script for a non-zero exit, invalid JSON, a wrong shape, or a failing --host', () => {
    const b = (n: string): string => join(FIX, 'broken', n);
    expectInputError(
      () => readInventory({ sources: b('fails.sh') }),
      { file: b('fails.sh') },
      /--list exited with code 3; stderr: cmdb unreachable: connection refused/,
    );
    expectInputError(() => readInventory({ sources: b('badjson.sh') }), { file: b('badjson.sh') }, /did not print valid JSON/);
    expectInputError(() => readInventory({ sources: b('notobject.sh') }), { file: b('notobject.sh') }, /must print a JSON object of groups, got a list/);
    expectInputError(() => readInventory({ sources: b('hostfails.sh') }), { file: b('hostfails.sh') }, /--host h1 exited with code 4; stderr: no such host/);
    expectInputError(() => readInventory({ sources: script(`echo '{"g": {"hosts": "h1"}}'`) }), { field: 'g.hosts' }, /must be a list/);
    expectInputError(() => readInventory({ sources: script(`echo '{"g": {"vars": []}}'`) }), { field: 'g.vars' }, /must be an object/);
    expectInputError(() => readInventory({ sources: script(`echo '{"g": ["bad name"], "_meta": {"hostvars": {}}}'`) }), {}, /host name "bad name"/);
  });

  it('stops a script at the time limit, with whatever it started', () => {
    const started = Date.now();
    expectInputError(
      () => readInventory({ sources: join(FIX, 'broken/slow.sh'), scripts: { timeoutMs: 500 } }),
      { file: join(FIX, 'broken/slow.sh') },
      /did not finish within 0.5 s/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
