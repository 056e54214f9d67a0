/**
 * "Log on as a service" (docs/reference/windows-services.md "Log on as a service right"): an account without
 * SeServiceLogonRight, or with a wrong password, is accepted when it is configured and fails at start with 1069.
 * The native seam answers LogonUserW(LOGON32_LOGON_SERVICE) with 1326 (wrong password / unknown account) or 1385
 * (logon type not granted), and LsaEnumerateAccountRights / LsaAddAccountRights for the right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { freePort, removeHost, runProbes, tempDir } from './helpers.js';

let stateDir: string;
let r: Record<string, any>;

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

  it('the rights of an account can be read and the right granted; then the service starts', () => {
    expect(r['rights']).toEqual({ runner: true, plain: false, ghost: 1332 });
    expect(r['grant']).toEqual({ grant: 0, now: true, start: 0 });
  });
});
