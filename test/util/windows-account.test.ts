/** Account spellings and kinds; the engine is checked against the same vectors (test/ps-scripts/engine-accounts.test.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accountKey, accountKind, accountTakesPassword, sameAccount } from '../../src/util/windows-account.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/account-vectors.json', import.meta.url), 'utf8')) as Array<[string, string, string]>;

describe('windows accounts', () => {
  it.each(vectors)('%j -> key %j, kind %j', (name, key, kind) => {
    expect(accountKey(name)).toBe(key);
    expect(accountKind(name)).toBe(kind);
  });

  it('every spelling of a built-in account is the same account', () => {
    expect(sameAccount('LocalSystem', 'NT AUTHORITY\\SYSTEM')).toBe(true);
    expect(sameAccount('.\\LocalSystem', 'localsystem')).toBe(true);
    expect(sameAccount('NT AUTHORITY\\LocalService', 'LocalService')).toBe(true);
    expect(sameAccount('NT AUTHORITY\\LocalService', 'NT AUTHORITY\\NetworkService')).toBe(false);
  });

  it('only ordinary user accounts take a password', () => {
    expect(vectors.filter(([n]) => accountTakesPassword(n)).map(([n]) => n)).toEqual(['.\\svcuser', 'CONTOSO\\Alice']);
  });
});
