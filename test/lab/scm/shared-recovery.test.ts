/**
 * Two behaviours of real Windows that the emulated SCM learnt so that the engine's process handling can be tested:
 * - shared processes: services of type 0x20 of the same image run in one process and report its PID; stopping one
 *   leaves the process with the others, restarting it keeps the PID, and ending the process ends them all
 *   (docs/reference/windows-services.md "Shared-process services", "Killing a service process");
 * - recovery actions: a service process that ends without reporting SERVICE_STOPPED is a failure; the SCM counts it
 *   and takes the configured action after its delay: restart, run a command, reboot (docs/reference/windows-services.md
 *   "When failure actions fire", "Failure count and repetition"). The lab fires them when the service is next looked
 *   at; run and reboot are only recorded in the host state.
 * All probes run in one pwsh (helpers.runProbes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost } from '../../../src/lab/host.js';
import { freePort, removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

const SHARED = '"C:\\Program Files\\App\\shared.exe"';
const APP = '"C:\\Program Files\\App\\app.exe"';
const SLOW = '"C:\\Program Files\\App\\slow.exe"';
let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('shared');
  const p = await freePort();
  const p2 = await freePort();
  await initLabHost({
    stateDir,
    faults: [{ kind: 'stuck-stop-pending', service: 'Stk' }],
    services: [
      { name: 'ShA', binaryPath: `${SHARED} --port ${p}`, serviceType: 0x20, start: false },
      { name: 'ShB', binaryPath: `${SHARED} --port ${p}`, serviceType: 0x20, start: false },
      // One process, two services; only SlA's stop handler takes its time (svcprogram/ScratchService --stop-ms-service).
      { name: 'SlA', binaryPath: `${SLOW} --port ${p2} --services SlA,SlB --stop-ms 1500 --stop-ms-service SlA`, serviceType: 0x20, start: false },
      { name: 'SlB', binaryPath: `${SLOW} --port ${p2} --services SlA,SlB --stop-ms 1500 --stop-ms-service SlA`, serviceType: 0x20, start: false },
      { name: 'Own', binaryPath: `${APP} --workers 2`, start: false },
      {
        name: 'Rst',
        binaryPath: APP,
        failure: {
          resetPeriod: 3600,
          actions: [
            { type: 'restart', delayMs: 1500 },
            { type: 'run', delayMs: 1500 },
          ],
        },
      },
      { name: 'Run', binaryPath: APP, failure: { resetPeriod: 60, command: 'C:\\tools\\notify.exe --svc Run', actions: [{ type: 'run', delayMs: 1000 }] } },
      { name: 'Rb', binaryPath: APP, failure: { resetPeriod: 60, rebootMessage: 'lab reboot', actions: [{ type: 'reboot', delayMs: 1000 }] } },
      { name: 'Stk', binaryPath: APP, failure: { resetPeriod: 60, actions: [{ type: 'restart', delayMs: 1500 }] } },
      { name: 'Sus', binaryPath: APP, failure: { resetPeriod: 60, actions: [{ type: 'restart', delayMs: 100 }] } },
      { name: 'Clean', binaryPath: APP, failure: { resetPeriod: 60, actions: [{ type: 'restart', delayMs: 100 }] } },
    ],
  });
  r = runProbes(
    stateDir,
    String.raw`
function St($n) { $c = Get-CimInstance Win32_Service -Filter "Name='$n'"; @{ state = [string]$c.State; pid = [long]$c.ProcessId; exit = [long]$c.ExitCode; type = [string]$c.ServiceType } }
function Wait($n, $s) { $end = [DateTime]::UtcNow.AddSeconds(30); while ((St $n).state -ne $s -and [DateTime]::UtcNow -lt $end) { Start-Sleep -Milliseconds 25 }; St $n }
function Kill($n) { $id = (St $n).pid; Stop-Process -Id $id -Force; $id }
function Fired { Use-LabHost -Body { param($h) @($h.recoveryFired | Where-Object { $null -ne $_ } | ForEach-Object { @{ service = $_.service; action = $_.action; command = $_.command; message = $_.message; result = $_.result } }) } }
P startA { $o = SC start ShA; Wait ShA Running }
P startB { $o = SC start ShB; $b = Wait ShB Running; @{ a = (St ShA); b = $b } }
P own { $o = SC start Own; Wait Own Running }
P stopA { $o = SC stop ShA; @{ rc = $o.rc; a = (Wait ShA Stopped); b = (St ShB) } }
P restartA { $o = SC start ShA; @{ rc = $o.rc; a = (Wait ShA Running); b = (St ShB) } }
P killShared { $id = Kill ShA; @{ id = $id; a = (Wait ShA Stopped); b = (Wait ShB Stopped) } }
P restart { $id = Kill Rst; $s = Wait Rst Stopped; Start-Sleep -Milliseconds 1700; $after = Wait Rst Running; @{ id = $id; stopped = $s; after = $after } }
P restart2 { $id = Kill Rst; $s = Wait Rst Stopped; Start-Sleep -Milliseconds 1700; $q = St Rst; @{ stopped = $s; q = $q } }
P run { $id = Kill Run; $s = Wait Run Stopped; Start-Sleep -Milliseconds 1200; $q = St Run; @{ stopped = $s; q = $q } }
P reboot { $id = Kill Rb; $s = Wait Rb Stopped; Start-Sleep -Milliseconds 1200; $q = St Rb; @{ stopped = $s; q = $q } }
P stuck { $o = SC stop Stk; $p = St Stk; $id = Kill Stk; $s = Wait Stk Stopped; Start-Sleep -Milliseconds 1700; $q = Wait Stk Running; @{ pending = $p; stopped = $s; q = $q } }
P suspended { $o = SC failure Sus reset= 0 actions= '""'; $id = Kill Sus; $s = Wait Sus Stopped; Start-Sleep -Milliseconds 300; @{ rc = $o.rc; stopped = $s; q = (St Sus) } }
P clean { $o = SC stop Clean; $s = Wait Clean Stopped; Start-Sleep -Milliseconds 300; @{ stopped = $s; q = (St Clean) } }
P slowShared {
  $o = SC start SlA; [void](Wait SlA Running); $o = SC start SlB; $b0 = Wait SlB Running
  $o = SC stop SlA; $pending = St SlA; $b1 = St SlB; $a = Wait SlA Stopped; $b2 = St SlB
  $o = SC stop SlB; $t = [DateTime]::UtcNow; $b3 = Wait SlB Stopped
  @{ b0 = $b0; rc = $o.rc; pending = $pending; b1 = $b1; a = $a; b2 = $b2; b3 = $b3; fastMs = [int]([DateTime]::UtcNow - $t).TotalMilliseconds; alive = [bool](Get-Process -Id $b0.pid -ErrorAction SilentlyContinue) }
}
P fired { Fired }
`,
  );
}, 180_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('shared processes (type 0x20)', () => {
  it('one service of a shared process whose stop handler takes its time: STOP_PENDING, the others run on; the last one ends the process', () => {
    const x = r.slowShared;
    expect(x.pending).toMatchObject({ state: 'Stop Pending', pid: x.b0.pid });
    expect(x.b1).toMatchObject({ state: 'Running', pid: x.b0.pid });
    expect(x.a).toMatchObject({ state: 'Stopped', pid: 0, exit: 0 });
    expect(x.b2).toMatchObject({ state: 'Running', pid: x.b0.pid });
    expect(x.b3).toMatchObject({ state: 'Stopped', exit: 0 });
    expect(x.fastMs).toBeLessThan(1500);
    expect(x.alive).toBe(false);
  });

  it('a second share-process service of the same image joins the running process and reports its PID', () => {
    expect(r.startA).toMatchObject({ state: 'Running', type: 'Share Process' });
    expect(r.startA.pid).toBeGreaterThan(0);
    expect(r.startB.b).toMatchObject({ state: 'Running', pid: r.startA.pid });
    expect(r.own.pid).not.toBe(r.startA.pid); // an own-process service of another image never joins
  });

  it('stopping one leaves the process running with the other; starting it again keeps the PID', () => {
    expect(r.stopA.rc).toBe(0);
    expect(r.stopA.a).toMatchObject({ state: 'Stopped', pid: 0, exit: 0 });
    expect(r.stopA.b).toMatchObject({ state: 'Running', pid: r.startA.pid });
    expect(r.restartA.a).toMatchObject({ state: 'Running', pid: r.startA.pid });
  });

  it('ending the process ends every service in it, each a failure of its own (1067)', () => {
    expect(r.killShared.id).toBe(r.startA.pid);
    expect(r.killShared.a).toMatchObject({ state: 'Stopped', exit: 1067 });
    expect(r.killShared.b).toMatchObject({ state: 'Stopped', exit: 1067 });
    const host = readLabHost(stateDir);
    expect(host.services['ShA']!.recovery?.log.map((e) => e.action)).toEqual(['none']);
    expect(host.services['ShB']!.recovery?.log.map((e) => e.action)).toEqual(['none']);
  });
});

describe('recovery actions fire when a process ends without reporting SERVICE_STOPPED', () => {
  it('restart: the SCM starts the service again after the delay (first failure: first action)', () => {
    expect(r.restart.stopped, JSON.stringify(r.restart)).toMatchObject({ state: 'Stopped', exit: 1067 });
    expect(r.restart.after.state).toBe('Running');
    expect(r.restart.after.pid).not.toBe(r.restart.id);
  });

  it('the second failure within the reset period takes the second action (run), past the end the last again', () => {
    expect(r.restart2.q.state).toBe('Stopped');
    const log = readLabHost(stateDir).services['Rst']!.recovery!.log;
    expect(log.map((e) => [e.count, e.action])).toEqual([
      [1, 'restart'],
      [2, 'run'],
    ]);
  });

  it('run and reboot are recorded as fired in the host state, with their command line and message; nothing real runs', () => {
    expect(r.run.q.state).toBe('Stopped');
    expect(r.reboot.q.state).toBe('Stopped');
    expect(r.fired).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: 'Rst', action: 'restart', result: 0 }),
        expect.objectContaining({ service: 'Rst', action: 'run' }),
        expect.objectContaining({ service: 'Run', action: 'run', command: 'C:\\tools\\notify.exe --svc Run' }),
        expect.objectContaining({ service: 'Rb', action: 'reboot', message: 'lab reboot' }),
      ]),
    );
  });

  it('a process killed while STOP_PENDING never reported SERVICE_STOPPED: a failure, and its restart fires', () => {
    expect(r.stuck.pending.state).toBe('Stop Pending');
    expect(r.stuck.stopped).toMatchObject({ state: 'Stopped', exit: 1067 });
    expect(r.stuck.q.state).toBe('Running');
    expect(r.fired).toEqual(expect.arrayContaining([expect.objectContaining({ service: 'Stk', action: 'restart' })]));
  });

  it('with the actions suspended first (sc failure reset= 0 actions= ""), killing fires nothing', () => {
    expect(r.suspended.rc).toBe(0);
    expect(r.suspended.q.state).toBe('Stopped');
    expect(readLabHost(stateDir).services['Sus']!.recovery!.log.map((e) => e.action)).toEqual(['none']);
    expect(r.fired.filter((f: { service: string }) => f.service === 'Sus')).toEqual([]);
  });

  it('a stop through the SCM is never a failure', () => {
    expect(r.clean.q).toMatchObject({ state: 'Stopped', exit: 0 });
    expect(readLabHost(stateDir).services['Clean']!.recovery).toBeUndefined();
    expect(r.fired.filter((f: { service: string }) => f.service === 'Clean')).toEqual([]);
  });
});
