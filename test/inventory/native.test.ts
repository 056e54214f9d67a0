import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { expectInputError, tmpTree } from './helpers.js';

const EXAMPLE = join(import.meta.dirname, '../../inventory/fleet.yml');
const INVENTORY_DIR = join(import.meta.dirname, '../../inventory');

function native(body: string, extra: Record<string, string> = {}) {
  const dir = tmpTree({ 'fleet.yml': `kind: svcfleet-inventory\nversion: 1\n${body}`, ...extra });
  return { dir, file: join(dir, 'fleet.yml') };
}

describe('native inventory', () => {
  it('reads the example: defaults, per-host overrides, groups with ranges, vars precedence', () => {
    const inv = loadInventory({ sources: EXAMPLE, env: { SVCFLEET_PASSWORD: 'pw' } });
    expect(inv.hosts.map((h) => h.name)).toEqual([
      'web01.corp.example',
      'web02.corp.example',
      'web03.corp.example',
      'web04.corp.example',
      'api01.corp.example',
      'api02.corp.example',
    ]);
    const web01 = inv.hosts[0]!;
    expect(web01.groups).toEqual(['canary', 'payments', 'web']);
    expect(web01.vars).toEqual({ site: 'ams', app_port: 8081, role: 'web', service_name: 'PaymentsApi' });
    expect(web01.connection).toMatchObject({
      transport: 'winrm',
      address: 'web01.corp.example',
      user: 'CORP\\svc-deploy',
      winrm: { scheme: 'https', auth: 'ntlm', caFile: join(INVENTORY_DIR, 'ca.pem') },
    });
    expect(web01.connection.password!.reveal()).toBe('pw');
    const api01 = inv.hosts[4]!;
    expect(api01.vars.app_port).toBe(9091);
    expect(api01.connection).toMatchObject({
      transport: 'ssh',
      address: '10.20.0.11',
      port: 22,
      ssh: { shell: 'powershell.exe', knownHostsFile: join(INVENTORY_DIR, 'known_hosts'), hostKeyPolicy: 'strict' },
    });
  });

  it('reads passwords from a file relative to the inventory, and lab hosts with a state dir', () => {
    const { file, dir } = native(
      'defaults: { transport: local, password: { file: secrets/pw.txt } }\nhosts:\n  lab07: { local: { stateDir: ./state/lab07 } }\n',
      { 'secrets/pw.txt': 'from-file\n' },
    );
    const h = loadInventory({ sources: file }).hosts[0]!;
    expect(h.connection).toMatchObject({ transport: 'local', address: 'lab07', local: { stateDir: join(dir, 'state/lab07') } });
    expect(h.connection.password!.reveal()).toBe('from-file');
  });

  const errors: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['literal password', 'defaults:\n  password: hunter2\n', { line: 4, field: 'defaults.password' }, /literal password/],
    ['literal ansible_password var', 'vars:\n  ansible_password: hunter2\n', { line: 4, field: 'vars.ansible_password' }, /literal password/],
    ['typo in a key', 'defaults:\n  trasnport: ssh\n', { line: 4, field: 'defaults.trasnport' }, /unknown key "trasnport" \(did you mean "transport"\?\)/],
    ['bad transport', 'defaults: { transport: telnet }\n', { line: 3, field: 'defaults.transport' }, /ssh|winrm/],
    ['unknown child group', 'groups:\n  a: { children: [b] }\n', { line: 4, field: 'groups.a.children[0]' }, /not declared/],
    ['port in a group host list', 'groups:\n  a: { hosts: ["web01:22"] }\n', { line: 4 }, /port/],
    ['bad range', 'groups:\n  a: { hosts: ["web[9:1]"] }\n', { line: 4 }, /backwards/],
    ['duplicate host key', 'hosts:\n  h1: {}\n  h1: {}\n', { line: 5 }, /unique/],
    ['port out of range', 'hosts:\n  h1: { port: 70000 }\n', { line: 4, field: 'hosts.h1.port' }, /65535|less than/i],
    ['winrm path without slash', 'defaults:\n  winrm: { path: wsman }\n', { line: 4, field: 'defaults.winrm.path' }, /\//],
  ];
  it.each(errors)('%s → InputError with file, line and field', (_title, body, where, re) => {
    const { file } = native(body);
    expectInputError(() => loadInventory({ sources: file }), { file, ...where }, re);
  });

  it('refuses an unknown version', () => {
    const dir = tmpTree({ 'v.yml': 'kind: svcfleet-inventory\nversion: 2\n' });
    expectInputError(() => loadInventory({ sources: join(dir, 'v.yml') }), { file: join(dir, 'v.yml'), line: 2, field: 'version' });
  });

  it('names host and field when a password variable is missing', () => {
    const { file } = native('defaults: { password: { env: NOPE_NOT_SET } }\nhosts:\n  h1: {}\n');
    expectInputError(() => loadInventory({ sources: file, env: {} }), { host: 'h1', field: 'defaults.password', file }, /NOPE_NOT_SET is not set/);
  });

  it('refuses an unknown kind instead of reading it as Ansible groups', () => {
    const dir = tmpTree({ 'x.yml': 'kind: something-else\n' });
    expectInputError(() => loadInventory({ sources: join(dir, 'x.yml') }), { field: 'kind' }, /unknown kind/);
  });

  it('does not turn a missing local.stateDir into a crash', () => {
    const { file } = native('hosts:\n  lab1: { transport: local }\n');
    expectInputError(() => loadInventory({ sources: file }), { host: 'lab1' }, /stateDir/);
  });
});
