import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupTree, readInventory } from '../../src/inventory/load.js';
import { globToRegex, matchPattern, selectHosts, splitHostPattern } from '../../src/inventory/pattern.js';
import { expectInputError, tmpTree } from './helpers.js';

const dir = tmpTree({
  'hosts.ini': `
solo
[web]
web[01:05]
[db]
db-[a:c]
[prod:children]
web
db
[canary]
web01
`,
  'limit.txt': 'web01\n\n!web02\nweb02\ndb-a\n',
});
const tree = groupTree(readInventory({ sources: join(dir, 'hosts.ini') }));
const sel = (p: string | string[]): string[] => selectHosts(tree, p, { cwd: dir });

describe('Ansible host patterns', () => {
  it('splits on commas, on colons outside brackets, and keeps addresses whole', () => {
    expect(splitHostPattern('web:&prod:!web03')).toEqual(['web', '&prod', '!web03']);
    expect(splitHostPattern(' a , b[1:2] ,, c ')).toEqual(['a', 'b[1:2]', 'c']);
    expect(splitHostPattern('web[0:2]')).toEqual(['web[0:2]']);
    expect(splitHostPattern('[::1]:22')).toEqual(['[::1]:22']);
    expect(splitHostPattern('fe80::1')).toEqual(['fe80::1']);
  });

  it('applies union, then intersections, then exclusions, in inventory order', () => {
    expect(sel('web:&prod:!web03')).toEqual(['web01', 'web02', 'web04', 'web05']);
    expect(sel('!web03:web')).toEqual(['web01', 'web02', 'web04', 'web05']);
    expect(sel('db,solo')).toEqual(['solo', 'db-a', 'db-b', 'db-c']);
    expect(sel('&canary')).toEqual(['web01']); // only & or ! means "all" first
    expect(sel('all:!prod')).toEqual(['solo']);
    expect(sel('*')).toHaveLength(9);
  });

  it('matches globs over groups and hosts, and ~regex from the start of the name', () => {
    expect(sel('web0[!345]')).toEqual(['web01', 'web02']);
    expectInputError(() => sel('web0[1-2]'), { field: 'limit' }, /"web0\[1-2\]" matches no host/); // a (deprecated) subscript of "web0", as in Ansible
    expect(sel('db-?')).toEqual(['db-a', 'db-b', 'db-c']);
    expect(sel('pro*')).toEqual(['web01', 'web02', 'web03', 'web04', 'web05', 'db-a', 'db-b', 'db-c']);
    expect(sel('~(web0[45]|db-c)')).toEqual(['web04', 'web05', 'db-c']);
    expectInputError(() => sel('~eb'), { field: 'limit' }, /matches no host/); // re.match anchors at the start
  });

  it('takes subscripts of what a pattern matched', () => {
    expect(sel('web[0]')).toEqual(['web01']);
    expect(sel('web[-1]')).toEqual(['web05']);
    expect(sel('web[1:2]')).toEqual(['web02', 'web03']);
    expect(sel('web[3:]')).toEqual(['web04', 'web05']);
    expectInputError(() => sel('web[9]'), { field: 'limit' }, /no host at index 9/);
  });

  it('reads @file limits, one pattern per line', () => {
    expect(sel('@limit.txt')).toEqual(['web01', 'db-a']);
    expectInputError(() => sel('@missing.txt'), { field: 'limit' }, /cannot read limit file/);
  });

  it('refuses a term that matches nothing, even in an exclusion (Ansible only warns)', () => {
    expectInputError(() => sel('web:!web3'), { field: 'limit' }, /"web3" matches no host or group/);
    expectInputError(() => sel('nosuch'), { field: 'limit' }, /nosuch/);
    expectInputError(() => sel('web:&db'), { field: 'limit' }, /selects no hosts/);
    expectInputError(() => sel('~('), { field: 'limit' }, /invalid pattern/);
    expectInputError(() => sel('localhost'), { field: 'limit' }, /matches no host/); // no implicit localhost
  });

  it('translates globs like Python fnmatch', () => {
    expect(new RegExp(`^${globToRegex('a[!b]c')}$`).test('axc')).toBe(true);
    expect(new RegExp(`^${globToRegex('a[!b]c')}$`).test('abc')).toBe(false);
    expect(new RegExp(`^${globToRegex('a[b')}$`).test('a[b')).toBe(true);
    expect(new RegExp(`^${globToRegex('a.b')}$`).test('axb')).toBe(false);
    expect(new RegExp(`^${globToRegex('[]]')}$`).test(']')).toBe(true);
  });

  it('gives the hosts of a pattern for canary lists', () => {
    expect(matchPattern(tree, 'canary')).toEqual(['web01']);
  });
});

describe('selections are explicit', () => {
  const empty = tmpTree({ 'empty.txt': '', 'blank.txt': '\n  \n\t\n' });
  it('refuses an empty pattern, list or file, naming the flag; all and * select every host', () => {
    for (const p of ['', ' ', ',', ' , ,', ['', 'web01'], []]) {
      expectInputError(() => selectHosts(tree, p, { cwd: dir, field: '--limit' }), { field: '--limit' }, /empty|no pattern/);
    }
    for (const f of ['empty.txt', 'blank.txt']) {
      expectInputError(() => selectHosts(tree, `@${f}`, { cwd: empty, field: '--limit' }), { field: '--limit' }, new RegExp(`${f}.*names no host`));
    }
    expect(sel('all')).toHaveLength(9);
    expect(sel('*')).toHaveLength(9);
  });

  it('refuses an empty --hosts pattern (rollback/resume/retry) instead of selecting the whole run', () => {
    for (const p of ['', ' ', ',', ':']) expectInputError(() => matchPattern(tree, p, '--hosts'), { field: '--hosts' }, /empty/);
    expect(matchPattern(tree, 'all', '--hosts')).toHaveLength(9);
  });

  it("the README's patterns select hosts (Ansible reads web0[1-3] as a subscript, so ranges of names are ~regex)", () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const patterns = [...readme.matchAll(/--(?:hosts|limit) '([^']+)'/g)].map((m) => m[1]!);
    expect(patterns.length).toBeGreaterThanOrEqual(2);
    for (const p of patterns) expect(matchPattern(tree, p, '--hosts').length, p).toBeGreaterThan(0);
  });
});
