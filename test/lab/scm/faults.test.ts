/**
 * Injected faults: each ends in its documented Win32 code (docs/reference/sc-exe.md#exit-codes) / Change() ReturnValue (docs/reference/windows-services.md#change-method), and the
 * triggers (contains, nth/times) let an apply fail while the rollback succeeds. One pwsh visits every host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost, type LabFaultSpec } from '../../../src/lab/host.js';
import { removeHost, freePort, runProbes, tempDir, type ProbeResults } from './helpers.js';

const IMAGE = 'C:\\Program Files\\App\\app.exe';
const hosts: Record<string, string> = {};
const ports: Record<string, number> = {};
let r: ProbeResults;

async function host(key: string, faults: LabFaultSpec[], extra: Partial<Parameters<typeof initLabHost>[0]> = {}, account?: { name: string; password: string }) {
  const stateDir = tempDir(`fault-${key}`);
  const port = await freePort();
  hosts[key] = stateDir;
  ports[key] = port;
  await initLabHost({
    stateDir,
    faults,
    startTimeoutMs: 1500,
    ...extra,
    services: [{ name: 'AppSvc', binaryPath: `"${IMAGE}" --port ${port}`, ...(account ? { account: account.name, password: account.password } : {}) }],
  });
}

beforeAll(async () => {
  await host('denied', [{ kind: 'access-denied', contains: '--bad' }]);
  await host('nth', [{ kind: 'access-denied', ops: ['config'], nth: 2, times: 1 }]);
  await host('missing', [{ kind: 'no-such-service', service: 'AppSvc' }]);
  await host('deleted', [{ kind: 'marked-for-delete' }]);
  await host('timeout', [{ kind: 'start-timeout', contains: '--workers 9' }]);
  await host('logon', [{ kind: 'logon-failure', times: 1 }], { accounts: { '.\\svcuser': 'pw1' } }, { name: '.\\svcuser', password: 'pw1' });
  await host('crash', [{ kind: 'crash-after-start', afterMs: 300, contains: '--workers 3' }]);
  await host('stuck', [{ kind: 'stuck-stop-pending', times: 1 }]);
  const sel = (k: string) => `Set-LabScmStateDir -Path '${hosts[k]}'`;
  const waitState = `function WaitState([string]$want, [int]$ms = 5000) { $end = [DateTime]::UtcNow.AddMilliseconds($ms); while ([DateTime]::UtcNow -lt $end) { if ((sc.exe query AppSvc) -match "STATE\\s+:\\s+\\d+\\s+$want") { return $true }; Start-Sleep -Milliseconds 25 }; $false }`;
  r = runProbes(
    hosts['denied']!,
    `
${waitState}
${sel('denied')}
P deniedConfig { SC config AppSvc binpath= '\\"${IMAGE}\\" --port ${ports['denied']} --bad' }
P deniedChange { (Get-CimInstance Win32_Service -Filter "Name='AppSvc'" | Invoke-CimMethod -MethodName Change -Arguments @{ PathName = '"${IMAGE}" --bad' }).ReturnValue }
P deniedReg { $e = $null; Set-ItemProperty -Path HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AppSvc -Name Environment -Value @('X=--bad') -Type MultiString -ErrorVariable e -ErrorAction SilentlyContinue; @{ type = $e[0].Exception.GetType().FullName; msg = $e[0].Exception.Message } }
P deniedOtherOk { SC description AppSvc fine }
${sel('nth')}
P nth { @((SC description AppSvc one).rc, (SC description AppSvc two).rc, (SC description AppSvc three).rc) }
${sel('missing')}
P missingQc { SC qc AppSvc }
P missingCim { @(Get-CimInstance Win32_Service -Filter "Name='AppSvc'").Count }
P missingReg { Test-Path HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AppSvc }
P missingGetService { $e = $null; Get-Service AppSvc -ErrorVariable e -ErrorAction SilentlyContinue; "$($e[0].FullyQualifiedErrorId)" }
${sel('deleted')}
P deletedConfig { SC config AppSvc start= demand }
P deletedChange { (Get-CimInstance Win32_Service -Filter "Name='AppSvc'" | Invoke-CimMethod -MethodName ChangeStartMode -Arguments @{ StartMode = 'Manual' }).ReturnValue }
P deletedQuery { (SC query AppSvc).rc }
${sel('timeout')}
P timeoutApply { $c = (SC config AppSvc binpath= '\\"${IMAGE}\\" --port ${ports['timeout']} --workers 9').rc; $s = (SC stop AppSvc).rc; $w = WaitState STOPPED; $sw = [Diagnostics.Stopwatch]::StartNew(); $st = SC start AppSvc; @{ c = $c; s = $s; w = $w; start = $st; ms = $sw.ElapsedMilliseconds; after = (SC queryex AppSvc).out } }
P timeoutRollback { $c = (SC config AppSvc binpath= '\\"${IMAGE}\\" --port ${ports['timeout']}').rc; $st = (SC start AppSvc).rc; @{ c = $c; start = $st; running = (WaitState RUNNING) } }
${sel('logon')}
P logon { $s = (SC stop AppSvc).rc; $w = WaitState STOPPED; $first = SC start AppSvc; $second = (SC start AppSvc).rc; @{ first = $first; second = $second; running = (WaitState RUNNING) } }
P logonWrongPassword { $s = (SC stop AppSvc).rc; $w = WaitState STOPPED; $c = (SC config AppSvc obj= '.\\svcuser' password= wrong).rc; @{ c = $c; start = (SC start AppSvc).rc } }
${sel('crash')}
P crash { $c = (SC config AppSvc binpath= '\\"${IMAGE}\\" --port ${ports['crash']} --workers 3').rc; [void](SC stop AppSvc); [void](WaitState STOPPED); $st = (SC start AppSvc).rc; $run = WaitState RUNNING; $stopped = WaitState STOPPED; @{ c = $c; start = $st; running = $run; stopped = $stopped; q = (SC queryex AppSvc).out } }
${sel('stuck')}
P stuck {
  $pid0 = (Get-CimInstance Win32_Service -Filter "Name='AppSvc'").ProcessId
  $stop = SC stop AppSvc
  Start-Sleep -Milliseconds 600
  $still = (SC query AppSvc).out
  $again = (SC stop AppSvc).rc
  Stop-Process -Id $pid0 -Force
  @{ stop = $stop.rc; still = $still; again = $again; stopped = (WaitState STOPPED); start = (SC start AppSvc).rc; running = (WaitState RUNNING) }
}
`,
  );
}, 240_000);

afterAll(async () => {
  for (const h of Object.values(hosts)) await removeHost(h);
});

describe('access-denied', () => {
  it('fails the matching config with 5 (OpenService), Change() with 2, a registry write with SecurityException', () => {
    expect(r.deniedConfig).toEqual({ rc: 5, out: '[SC] OpenService FAILED 5:\n\nAccess is denied.\n' });
    expect(r.deniedChange).toBe(2);
    expect(r.deniedReg).toEqual({ type: 'System.Security.SecurityException', msg: 'Requested registry access is not allowed.' });
  });
  it('lets calls that do not match "contains" through (so a rollback can succeed)', () => {
    expect(r.deniedOtherOk.rc).toBe(0);
  });
  it('nth/times: only the 2nd config call fails', () => {
    expect(r.nth).toEqual([0, 5, 0]);
  });
});

describe('no-such-service', () => {
  it('1060 from sc, nothing from CIM, no registry key, a Get-Service error', () => {
    expect(r.missingQc.rc).toBe(1060);
    expect(r.missingCim).toBe(0);
    expect(r.missingReg).toBe(false);
    expect(r.missingGetService).toMatch(/^NoServiceFoundForGivenName,Microsoft\.PowerShell\.Commands\.GetServiceCommand/);
  });
});

describe('marked-for-delete', () => {
  it('ChangeServiceConfig fails with 1072, Change() returns 16, queries still work', () => {
    expect(r.deletedConfig).toEqual({ rc: 1072, out: '[SC] ChangeServiceConfig FAILED 1072:\n\nThe specified service has been marked for deletion.\n' });
    expect(r.deletedChange).toBe(16);
    expect(r.deletedQuery).toBe(0);
  });
});

describe('start-timeout', () => {
  it('StartService blocks for the host start timeout, then fails with 1053; the old config then starts', () => {
    expect(r.timeoutApply.c).toBe(0);
    expect(r.timeoutApply.start.rc).toBe(1053);
    expect(r.timeoutApply.start.out.split('\n')[0]).toBe('[SC] StartService FAILED 1053:');
    expect(r.timeoutApply.ms).toBeGreaterThanOrEqual(1400);
    expect(r.timeoutApply.after).toContain('STATE              : 1  STOPPED');
    expect(r.timeoutApply.after).toContain('WIN32_EXIT_CODE    : 1053  (0x41d)');
    expect(r.timeoutRollback).toEqual({ c: 0, start: 0, running: true });
  });
});

describe('logon-failure', () => {
  it('1069 for a non-built-in account (once: times=1), then a correct password starts', () => {
    expect(r.logon.first.rc).toBe(1069);
    expect(r.logon.first.out.split('\n')[0]).toBe('[SC] StartService FAILED 1069:');
    expect(r.logon.second).toBe(0);
    expect(r.logon.running).toBe(true);
  });
  it('a wrong password is accepted by config and fails the start with 1069', () => {
    expect(r.logonWrongPassword).toEqual({ c: 0, start: 1069 });
  });
});

describe('crash-after-start', () => {
  it('runs, then the process dies: STOPPED with WIN32_EXIT_CODE 1067 and the exit code', () => {
    expect(r.crash).toMatchObject({ c: 0, start: 0, running: true, stopped: true });
    expect(r.crash.q).toContain('WIN32_EXIT_CODE    : 1067  (0x42b)');
    expect(r.crash.q).toContain('SERVICE_EXIT_CODE  : 3  (0x3)');
  });
});

describe('stuck-stop-pending', () => {
  it('stays STOP_PENDING (a second stop gets 1061) until its process is killed', () => {
    expect(r.stuck.stop).toBe(0);
    expect(r.stuck.still).toContain('STATE              : 3  STOP_PENDING');
    expect(r.stuck.again).toBe(1061);
    expect(r.stuck.stopped).toBe(true);
    expect(r.stuck.start).toBe(0);
    expect(r.stuck.running).toBe(true);
    expect(readLabHost(hosts['stuck']!).services['AppSvc']!.status.state).toBe('running');
  });
});
