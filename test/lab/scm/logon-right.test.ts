/**
 * "Log on as a service" (docs/reference/windows-services.md "Log on as a service right"): an account without
 * SeServiceLogonRight, or with a wrong password, is accepted when it is configured and fails at start with 1069.
 * The native seam answers LogonUserW(LOGON32_LOGON_SERVICE) with 1326 (wrong password / unknown account) or 1385
 * (logon type not granted), and LsaEnumerateAccountRights / LsaAddAccountRights for the right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { freePort, removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('logon');
  const services = [];
  for (const name of ['HasRight', 'NoRight', 'WrongPw'])
    services.push({ name, binaryPath: `"C:\\Program Files\\App\\app.exe" --port ${await freePort()}`, start: false });
  await initLabHost({ stateDir, services, accounts: { '.\\runner': 'pw-run', '.\\plain': { password: 'pw-plain', serviceLogonRight: false } } });
  r = runProbes(
    stateDir,
    `
function Change([string]$n, [hashtable]$a) { (Get-CimInstance Win32_Service -Filter "Name='$n'" | Invoke-CimMethod -MethodName Change -Arguments $a).ReturnValue }
function StartRc([string]$n) { $s = SC start $n; $s.rc }
P hasRight { @{ change = (Change HasRight @{ StartName = '.\\runner'; StartPassword = 'pw-run' }); start = (StartRc HasRight) } }
P noRight { @{ change = (Change NoRight @{ StartName = '.\\plain'; StartPassword = 'pw-plain' }); start = (StartRc NoRight) } }
P wrongPw { @{ change = (Change WrongPw @{ StartName = '.\\runner'; StartPassword = 'nope' }); start = (StartRc WrongPw) } }
P logon { @{ ok = (EmulatedScm\\Invoke-LabLogonUser -Account '.\\runner' -Secret @{ password = 'pw-run' }).code; wrong = (EmulatedScm\\Invoke-LabLogonUser -Account '.\\runner' -Secret @{ password = 'x' }).code; unknown = (EmulatedScm\\Invoke-LabLogonUser -Account '.\\ghost' -Secret @{ password = 'x' }).code; noRight = (EmulatedScm\\Invoke-LabLogonUser -Account '.\\plain' -Secret @{ password = 'pw-plain' }).code } }
P rights { @{ runner = (EmulatedScm\\Invoke-LabGetLogonRight -Account '.\\runner').granted; plain = (EmulatedScm\\Invoke-LabGetLogonRight -Account '.\\plain').granted; ghost = (EmulatedScm\\Invoke-LabGetLogonRight -Account '.\\ghost').code } }
P grant { $g = (EmulatedScm\\Invoke-LabGrantLogonRight -Account '.\\plain').code; @{ grant = $g; now = (EmulatedScm\\Invoke-LabGetLogonRight -Account '.\\plain').granted; start = (StartRc NoRight) } }
function Lab([scriptblock]$b) { & (Get-Module EmulatedScm) $b }
P users {
  $before = Lab { Get-LabAccountCensus }
  $made = Lab { Add-LabLocalUser -Name 'tidy' -Secret @{ password = 'pw-t1' } }
  $again = (Lab { Add-LabLocalUser -Name 'tidy' -Secret @{ password = 'x' } }).code
  $fresh = (Lab { Get-LabAccountRight -Account '.\\tidy' }).granted
  $logon = (EmulatedScm\\Invoke-LabLogonUser -Account '.\\tidy' -Secret @{ password = 'pw-t1' }).code
  [void](EmulatedScm\\Invoke-LabGrantLogonRight -Account '.\\tidy')
  $revoke = (Lab { Invoke-LabRevokeLogonRight -Account '.\\tidy' }).code
  $del = (Lab { Remove-LabLocalUser -Name 'tidy' }).code
  $tidy = Lab { Get-LabAccountCensus }
  [void](Lab { Add-LabLocalUser -Name 'sloppy' -Secret @{ password = 'pw-s1' } })
  [void](EmulatedScm\\Invoke-LabGrantLogonRight -Account '.\\sloppy')
  [void](Lab { Remove-LabLocalUser -Name 'sloppy' })
  $sloppy = Lab { Get-LabAccountCensus }
  @{ before = $before; sid = $made.sid; again = $again; fresh = $fresh; logon = $logon; revoke = $revoke; del = $del; tidy = $tidy; sloppy = $sloppy
     gone = (Lab { Remove-LabLocalUser -Name 'sloppy' }).code; unknown = (Lab { Invoke-LabRevokeLogonRight -Account '.\\ghost' }).code }
}
`,
  );
}, 120_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('log on as a service', () => {
  it('configuring succeeds either way; the start fails with 1069 without the right or with a wrong password', () => {
    expect(r['hasRight']).toEqual({ change: 0, start: 0 });
    expect(r['noRight']).toEqual({ change: 0, start: 1069 });
    expect(r['wrongPw']).toEqual({ change: 0, start: 1069 });
  });

  it('LogonUser(LOGON32_LOGON_SERVICE) tells a wrong password (1326) from a missing right (1385)', () => {
    expect(r['logon']).toEqual({ ok: 0, wrong: 1326, unknown: 1326, noRight: 1385 });
  });

  it('a new local user lacks the right; revoked then deleted it leaves nothing, deleted holding it leaves its SID', () => {
    const u = r['users'];
    const census = { users: ['.\\plain', '.\\runner'], logonRight: ['.\\plain', '.\\runner'] };
    expect(u.before).toEqual(census);
    expect(u.sid).toMatch(/^S-1-5-21-\d+-\d+-\d+-1000$/);
    expect(u).toMatchObject({ again: 2224, fresh: false, logon: 1385, revoke: 0, del: 0, gone: 2221, unknown: 1332 });
    expect(u.tidy).toEqual(census);
    // LsaEnumerateAccountsWithUserRight still lists the deleted user's SID: an orphan in the policy.
    expect(u.sloppy).toEqual({ users: census.users, logonRight: [...census.logonRight, 'S-1-5-21-3000000000-3000000001-3000000002-1001'].sort() });
  });

  it('the rights of an account can be read and the right granted; then the service starts', () => {
    expect(r['rights']).toEqual({ runner: true, plain: false, ghost: 1332 });
    expect(r['grant']).toEqual({ grant: 0, now: true, start: 0 });
  });
});
