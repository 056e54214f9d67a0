/**
 * Running dependents in the emulated SCM (docs/reference/windows-services.md "Stopping a service with running
 * dependents"): ControlService(STOP) fails with 1051 while a service that depends on this one runs, and the SCM never
 * stops dependents itself; Win32_Service.StopService answers 3. Get-Service's DependentServices lists the dependents,
 * and works in a runspace that already holds PowerShell's own type data for ServiceController (the engine's case).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

const APP = '"C:\\Program Files\\App\\app.exe"';
let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('dependents');
  await initLabHost({
    stateDir,
    services: [
      { name: 'Base', binaryPath: APP },
      { name: 'Dep1', binaryPath: APP, dependencies: ['Base'] },
      { name: 'Dep2', binaryPath: APP, dependencies: ['Dep1'] },
    ],
  });
  r = runProbes(
    stateDir,
    String.raw`
function St($n) { [string](Get-CimInstance Win32_Service -Filter "Name='$n'").State }
P deps { @(@((Get-Service -Name Base).DependentServices) | ForEach-Object { @{ name = $_.ServiceName; status = [string]$_.Status } }) }
P again { @(@((Get-Service -Name Base).DependentServices) | ForEach-Object { $_.ServiceName; [string]$_ }) }
P sc { $o = SC stop Base; @{ rc = $o.rc; base = (St Base); dep1 = (St Dep1) } }
P cim { (Get-CimInstance Win32_Service -Filter "Name='Base'" | Invoke-CimMethod -MethodName StopService).ReturnValue }
P inOrder {
  $a = (SC stop Dep2).rc; $end = [DateTime]::UtcNow.AddSeconds(30); while ((St Dep2) -ne 'Stopped' -and [DateTime]::UtcNow -lt $end) { Start-Sleep -Milliseconds 25 }
  $b = (SC stop Dep1).rc; while ((St Dep1) -ne 'Stopped' -and [DateTime]::UtcNow -lt $end) { Start-Sleep -Milliseconds 25 }
  $c = (SC stop Base).rc
  @{ rc = @($a, $b, $c) }
}
`,
  );
}, 180_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('running dependents', () => {
  it('DependentServices lists the direct dependents with their status, twice in one runspace', () => {
    expect([r.deps].flat()).toEqual([{ name: 'Dep1', status: 'Running' }]); // one element: the probe's JSON unwraps it
    expect(r.again).toEqual(['Dep1', 'System.ServiceProcess.ServiceController']);
  });

  it('stop fails with 1051 while a dependent runs and stops nothing (sc.exe; StopService returns 3)', () => {
    expect(r.sc).toEqual({ rc: 1051, base: 'Running', dep1: 'Running' });
    expect(r.cim).toBe(3);
  });

  it('stopped in order (a dependent of a dependent first), the service stops', () => {
    expect(r.inOrder.rc).toEqual([0, 0, 0]);
  });
});
