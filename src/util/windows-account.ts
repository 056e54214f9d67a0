/**
 * Windows service account names: which spellings are the same account, and which kind of account a name is.
 * The remote engine has the same rules (ps-scripts/engine/35-target-config.ps1, ConvertTo-AccountKey and
 * Get-AccountKind); both are tested against test/util/fixtures/account-vectors.json.
 *
 * Two spellings of a built-in account are the same account exactly when they resolve to the same SID (S-1-5-18
 * SYSTEM, S-1-5-19 LocalService, S-1-5-20 NetworkService); `LocalSystem` does not translate through NTAccount and is
 * mapped by hand (docs/reference/windows-services.md "Built-in account spellings"). Virtual accounts (`NT SERVICE\x`)
 * and managed service accounts (`x$`) take a NULL password; the built-ins take "" (ChangeServiceConfig lpPassword,
 * "Virtual accounts and managed service accounts").
 */

export type AccountKind = 'builtin' | 'virtual' | 'managed' | 'user';

const BUILTIN_SID: Readonly<Record<string, string>> = {
  '': 'S-1-5-18',
  localsystem: 'S-1-5-18',
  '.\\localsystem': 'S-1-5-18',
  system: 'S-1-5-18',
  'nt authority\\system': 'S-1-5-18',
  localservice: 'S-1-5-19',
  '.\\localservice': 'S-1-5-19',
  'nt authority\\localservice': 'S-1-5-19',
  'nt authority\\local service': 'S-1-5-19',
  networkservice: 'S-1-5-20',
  '.\\networkservice': 'S-1-5-20',
  'nt authority\\networkservice': 'S-1-5-20',
  'nt authority\\network service': 'S-1-5-20',
};

/** One key per account: the SID for the built-ins, else the name in lower case (Windows names are case-insensitive). */
export function accountKey(name: string): string {
  const n = name.trim().toLowerCase();
  return BUILTIN_SID[n] ?? n;
}

export function sameAccount(a: string, b: string): boolean {
  return accountKey(a) === accountKey(b);
}

export function accountKind(name: string): AccountKind {
  const n = name.trim().toLowerCase();
  if (n in BUILTIN_SID) return 'builtin';
  if (n.startsWith('nt service\\')) return 'virtual';
  if (n.endsWith('$')) return 'managed';
  return 'user';
}

/** Whether Windows wants a password for this account when it is set (only ordinary user accounts do). */
export function accountTakesPassword(name: string): boolean {
  return accountKind(name) === 'user';
}
