/**
 * A caller killed in the middle of StartService must not make the emulated SCM lose the process it started.
 *
 * On Windows the SCM is its own process: whatever happens to the client that called StartService (a cancelled
 * remote engine, a killed WinRM shell), the SCM keeps tracking the service process, so a later stop really stops
 * it. The lab has no daemon: the caller itself records the process in host.json. A caller killed between
 * spawning the process and writing host.json used to leave an untracked process behind that still held the
 * service's port, and the next start (a rollback) then failed with 1067 — the "Ctrl-C twice" race of
 * test/app/fleet/crash.test.ts. Here the kill is made deterministic: the body exits the process right after the start.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, stopLabHost, readLabHost } from '../../../src/lab/host.js';
import { processAlive, refreshStatus, type LabServiceRecord, type LabStatus } from '../../../src/lab/scm/state.js';
import { freePort, removeHost, runProbes, tempDir } from './helpers.js';

const IMAGE = 'C:\\Program Files\\App\\app.exe';
let stateDir: string;
let port: number;

beforeAll(async () => {
  stateDir = tempDir('killed');
  port = await freePort();
  await initLabHost({ stateDir, services: [{ name: 'AppSvc', binaryPath: `"${IMAGE}" --port ${port}` }] });
});
afterAll(async () => removeHost(stateDir));

/** Stop the service, then start it from inside the module and die before the state is written back. */
const KILLED_START = `
$null = sc.exe stop AppSvc
$end = [DateTime]::UtcNow.AddSeconds(10)
while (((sc.exe query AppSvc) -join ' ') -notmatch 'STOPPED' -and [DateTime]::UtcNow -lt $end) { Start-Sleep -Milliseconds 25 }
& (Get-Module EmulatedScm) {
  Use-LabHost -Body { param($h)
    $svc = Find-LabService -State $h -Name 'AppSvc'
    [void](Start-LabServiceCore -State $h -Svc $svc)
    [Environment]::Exit(9)   # as a SIGKILL would: nothing after the spawn reaches host.json
  }
}
`;

describe('emulated SCM: a caller killed during StartService', () => {
  it('keeps tracking the process it started, so it can be stopped and the service started again', async () => {
    expect(() => runProbes(stateDir, KILLED_START)).toThrow(/no result \(status 9\)/);

    const r = runProbes(
      stateDir,
      `
P after { $o = (sc.exe queryex AppSvc) -join "\`n"; @{ out = $o; pid = [int]([regex]::Match($o, 'PID\\s+:\\s+(\\d+)').Groups[1].Value) } }
P stop { $rc = (SC stop AppSvc).rc; $end = [DateTime]::UtcNow.AddSeconds(10); while (((sc.exe query AppSvc) -join ' ') -notmatch 'STOPPED' -and [DateTime]::UtcNow -lt $end) { Start-Sleep -Milliseconds 25 }; $rc }
P start { $rc = (SC start AppSvc).rc; $end = [DateTime]::UtcNow.AddSeconds(10); while (((sc.exe query AppSvc) -join ' ') -notmatch 'RUNNING|STOPPED' -and [DateTime]::UtcNow -lt $end) { Start-Sleep -Milliseconds 25 }; @{ rc = $rc; out = ((sc.exe queryex AppSvc) -join "\`n") } }
`,
    );
    // The process started by the killed caller is the service's process: START_PENDING or RUNNING, with its PID.
    expect(r.after.out).toMatch(/STATE\s+:\s+(2\s+START_PENDING|4\s+RUNNING)/);
    expect(r.after.pid).toBeGreaterThan(0);
    expect(r.stop).toBe(0);
    // Stopping it really ended it, and the port it held is free again: the next start reaches RUNNING.
    expect(processAlive(r.after.pid, null)).toBe(false);
    expect(r.start.rc).toBe(0);
    expect(r.start.out).toMatch(/STATE\s+:\s+4\s+RUNNING/);
  });

  it('a caller killed before its process could start leaves the service STOPPED (1067), not pending forever', async () => {
    await stopLabHost(stateDir);
    // Die after the start record reached host.json but before the process was created.
    const r = runProbes(
      stateDir,
      `
& (Get-Module EmulatedScm) {
  Use-LabHost -Body { param($h)
    $svc = Find-LabService -State $h -Name 'AppSvc'
    $svc.status = New-LabStartRecord -State $h -Svc $svc -ServiceArgs @() -Environment @()
    Write-LabHostState -State $h
  }
}
P query { $end = [DateTime]::UtcNow.AddSeconds(15); do { $o = (sc.exe queryex AppSvc) -join "\`n"; if ($o -match 'STOPPED') { break }; Start-Sleep -Milliseconds 50 } while ([DateTime]::UtcNow -lt $end); $o }
`,
    );
    expect(r.query).toMatch(/STATE\s+:\s+1\s+STOPPED/);
    expect(r.query).toMatch(/WIN32_EXIT_CODE\s+:\s+1067/);
    expect(readLabHost(stateDir).services['AppSvc']!.status).toMatchObject({ state: 'stopped', pid: 0, win32ExitCode: 1067 });
  });

  it('the TypeScript side completes such a record the same way (PID file, grace period)', () => {
    const dir = tempDir('killed-ts');
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const now = Date.now();
      const record = (extra: Partial<LabStatus>): LabServiceRecord =>
        ({
          name: 'AppSvc',
          status: { state: 'start-pending', pid: 0, procStart: null, win32ExitCode: 0, serviceExitCode: 0, startedAt: now, deadline: now + 60_000, ...extra },
        }) as LabServiceRecord;
      const pidFile = path.join(dir, 'a.pid');
      fs.writeFileSync(pidFile, `${child.pid}\n`);
      const adopted = record({ pidFile });
      refreshStatus(adopted, now);
      expect(adopted.status).toMatchObject({ state: 'start-pending', pid: child.pid });
      expect(adopted.status.procStart).not.toBeNull();

      const young = record({ pidFile: path.join(dir, 'none.pid') });
      refreshStatus(young, now + 1000);
      expect(young.status).toMatchObject({ state: 'start-pending', pid: 0 });

      const old = record({ pidFile: path.join(dir, 'none.pid') });
      refreshStatus(old, now + 6000);
      expect(old.status).toMatchObject({ state: 'stopped', pid: 0, win32ExitCode: 1067 });
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
