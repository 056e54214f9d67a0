/**
 * Get-/Set-/Start-/Stop-/Restart-Service as Windows PowerShell 5.1 has them (docs/reference/powershell.md#service-cmdlets-in-51-and-7), and the module's side
 * of the shared command-line vectors.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { removeHost, freePort, runProbes, tempDir, type ProbeResults } from './helpers.js';

const IMAGE = 'C:\\Program Files\\App\\app.exe';
let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('svc');
  const [p1, p2] = [await freePort(), await freePort()];
  await initLabHost({
    stateDir,
    services: [
      { name: 'AppSvc', displayName: 'App Service', binaryPath: `"${IMAGE}" --port ${p1}`, startType: 'delayed-auto', dependencies: ['Tcpip'] },
      { name: 'Child', binaryPath: `"${IMAGE}" --port ${p2}`, dependencies: ['AppSvc'] },
      { name: 'Off', binaryPath: `"${IMAGE}"`, startType: 'disabled' },
      { name: 'Broken', binaryPath: `"${IMAGE}"`, startType: 'demand', start: false },
    ],
  });
  const vectors = path.join(import.meta.dirname, 'fixtures', 'cmdline-vectors.json').replace(/'/g, "''");
  r = runProbes(
    stateDir,
    `
P props { $s = Get-Service -Name AppSvc; @{ names = @($s.PSObject.Properties.Name); status = [string]$s.Status; startType = [string]$s.StartType; type = [string]$s.ServiceType; canStop = $s.CanStop; dn = $s.DisplayName; typeName = $s.PSObject.TypeNames[0] } }
P deps { $s = Get-Service AppSvc; @{ dependents = @($s.DependentServices | ForEach-Object Name); on = @($s.ServicesDependedOn | ForEach-Object Name); ds = @(Get-Service AppSvc -DependentServices | ForEach-Object Name) } }
P wildcard { @(Get-Service -Name 'App*' | ForEach-Object Name) }
P byDisplayName { (Get-Service -DisplayName 'App Service').Name }
P notFound { $e = $null; Get-Service NoSuch -ErrorVariable e -ErrorAction SilentlyContinue; @{ id = "$($e[0].FullyQualifiedErrorId)"; msg = $e[0].Exception.Message; cat = [string]$e[0].CategoryInfo.Category } }
P notFoundWildcard { $e = $null; $x = @(Get-Service 'NoSuch*' -ErrorVariable e); @($x.Count, $e.Count) }
P delayedBinding { try { Set-Service -Name AppSvc -StartupType AutomaticDelayedStart; 'bound' } catch { $_.Exception -is [System.Management.Automation.ParameterBindingException] } }
P setDescriptionKeepsDelayed { Set-Service -Name AppSvc -Description 'new text' -DisplayName 'App Service 2'; @{ qc = ((sc.exe qc AppSvc) -join "\`n"); d = ((sc.exe qdescription AppSvc) -join "\`n") } }
P setStartupManual { Set-Service -Name Broken -StartupType Manual -PassThru | ForEach-Object { [string]$_.StartType } }
P stopWithDependents { $e = $null; Stop-Service -Name AppSvc -ErrorVariable e -ErrorAction SilentlyContinue; @{ id = "$($e[0].FullyQualifiedErrorId)"; status = [string](Get-Service AppSvc).Status } }
P stopForce { $pid0 = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'").ProcessId; Stop-Service -Name AppSvc -Force; @{ app = [string](Get-Service AppSvc).Status; child = [string](Get-Service Child).Status; pid0 = $pid0 } }
P start { Start-Service -Name AppSvc; @{ status = [string](Get-Service AppSvc).Status; pid = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'").ProcessId } }
P restart { $a = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'").ProcessId; Get-Service AppSvc | Restart-Service; $b = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'").ProcessId; @{ a = $a; b = $b; status = [string](Get-Service AppSvc).Status } }
P startDisabled { $e = $null; Start-Service Off -ErrorVariable e -ErrorAction SilentlyContinue; @{ id = "$($e[0].FullyQualifiedErrorId)"; msg = $e[0].Exception.Message; win32 = $e[0].Exception.InnerException.NativeErrorCode } }
P startFails { [void](sc.exe config Broken binpath= '\\"${IMAGE}\\" --nope'); $e = $null; Start-Service Broken -ErrorVariable e -ErrorAction SilentlyContinue; @{ id = "$($e[0].FullyQualifiedErrorId)"; msg = $e[0].Exception.Message } }
P eapStop { $ErrorActionPreference = 'Stop'; try { Start-Service Off; 'no throw' } catch { 'threw' } }
P methods { $s = Get-Service Child; $s.Start(); $s.WaitForStatus('Running', [TimeSpan]::FromSeconds(10)); $s.Refresh(); $a = [string]$s.Status; $s.Stop(); $s.WaitForStatus('Stopped', '00:00:10'); @($a, [string]$s.Status) }
P setStatus { Set-Service -Name Child -Status Running; [string](Get-Service Child).Status }
P vectors {
  $v = Get-Content -Raw -LiteralPath '${vectors}' | ConvertFrom-Json
  $bad = @()
  foreach ($t in $v.split) { $got = EmulatedScm\\Split-LabArgs $t.in; if (($got -join [char]0) -cne (@($t.out) -join [char]0)) { $bad += "split $($t.in) -> $($got -join '|')" } }
  foreach ($t in $v.resolve) {
    $res = EmulatedScm\\Resolve-LabImage -State @{ installedFiles = @($t.installed) } -CommandLine $t.line
    $exe = if ($res) { $res.exe } else { $null }
    $a = if ($res) { @($res.args) -join [char]0 } else { $null }
    $want = if ($null -ne $t.args) { @($t.args) -join [char]0 } else { $null }
    if ($exe -cne $t.exe -or $a -cne $want) { $bad += "resolve $($t.line) -> $exe | $a" }
  }
  $bad
}
`,
  );
}, 240_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('Get-Service (5.1, docs/reference/powershell.md#service-cmdlets-in-51-and-7)', () => {
  it('returns ServiceController-like objects without the PS 6+ properties', () => {
    expect(r.props.typeName).toBe('System.ServiceProcess.ServiceController');
    expect(r.props.names).toEqual(
      expect.arrayContaining([
        'Name',
        'ServiceName',
        'DisplayName',
        'Status',
        'StartType',
        'ServiceType',
        'CanStop',
        'DependentServices',
        'ServicesDependedOn',
      ]),
    );
    for (const ps7 of ['BinaryPathName', 'UserName', 'Description', 'DelayedAutoStart', 'StartupType']) expect(r.props.names).not.toContain(ps7);
    // No delayed distinction in StartType.
    expect(r.props).toMatchObject({ status: 'Running', startType: 'Automatic', type: 'Win32OwnProcess', canStop: true, dn: 'App Service' });
  });
  it('dependents and dependencies; wildcards; display names', () => {
    expect(r.deps).toEqual({ dependents: ['Child'], on: ['Tcpip'], ds: ['Child'] });
    expect(r.wildcard).toEqual('AppSvc');
    expect(r.byDisplayName).toBe('AppSvc');
  });
  it('a missing name is a cmdlet error (not thrown); a wildcard that matches nothing is silent', () => {
    expect(r.notFound.id).toMatch(/^NoServiceFoundForGivenName,Microsoft\.PowerShell\.Commands\.GetServiceCommand/);
    expect(r.notFound.msg).toBe("Cannot find any service with service name 'NoSuch'.");
    expect(r.notFound.cat).toBe('ObjectNotFound');
    expect(r.notFoundWildcard).toEqual([0, 0]);
  });
});

describe('Set-Service (5.1)', () => {
  it('AutomaticDelayedStart fails parameter binding (docs/reference/powershell.md#service-cmdlets-in-51-and-7)', () => {
    expect(r.delayedBinding).toBe(true);
  });
  it('-Description/-DisplayName do not touch the delayed flag in 5.1 (only PS 7 rewrites it, docs/reference/windows-services.md#delayed-auto-start-flag)', () => {
    expect(r.setDescriptionKeepsDelayed.qc).toContain('2   AUTO_START  (DELAYED)');
    expect(r.setDescriptionKeepsDelayed.qc).toContain('DISPLAY_NAME       : App Service 2');
    expect(r.setDescriptionKeepsDelayed.d).toContain('DESCRIPTION:  new text');
    expect(r.setStartupManual).toBe('Manual');
  });
  it('-Status Running starts and waits', () => {
    expect(r.setStatus).toBe('Running');
  });
});

describe('Start-/Stop-/Restart-Service (5.1)', () => {
  it('Stop-Service refuses a service with running dependents unless -Force', () => {
    expect(r.stopWithDependents.id).toMatch(/^ServiceHasDependentServices,Microsoft\.PowerShell\.Commands\.StopServiceCommand/);
    expect(r.stopWithDependents.status).toBe('Running');
    expect(r.stopForce).toMatchObject({ app: 'Stopped', child: 'Stopped' });
  });
  it('Start-Service waits for RUNNING; Restart-Service gives a new process', () => {
    expect(r.start.status).toBe('Running');
    expect(r.start.pid).not.toBe(r.stopForce.pid0);
    expect(r.restart.status).toBe('Running');
    expect(r.restart.b).not.toBe(r.restart.a);
  });
  it('failures are cmdlet errors with the 5.1 ids, messages and the Win32 code inside', () => {
    expect(r.startDisabled.id).toMatch(/^CouldNotStartService,Microsoft\.PowerShell\.Commands\.StartServiceCommand/);
    expect(r.startDisabled.msg).toBe("Service 'Off (Off)' cannot be started due to the following error: Cannot start service Off on computer '.'.");
    expect(r.startDisabled.win32).toBe(1058);
    expect(r.startFails.id).toMatch(/^StartServiceFailed,Microsoft\.PowerShell\.Commands\.StartServiceCommand/);
    expect(r.startFails.msg).toBe("Service 'Broken (Broken)' start failed.");
  });
  it("follow the caller's $ErrorActionPreference like a real cmdlet", () => {
    expect(r.eapStop).toBe('threw');
  });
  it('ServiceController methods Start/Stop/WaitForStatus/Refresh work', () => {
    expect(r.methods).toEqual(['Running', 'Stopped']);
  });
});

describe('the module splits command lines like the TypeScript side', () => {
  it('agrees on every vector of fixtures/cmdline-vectors.json', () => {
    expect(r.vectors ?? []).toEqual([]);
  });
});
