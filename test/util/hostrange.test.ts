import { describe, expect, it } from 'vitest';
import { compareHostNames, expandHosts, foldHosts } from '../../src/util/hostrange.js';
import { InputError } from '../../src/util/errors.js';

describe('foldHosts', () => {
  it('folds consecutive numbers and keeps zero padding', () => {
    const hosts = Array.from({ length: 37 }, (_, i) => `web${String(i + 1).padStart(2, '0')}`);
    expect(foldHosts([...hosts, 'web40', 'db1'])).toBe('db1,web[01-37,40]');
  });

  it('sorts naturally whatever the input order, and drops duplicates', () => {
    expect(foldHosts(['web10', 'web2', 'web1', 'web2', 'web3'])).toBe('web[1-3,10]');
    expect([...['web10', 'web9', 'web1']].sort(compareHostNames)).toEqual(['web1', 'web9', 'web10']);
  });

  it('keeps padded and unpadded numbers apart, but lets 10 join a width-2 padded range', () => {
    expect(foldHosts(['web08', 'web09', 'web10', 'web11'])).toBe('web[08-11]');
    expect(foldHosts(['web1', 'web01'])).toBe('web1,web01');
    expect(foldHosts(['web9', 'web10'])).toBe('web[9-10]');
  });

  it('folds on the last number and keeps suffixes', () => {
    expect(foldHosts(['rack1-node01.corp', 'rack1-node02.corp', 'rack2-node01.corp'])).toBe('rack1-node[01-02].corp,rack2-node01.corp');
  });

  it('leaves names without digits, or with range syntax, as they are', () => {
    expect(foldHosts(['alpha', 'beta', 'x[1]'])).toBe('alpha,beta,x[1]');
    expect(foldHosts([])).toBe('');
    expect(foldHosts(['solo7'])).toBe('solo7');
  });

  it('round-trips through expandHosts', () => {
    const hosts = ['web001', 'web002', 'web003', 'web010', 'db1', 'db2', 'cache', 'n9', 'n10', 'n11'];
    const folded = foldHosts(hosts);
    expect(new Set(expandHosts(folded))).toEqual(new Set(hosts));
  });
});

describe('expandHosts', () => {
  it('expands lists, ranges, padding and several brackets', () => {
    expect(expandHosts('web[01-03,07],db1')).toEqual(['web01', 'web02', 'web03', 'web07', 'db1']);
    expect(expandHosts('r[1-2]-n[1-2]')).toEqual(['r1-n1', 'r1-n2', 'r2-n1', 'r2-n2']);
  });

  it('refuses bad syntax and huge expansions with an InputError', () => {
    for (const bad of ['web[1-', 'web[a-b]', 'web[3-1]', 'web]1[', 'x[[1]]']) {
      expect(() => expandHosts(bad), bad).toThrow(InputError);
    }
    expect(() => expandHosts('web[1-99999999]')).toThrow(/more than/);
  });
});
