import { describe, expect, it } from 'vitest';
import { expandHostEntry, expandHostnameRange, HostPatternError, parseAddress } from '../../src/inventory/hostpattern.js';
import { parseIniInventory } from '../../src/inventory/ini.js';
import { InventoryModel } from '../../src/inventory/model.js';
import { shlexSplit } from '../../src/inventory/shlex.js';
import { expectInputError } from './helpers.js';

function ini(text: string): InventoryModel {
  const m = new InventoryModel();
  parseIniInventory(text, '/inv/hosts.ini', m);
  m.reconcile();
  return m;
}

describe('host ranges and addresses', () => {
  it('expands numeric (padded), alphabetic, stepped and several ranges like Ansible', () => {
    expect(expandHostnameRange('web[01:03]')).toEqual(['web01', 'web02', 'web03']);
    expect(expandHostnameRange('db-[a:c]')).toEqual(['db-a', 'db-b', 'db-c']);
    expect(expandHostnameRange('n[1:10:3]')).toEqual(['n1', 'n4', 'n7', 'n10']);
    expect(expandHostnameRange('n[:2]')).toEqual(['n0', 'n1', 'n2']);
    expect(expandHostnameRange('r[1:2]-[a:b].x')).toEqual(['r1-a.x', 'r1-b.x', 'r2-a.x', 'r2-b.x']);
    expect(expandHostnameRange('x[y:B]')).toEqual(['xy', 'xz', 'xA', 'xB']);
  });

  it('refuses bad ranges with a reason', () => {
    for (const [bad, re] of [
      ['web[1]', /begin:end/],
      ['web[1:]', /end value/],
      ['web[01:100]', /equal-length/],
      ['web[5:1]', /backwards/],
      ['web[1:5:0]', /step/],
      ['web[a:5]', /numbers or single letters/],
      ['web[1:9999999]', /more than/],
    ] as const) {
      expect(() => expandHostnameRange(bad), bad).toThrow(re);
    }
    expect(() => expandHostnameRange('web[1')).toThrow(HostPatternError); // Ansible fails on it too
  });

  it('splits host:port, [v6]:port and leaves v6 addresses whole', () => {
    expect(parseAddress('web01:2222')).toEqual({ host: 'web01', port: 2222 });
    expect(parseAddress('[::1]:22')).toEqual({ host: '::1', port: 22 });
    expect(parseAddress('fe80::1')).toEqual({ host: 'fe80::1' });
    expect(parseAddress('10.0.0.1:5986')).toEqual({ host: '10.0.0.1', port: 5986 });
    expect(parseAddress('web[01:03]:22')).toEqual({ host: 'web[01:03]', port: 22 });
    expect(parseAddress('not/a/host')).toBeUndefined();
    expect(expandHostEntry('web[1:2]:2201')).toEqual({ names: ['web1', 'web2'], port: 2201 });
  });
});

describe('shlex splitting of host lines', () => {
  it('follows POSIX quoting and # comments', () => {
    expect(shlexSplit(`h a="x y" b='z "q"' c=\\$d # tail`)).toEqual(['h', 'a=x y', `b=z "q"`, 'c=$d']);
    expect(shlexSplit('h a=b#c')).toEqual(['h', 'a=b']);
    expect(shlexSplit(`h e=""`)).toEqual(['h', 'e=']);
    expect(shlexSplit(`h "a\\"b"`)).toEqual(['h', 'a"b']);
    expect(() => shlexSplit(`h a="open`)).toThrow(/No closing quotation/);
  });
});

describe('INI inventories', () => {
  it('reads groups, ungrouped hosts, ports, children declared later and :vars', () => {
    const m = ini(`
bastion ansible_port=2222
[web]
web[1:2]:2201 tier=front
[prod:children]
web
late
[late]
late01
[prod:vars]
env = production # kept: :vars values run to the end of the line
count=3
`);
    expect(m.groups.get('ungrouped')!.hosts).toEqual(['bastion']);
    expect(m.groups.get('prod')!.children).toEqual(['web', 'late']);
    expect(m.groups.get('all')!.children).toEqual(['ungrouped', 'prod']);
    expect(m.hosts.get('web1')!.vars).toEqual({ ansible_port: 2201, tier: 'front' });
    expect(m.groups.get('prod')!.vars).toEqual({ env: 'production # kept: :vars values run to the end of the line', count: 3 });
    expect(m.hosts.get('web2')!.varOrigins.tier).toEqual({ file: '/inv/hosts.ini', line: 4 });
  });

  it('moves a host out of ungrouped once it is in a group', () => {
    const m = ini('h1\n[g]\nh1\n');
    expect(m.groups.get('ungrouped')!.hosts).toEqual([]);
    expect(m.groups.get('g')!.hosts).toEqual(['h1']);
  });

  it('keeps the first port of a host (Ansible applies a port only when the host is new)', () => {
    const m = ini('[a]\nh:2201\n[b]\nh:2202\n');
    expect(m.hosts.get('h')!.vars.ansible_port).toBe(2201);
  });

  it('takes ansible_group_priority out of the vars', () => {
    const m = ini('[g]\nh\n[g:vars]\nansible_group_priority=5\n');
    expect(m.groups.get('g')!.priority).toBe(5);
    expect(m.groups.get('g')!.vars).toEqual({});
  });

  const errors: Array<[string, string, number, RegExp]> = [
    ['unknown section type', '[g:hosts2]\n', 1, /unknown type/],
    ['spaces in a section', '[my group]\n', 1, /invalid section/],
    ['vars without key=value', '[g]\nh\n[g:vars]\noops\n', 4, /key=value/],
    ['host var without =', '[g]\nh novalue\n', 2, /key=value/],
    ['vars for a group never declared', '[ghost:vars]\na=1\n', 1, /never declared/],
    ['child never declared', '[p:children]\nnope\n', 2, /never declared/],
    ['bad range', '[g]\nweb[3:1]\n', 2, /backwards/],
    ['trailing colon', '[g]\nweb01:\n', 2, /port/],
    ['YAML given to the INI reader', '---\n', 1, /YAML/],
    ['unclosed quote', '[g]\nh a="x\n', 2, /closing quotation/],
    ['duplicate key in one [g:vars]', '[g]\nh\n[g:vars]\na=1\na=2\n', 5, /duplicate key "a"/],
    ['duplicate key on one host line', '[g]\nh a=1 a=2\n', 2, /duplicate key/],
    ['loop of children', '[a:children]\nb\n[b:children]\na\n', 4, /loop/],
    ['hostile host name', '[g]\n"evil;rm"\n', 2, /does not accept/],
    ['smart quotes in a name', '[g]\nweb‘01’\n', 2, /does not accept/],
  ];
  it.each(errors)('%s: error names file and line', (_title, text, line, re) => {
    expectInputError(() => ini(text), { file: '/inv/hosts.ini', line }, re);
  });

  it('counts lines like Python splitlines (form feeds and \\r included)', () => {
    expectInputError(() => ini('[g]\r\nh\fh2 x\n'), { line: 3 }, /key=value/);
  });

  it('names the host in host errors', () => {
    expectInputError(() => ini('[g]\nweb01 justaword\n'), { host: 'web01', line: 2 });
  });

  it('ignores a BOM and comment lines with ; or #', () => {
    const m = ini('\uFEFF; comment\n# another\n[g]\nh\n');
    expect(m.groups.get('g')!.hosts).toEqual(['h']);
  });
});
