import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { expectInputError, tmpTree } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/inventories');

function one(iniText: string, opts: Parameters<typeof loadInventory>[0] extends infer O ? Partial<O> : never = {}) {
  const dir = tmpTree({ 'hosts.ini': iniText });
  const inv = loadInventory({ sources: join(dir, 'hosts.ini'), ...opts });
  return { inv, host: inv.hosts[0]!, file: join(dir, 'hosts.ini') };
}

describe('Ansible connection variables → ConnectionSettings', () => {
  it('maps the Windows fixture (winrm, psrp, ssh) and warns loudly about ignored certificates', () => {
    const inv = loadInventory({ sources: join(FIXTURES, 'windows/hosts.yml'), env: { HOME: '/home/op' } });
    const c = Object.fromEntries(inv.hosts.map((h) => [h.name, h.connection]));
    expect(c['win01.corp.example']).toMatchObject({
      transport: 'winrm',
      address: 'win01.corp.example',
      user: 'Administrator',
      winrm: { scheme: 'https', auth: 'ntlm', certValidation: 'validate', caFile: '/etc/svcfleet/ca.pem' },
    });
    expect(c['win01.corp.example']!.password!.reveal()).toBe('not-a-real-password');
    expect(c['win-http.corp.example']).toMatchObject({ port: 5985, winrm: { scheme: 'http', auth: 'basic', allowUnencryptedBasic: true } });
    // psrp's negotiate: Kerberos preferred, NTLM when no ticket can be had (the transport decides at open).
    expect(c['ps01.corp.example']).toMatchObject({
      transport: 'winrm',
      address: '192.0.2.21',
      winrm: { scheme: 'https', auth: 'negotiate', certValidation: 'ignore' },
    });
    expect(c.sshwin01).toMatchObject({
      transport: 'ssh',
      address: '192.0.2.31',
      port: 22,
      user: 'CORP\\svc-deploy',
      ssh: { identityFile: '/home/op/.ssh/id_ed25519' },
    });
    expect(inv.warnings.join('\n')).toMatch(
      /ps01\.corp\.example: TLS certificate validation is OFF \(ansible_psrp_cert_validation=ignore at .*hosts\.yml:\d+\)/,
    );
  });

  it('derives the WinRM scheme and port from each other, as Ansible does', () => {
    expect(one('h ansible_connection=winrm ansible_port=5985\n').host.connection.winrm!.scheme).toBe('http');
    expect(one('h ansible_connection=winrm\n').host.connection).toMatchObject({ winrm: { scheme: 'https' } });
    expect(one('h ansible_connection=winrm ansible_winrm_scheme=http\n').host.connection.port).toBeUndefined();
  });

  it('takes the first supported transport of a list and Basic for ssl over https', () => {
    expect(one("h ansible_connection=winrm ansible_winrm_transport='credssp,ntlm'\n").host.connection.winrm!.auth).toBe('ntlm');
    expect(one("h ansible_connection=winrm ansible_winrm_transport='kerberos,ntlm'\n").host.connection.winrm!.auth).toBe('kerberos');
    expect(one('h ansible_connection=winrm ansible_winrm_transport=ssl\n').host.connection.winrm!.auth).toBe('basic');
  });

  it('uses config defaults under inventory values', () => {
    const { host } = one('h ansible_connection=winrm\nh2\n', {
      connectionDefaults: { user: 'ops', winrm: { auth: 'basic', caFile: '/ca.pem' }, ssh: { knownHostsFile: '/kh' } },
    });
    expect(host.connection).toMatchObject({ user: 'ops', winrm: { auth: 'basic', caFile: '/ca.pem', scheme: 'https' } });
  });

  it('maps host key checking off to accept-new (never to "accept anything"), with a warning', () => {
    const { host, inv } = one('h ansible_host_key_checking=False\n');
    expect(host.connection.ssh!.hostKeyPolicy).toBe('accept-new');
    expect(inv.warnings.join()).toMatch(/accept-new/);
  });

  it('warns about every security-weakening inventory setting, naming where it is set', () => {
    const inv = loadInventory({ sources: join(FIXTURES, 'windows/hosts.yml'), env: { HOME: '/home/op' } });
    expect(inv.warnings.join('\n')).toMatch(/win-http\.corp\.example: ansible_winrm_message_encryption=never at .*hosts\.yml:\d+.*clear text/);
    const dir = tmpTree({
      'fleet.yml': [
        'kind: svcfleet-inventory',
        'version: 1',
        'defaults: { transport: ssh, user: ops, ssh: { hostKeyPolicy: accept-new } }',
        'hosts:',
        '  a: {}',
        '  b: {}',
        '  w: { transport: winrm, password: { env: PW }, winrm: { scheme: http, auth: basic, allowUnencryptedBasic: true } }',
        '',
      ].join('\n'),
    });
    const native = loadInventory({ sources: join(dir, 'fleet.yml'), env: { PW: 'x' } }).warnings;
    expect(
      native.filter((w) => /hostKeyPolicy: accept-new/.test(w)),
      'inventory defaults warn once',
    ).toHaveLength(1);
    expect(native.join('\n')).toMatch(/w: in .*fleet\.yml: winrm\.allowUnencryptedBasic: true.*clear text/);
  });

  it('never prints a templated password in its error', () => {
    const e = expectInputError(
      () => one('h ansible_connection=winrm ansible_password="pa{{ss}}word"\n'),
      { field: 'ansible_password' },
      /templated values are not supported/,
    );
    expect(e.message).not.toMatch(/pa\{\{|ss\}\}|word/);
  });

  it('refuses an ssh host with no credentials at all before anything is contacted (for commands that connect)', () => {
    const home = tmpTree({ '.keep': '', k: 'key', id: 'key' });
    const env = { HOME: home };
    const dir = tmpTree({
      'hosts.ini': `bare\nkeyed ansible_ssh_private_key_file=${join(home, 'k')}\npw ansible_password=x\nwin ansible_connection=winrm ansible_password=x\n`,
    });
    const sources = join(dir, 'hosts.ini');
    expectInputError(() => loadInventory({ sources, env, requireCredentials: true }), { host: 'bare' }, /no SSH credentials.*\(hosts bare\)/);
    expect(loadInventory({ sources, env, requireCredentials: true, limit: 'keyed,pw,win' }).hosts).toHaveLength(3);
    expect(loadInventory({ sources, env: { ...env, SSH_AUTH_SOCK: '/run/agent.sock' }, requireCredentials: true }).hosts).toHaveLength(4);
    expect(loadInventory({ sources, env, requireCredentials: true, connectionDefaults: { ssh: { identityFile: join(home, 'id') } } }).hosts).toHaveLength(4);
    expect(loadInventory({ sources, env }).hosts).toHaveLength(4); // reading an inventory needs no credentials
    const withKey = tmpTree({ '.ssh/id_ed25519': 'key' });
    expect(loadInventory({ sources, env: { HOME: withKey }, requireCredentials: true }).hosts).toHaveLength(4);
  });

  const errors: Array<[string, string, string, RegExp]> = [
    [
      'certificate',
      'h ansible_connection=winrm ansible_winrm_transport=certificate\n',
      'ansible_winrm_transport',
      /certificate authentication is not supported yet/,
    ],
    ['credssp', 'h ansible_connection=winrm ansible_winrm_transport=credssp\n', 'ansible_winrm_transport', /not supported yet/],
    ['ssl over http', 'h ansible_connection=winrm ansible_winrm_scheme=http ansible_winrm_transport=ssl\n', 'ansible_winrm_transport', /HTTPS/],
    ['unknown connection', 'h ansible_connection=docker\n', 'ansible_connection', /not supported/],
    ['local connection', 'h ansible_connection=local\n', 'ansible_connection', /not supported/],
    ['bad port', 'h ansible_port=99999\n', 'ansible_port', /1 to 65535/],
    ['templated host', `h ansible_host="{{ lookup('env','X') }}"\n`, 'ansible_host', /templated values are not supported/],
    ['posix shell', 'h ansible_shell_type=sh\n', 'ansible_shell_type', /powershell or cmd/],
    ['bad scheme', 'h ansible_connection=winrm ansible_winrm_scheme=ftp\n', 'ansible_winrm_scheme', /http, https/],
    ['bad validation', 'h ansible_connection=winrm ansible_winrm_server_cert_validation=maybe\n', 'ansible_winrm_server_cert_validation', /validate, ignore/],
    ['list user', 'h ansible_user="[\'a\']"\n', 'ansible_user', /expected text/],
  ];
  it.each(errors)('%s → error naming host, file, line and variable', (_t, text, field, re) => {
    const dir = tmpTree({ 'hosts.ini': text });
    const file = join(dir, 'hosts.ini');
    expectInputError(() => loadInventory({ sources: file }), { host: 'h', file, line: 1, field }, re);
  });

  it('only resolves the hosts the limit selects', () => {
    const { inv } = one('good ansible_connection=winrm\nbad ansible_connection=docker\n', { limit: 'good' });
    expect(inv.hosts.map((h) => h.name)).toEqual(['good']);
  });
});
