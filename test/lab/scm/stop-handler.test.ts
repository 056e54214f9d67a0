/**
 * Stop handlers that take time, in the emulated SCM (docs/reference/windows-services.md "Pending states, checkpoint
 * and wait hint"): the lab program's `--stop-ms N` takes the stop control at once and cleans up for N ms, still
 * reporting RUNNING (as a Go service does before it reports StopPending); a further control meanwhile waits for the
 * busy handler up to the SCM's timeout (30 s on Windows, the host's startTimeoutMs here) and then fails with
 * ERROR_SERVICE_REQUEST_TIMEOUT (1053, ControlService). A stopping service raises its checkpoint within each wait
 * hint; a hung one (stuck-stop-pending) never does. All probes run in one pwsh (helpers.runProbes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost } from '../../../src/lab/host.js';
import { removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

const APP = '"C:\\Program Files\\App\\app.exe"';
let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('stophandler');
  await initLabHost({
    stateDir,
    startTimeoutMs: 800,
    faults: [{ kind: 'stuck-stop-pending', service: 'Hung' }],
    services: [
      { name: 'Slow', binaryPath: `${APP} --stop-ms 6000`, failure: { resetPeriod: 60, actions: [{ type: 'restart', delayMs: 10 }] } },
      { name: 'Quick', binaryPath: `${APP} -stop-ms=3000` },
      { name: 'Hung', binaryPath: APP },
    ],
  });
  r = runProbes(
    stateDir,
    String.raw`
function St($n) { $c = Get-CimInstance Win32_Service -Filter "Name='$n'"; @{ state = [string]$c.State; pid = [long]$c.ProcessId; exit = [long]$c.ExitCode; cp = [long]$c.CheckPoint; hint = [long]$c.WaitHint } }
function Wait($n, $s) { $end = [DateTime]::UtcNow.AddSeconds(30); while ((St $n).state -ne $s -and [DateTime]::UtcNow -lt $end) { Start-Sleep -Milliseconds 25 }; St $n }
P first { $o = SC stop Slow; @{ rc = $o.rc; st = (St Slow) } }
P second { $t = [Diagnostics.Stopwatch]::StartNew(); $o = SC stop Slow; @{ rc = $o.rc; out = $o.out; ms = $t.ElapsedMilliseconds; st = (St Slow) } }
P cim { $x = Get-CimInstance Win32_Service -Filter "Name='Slow'" | Invoke-CimMethod -MethodName StopService; $x.ReturnValue }
P done { Wait Slow Stopped }
P quick { $o = SC stop Quick; $a = St Quick; $null = Wait Quick Stopped; $o2 = SC stop Quick; @{ a = $a; rc2 = $o2.rc; after = (St Quick) } }
P hung { $o = SC stop Hung; $a = St Hung; Start-Sleep -Milliseconds 1200; $b = St Hung; @{ a = $a; b = $b } }
`,
  );
}, 180_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('a stop handler that takes time (svcprogram --stop-ms)', () => {
  it('the first stop is taken at once; the service still reports RUNNING while it cleans up', () => {
    expect(r.first.rc).toBe(0);
    expect(r.first.st.state).toBe('Running');
  });

  it('a second stop meanwhile waits for the busy handler up to the SCM timeout, then fails with 1053', () => {
    expect(r.second.rc, JSON.stringify(r.second)).toBe(1053);
    expect(r.second.out).toContain('1053');
    expect(r.second.ms).toBeGreaterThanOrEqual(700);
    expect(r.cim).toBe(7); // Win32_Service.StopService: 7 Service Request Timeout
  });

  it('the service then stops cleanly: exit 0, not a failure', () => {
    expect(r.done).toMatchObject({ state: 'Stopped', exit: 0 });
    expect(readLabHost(stateDir).services['Slow']!.recovery).toBeUndefined();
  });

  it('a control after the handler finished is answered as usual (1062: not active)', () => {
    expect(r.quick.a.state).toBe('Running');
    expect(r.quick.rc2).toBe(1062);
    expect(r.quick.after.state).toBe('Stopped');
  });
});

describe('checkpoint and wait hint while STOP_PENDING', () => {
  it('a hung service keeps its checkpoint; Win32_Service reports CheckPoint and WaitHint as sc.exe does', () => {
    expect(r.hung.a).toMatchObject({ state: 'Stop Pending', cp: 1, hint: 2000 });
    expect(r.hung.b).toMatchObject({ state: 'Stop Pending', cp: 1, hint: 2000 });
  });
});
