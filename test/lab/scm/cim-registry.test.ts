/**
 * Win32_Service over CIM (docs/reference/windows-services.md#win32_service-over-cim), the Services registry key (docs/reference/windows-services.md#the-service-registry-key, docs/reference/windows-services.md#change-through-the-scm-not-the-registry), take-effect of registry values
 * read at process start (docs/reference/windows-services.md#when-a-change-takes-effect, docs/reference/windows-services.md#environment-value), and icacls.exe + %ProgramData% inside the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost } from '../../../src/lab/host.js';
import { removeHost, freePort, httpGet, runProbes, tempDir, type ProbeResults } from './helpers.js';

const IMAGE = 'C:\\Program Files\\App\\app.exe';
let stateDir: string;
let port: number;
let r: ProbeResults;
let envAfter: Record<string, string>;
let argsAfter: string[];
let pidAtInit: number;

beforeAll(async () => {
  stateDir = tempDir('cim');
  port = await freePort();
  await initLabHost({
    stateDir,
    accounts: { '.\\svcuser': 'Secr3t!' },
    services: [
      {
        name: 'AppSvc',
        displayName: 'App Service',
        description: 'Demo app',
        binaryPath: `"${IMAGE}" --port ${port}`,
        startType: 'delayed-auto',
        dependencies: ['Tcpip', '+TDI'],
        environment: { APP_MODE: 'prod' },
        failure: { resetPeriod: 86400, actions: [{ type: 'restart', delayMs: 60000 }] },
      },
      { name: 'Other', binaryPath: `"${IMAGE}"`, startType: 'demand', start: false },
    ],
  });
  pidAtInit = readLabHost(stateDir).services['AppSvc']!.status.pid;
  r = runProbes(
    stateDir,
    `
$key = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AppSvc'
P cim { Get-CimInstance -ClassName Win32_Service -Filter "Name='AppSvc'" | Select-Object * -ExcludeProperty PSComputerName }
P cimTypes { $c = Get-CimInstance Win32_Service -Filter "Name='AppSvc'"; @{ pid = $c.ProcessId.GetType().Name; delayed = $c.DelayedAutoStart.GetType().Name; exit = $c.ExitCode.GetType().Name } }
P cimQuery { @(Get-CimInstance -Query "SELECT * FROM Win32_Service WHERE State = 'Running' AND Name LIKE 'App%'").Name }
P cimEscapes { @(Get-CimInstance Win32_Service -Filter "Name='it\\'s'").Count }
P cimNone { @(Get-CimInstance Win32_Service -Filter "Name='NoSuchSvc'").Count }
P cimBadClass { $e = $null; Get-CimInstance Win32_Process -ErrorVariable e -ErrorAction SilentlyContinue; "$($e[0].FullyQualifiedErrorId)" }
P setCim { $e = $null; Get-CimInstance Win32_Service -Filter "Name='AppSvc'" | Set-CimInstance -Property @{ DelayedAutoStart = $false } -ErrorVariable e -ErrorAction SilentlyContinue; "$($e[0].Exception.Message)" }
P changeDisplay { $x = Get-CimInstance Win32_Service -Filter "Name='Other'" | Invoke-CimMethod -MethodName Change -Arguments @{ DisplayName = 'Other Svc'; StartMode = 'Disabled' }; $c = Get-CimInstance Win32_Service -Filter "Name='Other'"; @{ rv = $x.ReturnValue; rvType = $x.ReturnValue.GetType().Name; dn = $c.DisplayName; sm = $c.StartMode } }
P changeBadMode { (Get-CimInstance Win32_Service -Filter "Name='Other'" | Invoke-CimMethod -MethodName Change -Arguments @{ StartMode = 'Auto' }).ReturnValue }
P changeStartMode { $x = Invoke-CimMethod -Query "SELECT * FROM Win32_Service WHERE Name='Other'" -MethodName ChangeStartMode -Arguments @{ StartMode = 'Manual' }; @{ rv = $x.ReturnValue; sm = (Get-CimInstance Win32_Service -Filter "Name='Other'").StartMode } }
P changeAccountBad { (Get-CimInstance Win32_Service -Filter "Name='Other'" | Invoke-CimMethod -MethodName Change -Arguments @{ StartName = '.\\nobody'; StartPassword = 'x' }).ReturnValue }
P changeAccount { $x = (Get-CimInstance Win32_Service -Filter "Name='Other'" | Invoke-CimMethod -MethodName Change -Arguments @{ StartName = '.\\svcuser'; StartPassword = 'Secr3t!' }).ReturnValue; @{ rv = $x; sn = (Get-CimInstance Win32_Service -Filter "Name='Other'").StartName } }
P changeDeps { $x = (Get-CimInstance Win32_Service -Filter "Name='Other'" | Invoke-CimMethod -MethodName Change -Arguments @{ ServiceDependencies = [string[]]@('RpcSs'); LoadOrderGroupDependencies = [string[]]@('TDI') }).ReturnValue; @{ rv = $x; qc = ((sc.exe qc Other) -join "\`n") } }
# Change(StartMode=Automatic) is ChangeServiceConfig: the delayed flag stays.
P changeAutoKeepsDelayed { $x = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'" | Invoke-CimMethod -MethodName Change -Arguments @{ StartMode = 'Automatic' }).ReturnValue; @{ rv = $x; d = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'").DelayedAutoStart } }
P regTypes { $p = Get-ItemProperty -Path $key; @{ Type = $p.Type.GetType().Name; Start = $p.Start; DelayedAutostart = $p.DelayedAutostart; ImagePath = $p.ImagePath; DependOnService = $p.DependOnService; DependOnGroup = $p.DependOnGroup; Environment = $p.Environment; EnvType = $p.Environment.GetType().Name; FA = $p.FailureActions.GetType().Name; PSChildName = $p.PSChildName; PSPath = $p.PSPath } }
P waas { ,[int[]](Get-ItemProperty -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\WaaSMedicSvc').FailureActions }
P appFa { ,[int[]](Get-ItemPropertyValue -Path $key -Name FailureActions) }
P getItem { $k = Get-Item $key; @{ name = $k.Name; kind = [string]$k.GetValueKind('Environment'); env = $k.GetValue('Environment'); missing = $k.GetValue('Nope', 'dflt'); names = $k.GetValueNames().Count -gt 5 } }
P testPath { @((Test-Path $key), (Test-Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\NoSuchSvc'), (Test-Path "$key\\Parameters"), (Test-Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services')) }
P missingValue { $e = $null; $v = Get-ItemProperty -Path $key -Name Nope -ErrorVariable e -ErrorAction SilentlyContinue; @{ v = $v; id = "$($e[0].FullyQualifiedErrorId)" } }
P missingKey { $e = $null; Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\NoSuchSvc' -ErrorVariable e -ErrorAction SilentlyContinue; "$($e[0].FullyQualifiedErrorId)" }
P wildcard { @(Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\App*').PSChildName }
P fsPassThrough { $f = Join-Path ([IO.Path]::GetTempPath()) "lab-$PID.txt"; Set-Content -LiteralPath $f -Value 'x'; $v = (Get-Item -LiteralPath $f).Length -gt 0; $t = Test-Path -LiteralPath $f; Remove-Item -LiteralPath $f; @($v, $t) }
# Direct registry writes (docs/reference/windows-services.md#change-through-the-scm-not-the-registry): DisplayName is served from the SCM's memory; Environment and ImagePath are read at
# the next process start.
P writeDisplay { Set-ItemProperty -Path $key -Name DisplayName -Value 'Hacked'; @{ reg = (Get-ItemProperty $key).DisplayName; qc = ((sc.exe qc AppSvc) -join "\`n"); cim = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'").DisplayName } }
P writeEnv { Set-ItemProperty -Path $key -Name Environment -Value @('APP_MODE=canary', 'EXTRA=1') -Type MultiString; (Get-ItemProperty $key).Environment }
P newExisting { $e = $null; New-ItemProperty -Path $key -Name Environment -PropertyType MultiString -Value @('A=1') -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null; "$($e[0].FullyQualifiedErrorId)" }
P newValue { (New-ItemProperty -Path $key -Name LabNote -PropertyType String -Value 'n').LabNote }
P removeValue { Remove-ItemProperty -Path $key -Name LabNote; Test-Path $key; (Get-ItemProperty $key).PSObject.Properties.Name -contains 'LabNote' }
P writeImage { Set-ItemProperty -Path $key -Name ImagePath -Value '"${IMAGE}" --port ${port} --workers 4'; ((sc.exe qc AppSvc) -join "\`n") }
P restart { $a = sc.exe stop AppSvc; $i = 0; while ((sc.exe query AppSvc | Select-String 'STOPPED') -eq $null -and $i -lt 200) { Start-Sleep -Milliseconds 25; $i++ }; $b = sc.exe start AppSvc; $i = 0; while ((sc.exe query AppSvc | Select-String 'RUNNING') -eq $null -and $i -lt 400) { Start-Sleep -Milliseconds 25; $i++ }; @{ qc = ((sc.exe qc AppSvc) -join "\`n") } }
P icacls {
  $dir = Join-Path $env:ProgramData 'svcfleet\\backups\\AppSvc'
  New-Item -ItemType Directory -Force -Path $dir | Out-Null
  $file = "$env:ProgramData\\svcfleet\\backups\\AppSvc\\run-1.json"
  Set-Content -Path $file -Value '{"a":1}' -Encoding UTF8
  $g = icacls.exe $file /inheritance:r /grant:r '*S-1-5-32-544:(F)' '*S-1-5-18:(F)'
  $rc = $LASTEXITCODE
  $d = icacls.exe $dir /inheritance:r /grant:r '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-18:(OI)(CI)F'
  $dirRc = $LASTEXITCODE
  $show = icacls.exe $file
  $miss = icacls.exe "$env:ProgramData\\nope.json" /inheritance:r; $missRc = $LASTEXITCODE
  $resolved = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($file)
  @{ resolved = $resolved; out = ($g -join "\`n"); rc = $rc; dirRc = $dirRc; show = ($show -join "\`n"); read = (Get-Content -Path $file -Raw).Trim(); missRc = $missRc; pd = $env:ProgramData }
}
`,
  );
  envAfter = JSON.parse((await httpGet(port, '/env')).body);
  argsAfter = JSON.parse((await httpGet(port, '/args')).body);
}, 180_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('Win32_Service (docs/reference/windows-services.md#win32_service-over-cim)', () => {
  it('has the documented properties and values', () => {
    expect(r.cim).toMatchObject({
      Name: 'AppSvc',
      DisplayName: 'App Service',
      Caption: 'App Service',
      Description: 'Demo app',
      PathName: `"${IMAGE}" --port ${port}`,
      StartMode: 'Auto',
      DelayedAutoStart: true,
      StartName: 'LocalSystem',
      State: 'Running',
      Started: true,
      AcceptStop: true,
      ProcessId: pidAtInit,
      ErrorControl: 'Normal',
      ServiceType: 'Own Process',
      ExitCode: 0,
      Status: 'OK',
    });
    expect(r.cimTypes).toEqual({ pid: 'UInt32', delayed: 'Boolean', exit: 'UInt32' });
  });

  it('filters and queries with WQL (quotes escaped with a backslash)', () => {
    expect(r.cimQuery).toEqual('AppSvc');
    expect(r.cimEscapes).toBe(0);
    expect(r.cimNone).toBe(0);
    expect(r.cimBadClass).toMatch(/^HRESULT 0x80041010/);
  });

  it('Set-CimInstance fails: the properties are read-only (docs/reference/windows-services.md#win32_service-over-cim)', () => {
    expect(r.setCim).toMatch(/read-only/);
  });

  it('Change(): null = no change, StartMode names, ReturnValue codes (docs/reference/windows-services.md#change-method)', () => {
    expect(r.changeDisplay).toEqual({ rv: 0, rvType: 'UInt32', dn: 'Other Svc', sm: 'Disabled' });
    expect(r.changeBadMode).toBe(21); // 'Auto' is a property value, not a Change() StartMode
    expect(r.changeStartMode).toEqual({ rv: 0, sm: 'Manual' });
    expect(r.changeAccountBad).toBe(22);
    expect(r.changeAccount).toEqual({ rv: 0, sn: '.\\svcuser' });
    expect(r.changeDeps.rv).toBe(0);
    expect(r.changeDeps.qc).toContain('        DEPENDENCIES       : RpcSs\n                           : +TDI\n');
    expect(r.changeAutoKeepsDelayed).toEqual({ rv: 0, d: true });
  });
});

describe('Services registry key (docs/reference/windows-services.md#the-service-registry-key)', () => {
  it('values have the registry types', () => {
    expect(r.regTypes).toEqual({
      Type: 'Int32',
      Start: 2,
      DelayedAutostart: 1,
      ImagePath: `"${IMAGE}" --port ${port}`,
      DependOnService: ['Tcpip'],
      DependOnGroup: ['TDI'],
      Environment: ['APP_MODE=prod'],
      EnvType: 'String[]',
      FA: 'Byte[]',
      PSChildName: 'AppSvc',
      PSPath: 'Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\AppSvc',
    });
  });

  it('FailureActions has the exact WaaSMedicSvc layout (docs/reference/windows-services.md#the-failureactions-registry-value worked example)', () => {
    const expected = Buffer.from('8403000000000000000000000300000014000000' + '01000000c0d40100' + '01000000e0930400' + '0000000000000000', 'hex');
    expect(r.waas).toEqual([...expected]);
    expect(r.waas).toHaveLength(44);
  });

  it('FailureActions of a configured service: reset, 0, 0, count, 0x14, {type, delay}', () => {
    const b = Buffer.from(r.appFa as number[]);
    expect([b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8), b.readUInt32LE(12), b.readUInt32LE(16), b.readUInt32LE(20), b.readUInt32LE(24)]).toEqual([
      86400, 0, 0, 1, 0x14, 1, 60000,
    ]);
  });

  it('Get-Item gives a RegistryKey look-alike', () => {
    expect(r.getItem).toEqual({
      name: 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\AppSvc',
      kind: 'MultiString',
      env: ['APP_MODE=prod'],
      missing: 'dflt',
      names: true,
    });
  });

  it('Test-Path, missing values and keys, wildcards, and other paths go to the real cmdlets', () => {
    expect(r.testPath).toEqual([true, false, false, true]);
    // Error ids as the registry provider's (a function appends its own name: ",Get-ItemProperty").
    expect(r.missingValue.v).toBeNull();
    expect(r.missingValue.id).toMatch(/^System\.Management\.Automation\.PSArgumentException,Microsoft\.PowerShell\.Commands\.GetItemPropertyCommand/);
    expect(r.missingKey).toMatch(/^PathNotFound,Microsoft\.PowerShell\.Commands\.GetItemPropertyCommand/);
    expect(r.wildcard).toBe('AppSvc');
    expect(r.fsPassThrough).toEqual([true, true]);
  });

  it('New-ItemProperty refuses an existing value; new values can be added and removed', () => {
    expect(r.newExisting).toMatch(/^System\.IO\.IOException,Microsoft\.PowerShell\.Commands\.NewItemPropertyCommand/);
    expect(r.newValue).toBe('n');
    expect(r.removeValue).toEqual([true, false]);
  });
});

describe('registry writes and take-effect (docs/reference/windows-services.md#when-a-change-takes-effect, docs/reference/windows-services.md#change-through-the-scm-not-the-registry)', () => {
  it('a direct DisplayName write shows in the registry only; the SCM keeps its in-memory record', () => {
    expect(r.writeDisplay.reg).toBe('Hacked');
    expect(r.writeDisplay.qc).toContain('DISPLAY_NAME       : App Service');
    expect(r.writeDisplay.cim).toBe('App Service');
  });

  it('Environment and ImagePath writes are used at the next start, not before', () => {
    expect(r.writeEnv).toEqual(['APP_MODE=canary', 'EXTRA=1']);
    // Before the restart, qc still shows the SCM's record.
    expect(r.writeImage).toContain(`BINARY_PATH_NAME   : "${IMAGE}" --port ${port}\n`);
    // After it, the new process has the new environment and command line, and the SCM record follows ImagePath.
    expect(r.restart.qc).toContain(`BINARY_PATH_NAME   : "${IMAGE}" --port ${port} --workers 4\n`);
    expect(envAfter['APP_MODE']).toBe('canary');
    expect(envAfter['EXTRA']).toBe('1');
    expect(argsAfter).toEqual(['--port', String(port), '--workers', '4']);
  });
});

describe('icacls.exe and %ProgramData%', () => {
  it('backups under $env:ProgramData land in the host; icacls records the ACL and chmods', () => {
    expect(r.icacls.pd).toBe(path.join(stateDir, 'fs', 'ProgramData'));
    expect(r.icacls.rc).toBe(0);
    expect(r.icacls.out).toMatch(/processed file: .*run-1\.json\nSuccessfully processed 1 files; Failed processing 0 files/);
    expect(r.icacls.dirRc).toBe(0);
    expect(r.icacls.read).toBe('{"a":1}');
    expect(r.icacls.show).toContain('BUILTIN\\Administrators:(F)');
    expect(r.icacls.show).toContain('NT AUTHORITY\\SYSTEM:(F)');
    expect(r.icacls.missRc).toBe(2);
    const file = path.join(stateDir, 'fs', 'ProgramData', 'svcfleet', 'backups', 'AppSvc', 'run-1.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(Object.keys(readLabHost(stateDir).acls)).toContain(file);
    // The path a script would hand to .NET file APIs (docs/lab.md, "Paths").
    expect(r.icacls.resolved).toBe(file);
  });
});
