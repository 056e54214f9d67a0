import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { expectInputError, tmpTree } from './helpers.js';

function one(iniText: string) {
  const dir = tmpTree({ 'hosts.ini': iniText });
  const inv = loadInventory({ sources: join(dir, 'hosts.ini') });
  return { inv, host: inv.hosts[0]!, file: join(dir, 'hosts.ini') };
}

function native(body: string) {
  const dir = tmpTree({ 'fleet.yml': `kind: svcfleet-inventory\nversion: 1\n${body}` });
  return { dir, file: join(dir, 'fleet.yml') };
}

describe('Kerberos connection variables, as Ansible reads them', () => {
  it('ansible_winrm_transport=kerberos, with kinit_mode, delegation, service and hostname override', () => {
    const { host } = one(
      'h ansible_connection=winrm ansible_user=ops@CORP.EXAMPLE ansible_password=pw ansible_winrm_transport=kerberos ' +
        'ansible_winrm_kinit_mode=managed ansible_winrm_kerberos_delegation=true ansible_winrm_service=WSMAN ' +
        'ansible_winrm_kerberos_hostname_override=win01.corp.example\n',
    );
    expect(host.connection).toMatchObject({
      transport: 'winrm',
      user: 'ops@CORP.EXAMPLE',
      winrm: {
        scheme: 'https',
        auth: 'kerberos',
        kerberos: { credentials: 'password', delegation: true, service: 'WSMAN', hostnameOverride: 'win01.corp.example' },
      },
    });
  });

  it('kinit_mode=manual is the user ticket cache; unset leaves the choice to the password (managed when given)', () => {
    expect(one('h ansible_connection=winrm ansible_winrm_transport=kerberos ansible_winrm_kinit_mode=manual\n').host.connection.winrm!.kerberos).toEqual({
      credentials: 'cache',
    });
    const unset = one('h ansible_connection=winrm ansible_winrm_transport=kerberos ansible_user=ops@CORP.EXAMPLE\n').host.connection.winrm!;
    expect(unset.auth).toBe('kerberos');
    expect(unset.kerberos).toBeUndefined();
  });

  it('negotiate (pywinrm list or psrp auth) stays negotiate: Kerberos preferred, NTLM fallback at open', () => {
    expect(one("h ansible_connection=winrm ansible_winrm_transport='negotiate'\n").host.connection.winrm!.auth).toBe('negotiate');
    const psrp = one(
      'h ansible_connection=psrp ansible_psrp_auth=negotiate ansible_psrp_negotiate_delegate=yes ansible_psrp_negotiate_service=HTTP ' +
        'ansible_psrp_negotiate_hostname_override=h.corp.example\n',
    ).host.connection.winrm!;
    expect(psrp).toMatchObject({ auth: 'negotiate', kerberos: { delegation: true, service: 'HTTP', hostnameOverride: 'h.corp.example' } });
  });

  it('a transport list takes Kerberos first when listed first', () => {
    expect(one("h ansible_connection=winrm ansible_winrm_transport='kerberos,ntlm'\n").host.connection.winrm!.auth).toBe('kerberos');
    expect(one("h ansible_connection=winrm ansible_winrm_transport='ntlm,kerberos'\n").host.connection.winrm!.auth).toBe('ntlm');
  });

  const errors: Array<[string, string, string, RegExp]> = [
    [
      'managed without a password',
      'h ansible_connection=winrm ansible_winrm_transport=kerberos ansible_winrm_kinit_mode=managed\n',
      'ansible_winrm_kinit_mode',
      /needs ansible_password/,
    ],
    [
      'bad kinit mode',
      'h ansible_connection=winrm ansible_winrm_transport=kerberos ansible_winrm_kinit_mode=auto\n',
      'ansible_winrm_kinit_mode',
      /managed, manual/,
    ],
    [
      'bad delegation',
      'h ansible_connection=winrm ansible_winrm_transport=kerberos ansible_winrm_kerberos_delegation=maybe\n',
      'ansible_winrm_kerberos_delegation',
      /bool|true|false/i,
    ],
  ];
  it.each(errors)('%s → error naming host, file, line and variable', (_t, text, field, re) => {
    const dir = tmpTree({ 'hosts.ini': text });
    const file = join(dir, 'hosts.ini');
    expectInputError(() => loadInventory({ sources: file }), { host: 'h', file, line: 1, field }, re);
  });
});

describe('native inventory Kerberos keys', () => {
  it('winrm.auth kerberos|negotiate and winrm.kerberos, merged key by key over defaults; keytab made absolute', () => {
    const { dir, file } = native(
      [
        'defaults:',
        '  transport: winrm',
        '  user: svc-deploy@CORP.EXAMPLE',
        '  winrm: { scheme: https, auth: kerberos, kerberos: { credentials: keytab, keytab: keys/svc.keytab, service: HTTP } }',
        'hosts:',
        '  web01.corp.example:',
        '    winrm: { kerberos: { delegation: true } }',
        '  web02.corp.example:',
        '    winrm: { auth: negotiate, kerberos: { credentials: cache, ccache: "FILE:/tmp/krb5cc_ops" } }',
        '',
      ].join('\n'),
    );
    const inv = loadInventory({ sources: file });
    const [web01, web02] = inv.hosts;
    expect(web01!.connection.winrm).toMatchObject({
      auth: 'kerberos',
      kerberos: { credentials: 'keytab', keytab: join(dir, 'keys/svc.keytab'), service: 'HTTP', delegation: true },
    });
    expect(web02!.connection.winrm).toMatchObject({ auth: 'negotiate', kerberos: { credentials: 'cache', ccache: 'FILE:/tmp/krb5cc_ops', service: 'HTTP' } });
  });

  it('refuses unknown Kerberos keys and sources', () => {
    const { file } = native('defaults:\n  transport: winrm\n  winrm: { kerberos: { credentials: ticket } }\n');
    expectInputError(() => loadInventory({ sources: file }), { field: 'defaults.winrm.kerberos.credentials' });
    const { file: f2 } = native('defaults:\n  transport: winrm\n  winrm: { kerberos: { realm: CORP } }\n');
    expectInputError(() => loadInventory({ sources: f2 }), {}, /realm/);
  });
});
