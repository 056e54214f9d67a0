/**
 * The delayed auto-start flag in the emulated SCM (docs/reference/windows-services.md "Delayed auto-start flag"): a
 * boolean of its own beside the start type, ignored unless the start type is automatic, kept as it is by
 * ChangeServiceConfig and everything built on it (Win32_Service.Change, 5.1's Set-Service), so a service moved
 * delayed -> manual -> automatic through them comes back delayed (PowerShell-Docs #4354, PSAppDeployToolkit #89).
 * Only ChangeServiceConfig2(SERVICE_CONFIG_DELAYED_AUTO_START_INFO) writes it explicitly, true or false, as Ansible's
 * SCManager does on every start-mode change. All probes run in one pwsh (helpers.runProbes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost } from '../../../src/lab/host.js';
import { enginePath, nativePath } from '../../ps-scripts/pwsh.js';
import { removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

const IMAGE = '"C:\\Program Files\\App\\app.exe"';
let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('delayed');
  await initLabHost({
    stateDir,
    services: [
      { name: 'Dly', binaryPath: IMAGE, start: false, startType: 'delayed-auto' },
      { name: 'Dis', binaryPath: IMAGE, start: false, startType: 'delayed-auto' },
      { name: 'Denied', binaryPath: IMAGE, start: false, startType: 'delayed-auto' },
    ],
    faults: [{ kind: 'access-denied', service: 'Denied', ops: ['config'] }],
  });
  const engine = enginePath.replace(/'/g, "''");
  const native = nativePath.replace(/'/g, "''");
  r = runProbes(
    stateDir,
    String.raw`
. '${engine}'
# The native code piece, as the bootstrap hands it to the engine; dot-sourced, it defines the C# sources.
$NativeCode = [IO.File]::ReadAllText('${native}')
. ([ScriptBlock]::Create($NativeCode))
function Look($n) {
  $c = Get-CimInstance Win32_Service -Filter "Name='$n'"
  $p = Get-ItemProperty -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$n"
  @{ mode = $c.StartMode; cim = $c.DelayedAutoStart; reg = $p.DelayedAutostart; qc = (((sc.exe qc $n) | Where-Object { $_ -match 'START_TYPE' }) -join '').Trim() }
}
function Change($n, $mode) { (Get-CimInstance Win32_Service -Filter "Name='$n'" | Invoke-CimMethod -MethodName Change -Arguments @{ StartMode = $mode }).ReturnValue }
function Flag($n, [bool]$d) { $api = 'unset'; $c = [Svcfleet.Native.ServiceFailureActions]::WriteDelayedAutoStart($n, $d, [ref]$api); @{ code = $c; api = $api } }
P manual { $rv = Change Dly Manual; @{ rv = $rv; look = (Look Dly) } }
P backToAuto { $rv = Change Dly Automatic; @{ rv = $rv; look = (Look Dly) } }
P disabled { $o = sc.exe config Dis start= disabled; @{ rc = $LASTEXITCODE; look = (Look Dis) } }
P disabledToAuto { $rv = Change Dis Automatic; @{ rv = $rv; look = (Look Dis) } }
P compile { Add-Type -TypeDefinition $NativeFailureActionsSource; 'ok' }
P clearOnDemand { $rv = Change Dly Manual; $w = Flag Dly $false; $rv2 = Change Dly Automatic; @{ rv = $rv; w = $w; rv2 = $rv2; look = (Look Dly) } }
P setOnAuto { $w = Flag Dly $true; @{ w = $w; look = (Look Dly) } }
P clearOnAuto { $w = Flag Dly $false; @{ w = $w; look = (Look Dly) } }
P missing { Flag NoSuchSvc $false }
P denied { Flag Denied $false }
`,
  );
}, 180_000);

afterAll(async () => {
  await removeHost(stateDir);
});

const DELAYED = 'START_TYPE         : 2   AUTO_START  (DELAYED)';
const AUTO = 'START_TYPE         : 2   AUTO_START';

describe('the delayed flag survives ChangeServiceConfig (PowerShell-Docs #4354, PSAppDeployToolkit #89)', () => {
  it('delayed -> Change(Manual): demand; the flag is stored but not shown as a start type', () => {
    expect(r.manual.rv).toBe(0);
    expect(r.manual.look).toEqual({ mode: 'Manual', cim: false, reg: 1, qc: 'START_TYPE         : 3   DEMAND_START' });
  });

  it('-> Change(Automatic): back to delayed, in CIM, sc qc and the registry', () => {
    expect(r.backToAuto.rv).toBe(0);
    expect(r.backToAuto.look).toEqual({ mode: 'Auto', cim: true, reg: 1, qc: DELAYED });
  });

  it('delayed -> sc config start= disabled -> Change(Automatic): delayed again', () => {
    expect(r.disabled.rc).toBe(0);
    expect(r.disabled.look).toMatchObject({ mode: 'Disabled', cim: false, reg: 1 });
    expect(r.disabledToAuto.rv).toBe(0);
    expect(r.disabledToAuto.look).toEqual({ mode: 'Auto', cim: true, reg: 1, qc: DELAYED });
  });
});

describe('ChangeServiceConfig2(SERVICE_CONFIG_DELAYED_AUTO_START_INFO), emulated', () => {
  it('writes the flag on any start type; false on a demand service makes the later move to auto plain auto', () => {
    expect(r.compile).toBe('ok');
    expect(r.clearOnDemand.w).toEqual({ code: 0, api: null });
    expect([r.clearOnDemand.rv, r.clearOnDemand.rv2]).toEqual([0, 0]);
    expect(r.clearOnDemand.look).toEqual({ mode: 'Auto', cim: false, reg: null, qc: AUTO });
  });

  it('sets and clears it on an auto service', () => {
    expect(r.setOnAuto.w).toEqual({ code: 0, api: null });
    expect(r.setOnAuto.look).toEqual({ mode: 'Auto', cim: true, reg: 1, qc: DELAYED });
    expect(r.clearOnAuto.look).toEqual({ mode: 'Auto', cim: false, reg: null, qc: AUTO });
    expect(readLabHost(stateDir).services['Dly']).toMatchObject({ startType: 'auto', delayedAutoStart: false });
  });

  it('answers with the Win32 errors of OpenService', () => {
    expect(r.missing).toEqual({ code: 1060, api: 'OpenService' });
    expect(r.denied).toEqual({ code: 5, api: 'OpenService' });
  });
});
