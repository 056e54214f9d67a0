/**
 * The native-API seam of the emulated SCM (docs/lab.md "Native calls"): the lab's Add-Type hands svcfleet's
 * ChangeServiceConfig2W helper (ps-scripts/engine/) an emulated twin with the same public surface, and passes
 * every other Add-Type call to the real cmdlet. The twin writes failure actions exactly as the SCM stores them:
 * the FailureActions REG_BINARY layout of docs/reference/windows-services.md#the-failureactions-registry-value, FailureCommand / RebootMessage (docs/reference/windows-services.md#the-service-registry-key), qfailure ending its list
 * at a NONE (docs/reference/sc-exe.md#output-of-qfailure), and the API's errors. All probes run in one pwsh (helpers.runProbes).
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost } from '../../../src/lab/host.js';
import { enginePath, nativePath } from '../../ps-scripts/pwsh.js';
import { removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

const IMAGE = '"C:\\Program Files\\App\\app.exe"';
let stateDir: string;
let r: ProbeResults;
const pwned = join(tempDir('native-pwned'), 'PWNED');

/** Little-endian DWORDs. */
const dwords = (...values: number[]): number[] => values.flatMap((v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);

beforeAll(async () => {
  stateDir = tempDir('native');
  await initLabHost({
    stateDir,
    services: [
      { name: 'Nat', binaryPath: IMAGE, start: false, failure: { resetPeriod: 60, actions: [{ type: 'run', delayMs: 5 }] } },
      { name: 'Denied', binaryPath: IMAGE, start: false },
      { name: 'Marked', binaryPath: IMAGE, start: false },
    ],
    faults: [
      { kind: 'access-denied', service: 'Denied', ops: ['config'] },
      { kind: 'marked-for-delete', service: 'Marked', ops: ['config'] },
    ],
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
$src = $NativeFailureActionsSource
$key = 'HKLM:\SYSTEM\CurrentControlSet\Services\Nat'
# Write() as the engine calls it, -> @{ code; api }.
function W($svc, $access, $reset, $msg, $cmd, $types, $delays) {
  $api = 'unset'
  $c = [Svcfleet.Native.ServiceFailureActions]::Write($svc, [uint32]$access, [uint32]$reset, $msg, $cmd, [uint32[]]@($types), [uint32[]]@($delays), [ref]$api)
  @{ code = $c; api = $api }
}
function Blob { ,[int[]](Get-ItemPropertyValue -Path $key -Name FailureActions) }
P passSource { Add-Type -TypeDefinition 'public static class LabProbeA { public static int Seven() { return 7; } }'; [LabProbeA]::Seven() }
P passMember { $t = Add-Type -Name Probe -Namespace LabProbeB -MemberDefinition 'public static int Eight() { return 8; }' -PassThru; @{ name = $t.FullName; v = [LabProbeB.Probe]::Eight() } }
P before { 'Svcfleet.Native.ServiceFailureActions' -as [type] }
P twin {
  Add-Type -TypeDefinition $src
  $emu = [Svcfleet.Native.ServiceFailureActions]
  # The engine's real source, compiled by the real cmdlet under another namespace (it compiles on Linux; only calling
  # advapi32 would fail), to compare public surfaces member by member.
  Microsoft.PowerShell.Utility\Add-Type -TypeDefinition ($src -replace 'namespace Svcfleet\.Native', 'namespace SvcfleetReal.Native')
  $real = [SvcfleetReal.Native.ServiceFailureActions]
  $sig = { param($t) @($t.GetMembers([Reflection.BindingFlags]'Public,Static,DeclaredOnly') | ForEach-Object {
    $x = [string]$_.MemberType + ' ' + $_.ToString()
    if ($_ -is [Reflection.FieldInfo]) { $x += ' = ' + $_.GetRawConstantValue() }
    $x } | Sort-Object) }
  @{ emu = (& $sig $emu); real = (& $sig $real); location = $emu.Assembly.Location; again = [bool](Add-Type -TypeDefinition $src -PassThru) }
}
P drift { Add-Type -TypeDefinition ($src -replace 'public static int Write\(', 'public static int WriteAll(') }
P issue { $w = W Nat 0x12 86400 '' '' @(1, 1, 0) @(60000, 60000, 0); @{ w = $w; blob = (Blob); q = ((sc.exe qfailure Nat) -join "` +
      '`' +
      String.raw`n") } }
P hostile {
  $q1 = [string][char]0x2018; $q2 = [string][char]0x2019; $d1 = [string][char]0x201c; $d2 = [string][char]0x201d
  $msg = $q2 + '; New-Item -ItemType File -Path ''${pwned}''; ' + $q1 + ' $(New-Item -ItemType File -Path ''${pwned}'') ' + $d1 + 'x' + $d2
  $cmd = 'C:\tools\notify.exe ' + $d1 + '$(whoami)' + $d2 + ' "a b" ` +
      '`' +
      String.raw`$x'
  $noPriv = W Nat 0x2 10 $msg $cmd @(2, 0) @(1000, 0)
  $api = $null; $enabled = [Svcfleet.Native.ServiceFailureActions]::EnableShutdownPrivilege([ref]$api)
  $ok = W Nat 0x2 10 $msg $cmd @(2, 0) @(1000, 0)
  $p = Get-ItemProperty -Path $key
  @{ noPriv = $noPriv; enabled = $enabled; ok = $ok; msg = $msg; cmd = $cmd; regMsg = $p.RebootMessage; regCmd = $p.FailureCommand; blob = (Blob) }
}
P restartNoStart { W Nat 0x2 10 '' '' @(1) @(5) }
P noChangeConfig { W Nat 0x10 10 '' '' @(0) @(5) }
P badType { W Nat 0x12 10 '' '' @(4) @(5) }
P mismatch { W Nat 0x12 10 '' '' @(1, 0) @(5) }
P missing { W NoSuchSvc 0x12 10 '' '' @(0) @(0) }
P denied { W Denied 0x12 10 '' '' @(0) @(0) }
P marked { W Marked 0x12 10 '' '' @(0) @(0) }
P driver { W Tcpip 0x2 10 '' '' @(0) @(0) }
P clear { $w = W Nat 0x2 77 '' '' @() @(); @{ w = $w; blob = (Blob); q = ((sc.exe qfailure Nat) -join "` +
      '`' +
      String.raw`n"); p = (Get-ItemProperty -Path $key) } }
`,
  );
}, 180_000);

afterAll(async () => {
  await removeHost(stateDir);
  rmSync(dirname(pwned), { recursive: true, force: true });
});

describe("the lab's Add-Type", () => {
  it('passes every other source to the real cmdlet unchanged', () => {
    expect(r.passSource).toBe(7);
    expect(r.passMember).toEqual({ name: 'LabProbeB.Probe', v: 8 });
  });

  it("gives svcfleet's native helper an emulated twin with exactly the engine's public surface, compiled once and cached", () => {
    expect(r.before).toBeNull();
    expect(r.twin.emu.length).toBeGreaterThanOrEqual(5);
    expect(r.twin.emu).toEqual(r.twin.real);
    expect(r.twin.emu).toEqual(
      expect.arrayContaining([
        'Method Int32 Write(System.String, UInt32, UInt32, System.String, System.String, UInt32[], UInt32[], System.String ByRef)',
        'Method Int32 EnableShutdownPrivilege(System.String ByRef)',
        'Field UInt32 SERVICE_START = 16',
      ]),
    );
    expect(r.twin.location).toMatch(/svcfleet-lab-cache-\d+\/NativeFailureActions-[0-9a-f]{16}\.dll$/);
    expect(existsSync(r.twin.location)).toBe(true);
    expect(r.twin.again).toBe(true);
  });

  it('refuses an engine source whose public surface no longer matches the emulation', () => {
    expect(r.drift.threw).toMatch(/no longer matches its emulation in src\/lab\/scm\/NativeFailureActions\.cs/);
    expect(r.drift.threw).toContain('WriteAll');
  });
});

describe('ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS), emulated', () => {
  it('writes the example [restart/60000, restart/60000, none/0], reset 86400, in the FailureActions layout (docs/reference/windows-services.md#the-failureactions-registry-value)', () => {
    expect(r.issue.w).toEqual({ code: 0, api: null });
    // FailureActions layout (docs/reference/windows-services.md#the-failureactions-registry-value): reset, two zero placeholders, cActions, offset 0x14, {type, delay}...;
    // SC_ACTION_NONE = 0, RESTART = 1 (docs/reference/windows-services.md#failure-count-and-repetition). 20 + 3 * 8 = 44 bytes, like the WaaSMedicSvc example.
    expect(r.issue.blob).toEqual(dwords(86400, 0, 0, 3, 0x14, 1, 60000, 1, 60000, 0, 0));
  });

  it('qfailure prints the NONE the way sc.exe does: not at all, the list just ends (docs/reference/sc-exe.md#output-of-qfailure)', () => {
    const lines = (r.issue.q as string).split('\n');
    expect(lines.filter((l) => l.includes('-- Delay ='))).toEqual([
      '        FAILURE_ACTIONS              : RESTART -- Delay = 60000 milliseconds.',
      '                                       RESTART -- Delay = 60000 milliseconds.',
    ]);
    expect(r.issue.q).toContain('RESET_PERIOD (in seconds)    : 86400');
  });

  it('stores reboot message and command as data (smart quotes, $(...), backticks), after SeShutdownPrivilege is enabled', () => {
    const h = r.hostile;
    // A reboot action needs the caller's SE_SHUTDOWN_NAME privilege (ChangeServiceConfig2 docs; code 5).
    expect(h.noPriv).toEqual({ code: 5, api: 'ChangeServiceConfig2' });
    expect(h.enabled).toBe(0);
    expect(h.ok).toEqual({ code: 0, api: null });
    expect(h.regMsg).toBe(h.msg);
    expect(h.regCmd).toBe(h.cmd);
    expect(h.msg).toContain('\u2019; New-Item');
    expect(h.cmd).toContain('\u201c$(whoami)\u201d');
    expect(h.blob).toEqual(dwords(10, 0, 0, 2, 0x14, 2, 1000, 0, 0)); // SC_ACTION_REBOOT = 2 (docs/reference/windows-services.md#the-failureactions-registry-value)
    expect(existsSync(pwned)).toBe(false);
  });

  it('answers with the Win32 errors of the API', () => {
    // The handle needs SERVICE_START for a restart action and SERVICE_CHANGE_CONFIG always (ChangeServiceConfig2 docs,
    // MS-SCMR 3.1.4.35: 5); an action type outside SC_ACTION_TYPE and mismatched arrays: 87.
    expect(r.restartNoStart).toEqual({ code: 5, api: 'ChangeServiceConfig2' });
    expect(r.noChangeConfig).toEqual({ code: 5, api: 'ChangeServiceConfig2' });
    expect(r.badType).toEqual({ code: 87, api: 'ChangeServiceConfig2' });
    expect(r.mismatch).toEqual({ code: 87, api: 'ChangeServiceConfig2' });
    // docs/reference/sc-exe.md#exit-codes: 1060 at OpenService; the lab's access-denied fault denies OpenService (5), marked-for-delete is 1072.
    expect(r.missing).toEqual({ code: 1060, api: 'OpenService' });
    expect(r.denied).toEqual({ code: 5, api: 'OpenService' });
    expect(r.marked).toEqual({ code: 1072, api: 'ChangeServiceConfig2' });
    // Drivers have no failure actions: ERROR_CANNOT_DETECT_DRIVER_FAILURE (MS-SCMR 3.1.4.35).
    expect(r.driver).toEqual({ code: 1080, api: 'ChangeServiceConfig2' });
  });

  it('zero actions delete the actions and the reset period, texts "" delete the values (docs/reference/windows-services.md#changing-failure-actions)', () => {
    expect(r.clear.w).toEqual({ code: 0, api: null });
    expect(r.clear.blob).toEqual(dwords(0, 0, 0, 0, 0));
    expect(r.clear.q).not.toContain('FAILURE_ACTIONS');
    expect(r.clear.p.RebootMessage).toBeUndefined();
    expect(r.clear.p.FailureCommand).toBeUndefined();
    // The SCM's own record (host.json), after every write of this file.
    expect(readLabHost(stateDir).services['Nat']!.failure).toMatchObject({ resetPeriod: 0, rebootMessage: '', command: '', actions: [] });
  });
});
