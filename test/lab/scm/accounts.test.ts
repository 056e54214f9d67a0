/**
 * Service accounts as the SCM treats them (docs/reference/windows-services.md "Accounts and passwords"): the
 * built-ins take "" as their password, virtual accounts (NT SERVICE\name) and managed accounts (name$) take NULL - a
 * password given to them breaks the logon at the next start with 1069 (Documented: ChangeServiceConfig lpPassword;
 * Confirmed for gMSAs: SqlServerDsc #1764).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { freePort, removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('accounts');
  const services = [];
  for (const name of ['VirtEmpty', 'VirtNull', 'GmsaPw', 'GmsaNull', 'LocalSvc']) {
    services.push({ name, binaryPath: `"C:\\Program Files\\App\\app.exe" --port ${await freePort()}`, start: false });
  }
  await initLabHost({ stateDir, services });
  r = runProbes(
    stateDir,
    `
function Change([string]$n, [hashtable]$a) { (Get-CimInstance Win32_Service -Filter "Name='$n'" | Invoke-CimMethod -MethodName Change -Arguments $a).ReturnValue }
function StartRc([string]$n) { $s = SC start $n; $s.rc }
P virtEmpty { @{ change = (Change VirtEmpty @{ StartName = 'NT SERVICE\\VirtEmpty'; StartPassword = '' }); start = (StartRc VirtEmpty) } }
P virtNull { @{ change = (Change VirtNull @{ StartName = 'NT SERVICE\\VirtNull' }); start = (StartRc VirtNull); name = (Get-CimInstance Win32_Service -Filter "Name='VirtNull'").StartName } }
P gmsaPw { @{ change = (Change GmsaPw @{ StartName = 'LAB\\svc-gmsa$'; StartPassword = 'x' }); start = (StartRc GmsaPw) } }
P gmsaNull { @{ change = (Change GmsaNull @{ StartName = 'LAB\\svc-gmsa$' }); start = (StartRc GmsaNull) } }
P localSvc { @{ change = (Change LocalSvc @{ StartName = 'NT AUTHORITY\\LocalService'; StartPassword = '' }); start = (StartRc LocalSvc) } }
`,
  );
}, 120_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('account passwords', () => {
  it('a virtual account with "" as its password fails to start with 1069; with NULL it starts', () => {
    expect(r['virtEmpty']).toEqual({ change: 0, start: 1069 });
    expect(r['virtNull']).toEqual({ change: 0, start: 0, name: 'NT SERVICE\\VirtNull' });
  });

  it('a managed account (name$) with a password fails to start with 1069; with NULL it starts', () => {
    expect(r['gmsaPw']).toEqual({ change: 0, start: 1069 });
    expect(r['gmsaNull']).toEqual({ change: 0, start: 0 });
  });

  it('a built-in account takes "" as its password', () => {
    expect(r['localSvc']).toEqual({ change: 0, start: 0 });
  });
});
