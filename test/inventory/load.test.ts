import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory, readInventory } from '../../src/inventory/load.js';
import { listInventory } from '../../src/inventory/list.js';
import { Secret } from '../../src/util/secret.js';
import { expectInputError, tmpTree } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/inventories');

describe('variable precedence (fixtures shared with the Ansible oracle test)', () => {
  it('orders all < groups by depth, priority, name < group_vars files < host < host_vars', () => {
    const inv = loadInventory({ sources: join(FIXTURES, 'precedence/hosts.ini') });
    const vars = Object.fromEntries(inv.hosts.map((h) => [h.name, h.vars]));
    expect(vars.h1).toMatchObject({ who: 'alpha', depth_test: 'deep', same_depth: 'alpha', file_vs_inline: 'beta-file' });
    expect(vars.h4).toMatchObject({ who: 'host-file', same_depth: 'beta' }); // priority 10 beats the later name
    expect(vars.h5).toMatchObject({ same_depth: 'zeta' }); // same depth and priority: the later name wins
    expect(vars.h3).toMatchObject({ who: 'parent', depth_test: 'parent' });
    expect(inv.hosts.find((h) => h.name === 'h1')!.groups).toEqual(['alpha', 'beta', 'child_of_alpha', 'deep', 'parent', 'zeta']);
  });

  it('reads group_vars/ and host_vars/ files and directories like Ansible', () => {
    const inv = loadInventory({ sources: join(FIXTURES, 'vars-dirs/hosts') });
    const web01 = inv.hosts.find((h) => h.name === 'web01')!.vars;
    expect(web01).toEqual({
      layer: 'host-file',
      from_inline: 'host-file',
      all_only: true,
      ntp: ['a.example', 'b.example'],
      web_dir: 'second',
      nested: { a: 1, b: { c: 2 } },
      inline_only: 1,
    });
    expect(inv.hosts.find((h) => h.name === 'db01')!.vars.layer).toBe('db-noext');
    expect(inv.hosts.find((h) => h.name === 'web02')!.vars.layer).toBe('web-dir-01');
    expect(inv.groups.prod!.vars).toEqual({ layer: 'prod-yml' }); // prod.yml shadows prod.json
  });

  it('reads a directory of inventory files, skipping *.ini and *.md inside it', () => {
    const inv = loadInventory({ sources: join(FIXTURES, 'dir-source') });
    // Ansible's order: group by group, breadth-first from all (backend's children: db, then web)
    expect(inv.hosts.map((h) => h.name)).toEqual(['db1', 'db2', 'web1', 'web2', 'web3']);
    expect(inv.groups.backend!.children).toEqual(['db', 'web']);
    expect(inv.hosts[0]!.vars).toEqual({ site: 'dir-source', pool: 'backend' });
  });

  it('reads a comma host list', () => {
    const inv = loadInventory({ sources: 'a.example,b.example:2222,' });
    expect(inv.hosts.map((h) => [h.name, h.connection.port])).toEqual([
      ['a.example', undefined],
      ['b.example', 2222],
    ]);
  });
});

describe('Ansible YAML inventories', () => {
  it('reads YAML 1.1 scalars like PyYAML and keeps dates as text', () => {
    const inv = loadInventory({ sources: join(FIXTURES, 'yaml-groups/inventory.yml'), limit: 'jump01' });
    expect(inv.hosts[0]!.vars).toMatchObject({ maintenance: false, umask: 18, window: 90, since: '2024-05-01' });
  });

  it('refuses an empty --limit instead of selecting every host', () => {
    const sources = join(FIXTURES, 'yaml-groups/inventory.yml');
    for (const limit of ['', '  ', [' ']]) expectInputError(() => loadInventory({ sources, limit }), { field: '--limit' }, /empty/);
    expect(loadInventory({ sources }).hosts.length).toBe(loadInventory({ sources, limit: 'all' }).hosts.length);
  });

  it('refuses what Ansible only warns about: unknown keys and non-mapping groups', () => {
    const dir = tmpTree({
      'a.yml': 'all:\n  children:\n    web:\n      host:\n        web01:\n',
      'b.yml': 'web: [web01]\n',
      'c.yml': 'plugin: aws_ec2\n',
      'd.yml': 'all:\n  hosts:\n    web01:\n      a: 1\n      a: 2\n',
      'e.yml': '',
      'f.yml': 'all:\n  hosts:\n    web01: [1]\n',
      'g.yml': 'all:\n  vars:\n    x: *undefined_alias\n',
    });
    expectInputError(() => readInventory({ sources: join(dir, 'a.yml') }), { file: join(dir, 'a.yml'), line: 4 }, /unknown key "host"/);
    expectInputError(() => readInventory({ sources: join(dir, 'b.yml') }), { line: 1 }, /must be a mapping/);
    expectInputError(() => readInventory({ sources: join(dir, 'c.yml') }), { line: 1 }, /plugin/);
    expectInputError(() => readInventory({ sources: join(dir, 'd.yml') }), { line: 5 }, /unique/);
    expectInputError(() => readInventory({ sources: join(dir, 'e.yml') }), { file: join(dir, 'e.yml') }, /empty/);
    expectInputError(() => readInventory({ sources: join(dir, 'f.yml') }), { line: 3, host: 'web01' }, /mapping/);
    expectInputError(() => readInventory({ sources: join(dir, 'g.yml') }), { line: 3 });
  });

  it('keeps !vault values sealed and !unsafe values as text', () => {
    const dir = tmpTree({
      'inv.yml': 'all:\n  hosts:\n    h1:\n      token: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        6162\n      raw: !unsafe "{{ not_templated }}"\n',
    });
    const data = readInventory({ sources: join(dir, 'inv.yml') });
    const listed = JSON.parse(JSON.stringify(listInventory(data))) as { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    expect(listed._meta.hostvars.h1).toEqual({ token: '[VAULT-ENCRYPTED]', raw: '{{ not_templated }}' });
  });

  it('refuses a vaulted connection password, naming the host and the line', () => {
    const dir = tmpTree({ 'inv.yml': 'all:\n  hosts:\n    h1:\n      ansible_password: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n' });
    expectInputError(() => loadInventory({ sources: join(dir, 'inv.yml') }), { host: 'h1', line: 4, field: 'ansible_password' }, /Vault/);
  });
});

describe('sources', () => {
  it('names a missing file and a failing executable inventory script', () => {
    expectInputError(() => readInventory({ sources: '/nonexistent/inv.ini' }), { file: '/nonexistent/inv.ini' }, /not found/);
    // Executable scripts are dynamic inventories now (dynamic.test.ts); one that fails is still an error.
    const dir = tmpTree({ 'dyn.py': '#!/usr/bin/env python3\nraise SystemExit(1)\n' });
    chmodSync(join(dir, 'dyn.py'), 0o755);
    expectInputError(() => readInventory({ sources: join(dir, 'dyn.py') }), { file: join(dir, 'dyn.py') }, /script/);
  });

  it('tells an extension-less YAML inventory from an INI one', () => {
    const dir = tmpTree({ yamlish: 'g:\n  hosts:\n    h1:\n', inish: '[g]\nh2\n' });
    expect(loadInventory({ sources: [join(dir, 'yamlish'), join(dir, 'inish')] }).hosts.map((h) => h.name)).toEqual(['h1', 'h2']);
  });

  it('refuses a __proto__ key anywhere', () => {
    const dir = tmpTree({ 'inv.yml': 'all:\n  vars:\n    __proto__: {polluted: true}\n' });
    expectInputError(() => readInventory({ sources: join(dir, 'inv.yml') }), { line: 3 }, /__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('warns (like Ansible) when a name is both a host and a group', () => {
    const dir = tmpTree({ 'hosts.ini': '[web]\nweb\n' });
    expect(loadInventory({ sources: join(dir, 'hosts.ini') }).warnings.join('\n')).toMatch(/both a host and a group/);
  });
});

describe('secrets in host variables', () => {
  it('moves ansible_password into the connection and wraps secret-looking vars', () => {
    const dir = tmpTree({ 'hosts.ini': '[g]\nh ansible_password=s3cret db_password=p2 api_token=t key_file=/x\n' });
    const inv = loadInventory({ sources: join(dir, 'hosts.ini') });
    const h = inv.hosts[0]!;
    expect(h.connection.password).toBeInstanceOf(Secret);
    expect(h.connection.password!.reveal()).toBe('s3cret');
    expect(h.vars.ansible_password).toBeUndefined();
    expect(h.vars.db_password).toBeInstanceOf(Secret);
    expect(h.vars.api_token).toBeInstanceOf(Secret);
    expect(h.vars.key_file).toBe('/x');
    const printed = JSON.stringify(inv);
    expect(printed).not.toContain('s3cret');
    expect(printed).not.toContain('p2"');
  });
});
