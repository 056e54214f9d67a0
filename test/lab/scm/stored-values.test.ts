/**
 * What the registry stores vs. what the SCM serves (docs/reference/windows-services.md "Display name and description"
 * and "Binary path"; Confirmed by Wine service.c test_EventLog): the registry keeps `%VAR%` in the REG_EXPAND_SZ
 * ImagePath and `@dll,-id` indirect strings; QueryServiceConfig - sc qc, Win32_Service, ServiceController - returns
 * the path expanded and the strings resolved. PowerShell's registry provider expands REG_EXPAND_SZ unless asked not to
 * (docs/reference/powershell.md "Registry provider and REG_EXPAND_SZ").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { freePort, removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

let stateDir: string;
let port: number;
let port2: number;
let r: ProbeResults;

const RAW_PATH = (p: number) => `"%ProgramFiles%\\App\\app.exe" --port ${p}`;
const SHOWN_PATH = (p: number) => `"C:\\Program Files\\App\\app.exe" --port ${p}`;

beforeAll(async () => {
  stateDir = tempDir('stored');
  port = await freePort();
  port2 = await freePort();
  await initLabHost({
    stateDir,
    resourceStrings: { '%ProgramFiles%\\App\\app.dll,-100': 'Lab App', '%ProgramFiles%\\App\\app.dll,-101': 'Serves the lab app.' },
    services: [
      { name: 'Stored', binaryPath: RAW_PATH(port), displayName: '@%ProgramFiles%\\App\\app.dll,-100', description: '@%ProgramFiles%\\App\\app.dll,-101' },
      { name: 'Later', binaryPath: RAW_PATH(port2), displayName: '@%ProgramFiles%\\App\\missing.dll,-7', start: false },
    ],
  });
  r = runProbes(
    stateDir,
    `
$key = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Stored'
P cim { $c = Get-CimInstance Win32_Service -Filter "Name='Stored'"; @{ path = $c.PathName; dn = $c.DisplayName; caption = $c.Caption; desc = $c.Description } }
P qc { SC qc Stored }
P qdesc { SC qdescription Stored }
P getService { (Get-Service -Name Stored).DisplayName }
P byDisplayName { (Get-Service -DisplayName 'Lab App').Name }
P regExpanded { $p = Get-ItemProperty -LiteralPath $key; @{ path = $p.ImagePath; dn = $p.DisplayName; desc = $p.Description } }
P regRaw { $k = Get-Item -LiteralPath $key; @{ path = $k.GetValue('ImagePath', $null, 'DoNotExpandEnvironmentNames'); kind = [string]$k.GetValueKind('ImagePath'); dn = $k.GetValue('DisplayName', $null, 'DoNotExpandEnvironmentNames'); desc = $k.GetValue('Description', $null, 'DoNotExpandEnvironmentNames') } }
P eventLog { $c = Get-CimInstance Win32_Service -Filter "Name='EventLog'"; $k = Get-Item -LiteralPath 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\EventLog'; @{ dn = $c.DisplayName; path = $c.PathName; regDn = $k.GetValue('DisplayName'); regPath = $k.GetValue('ImagePath', $null, 'DoNotExpandEnvironmentNames') } }
P missingResource { (Get-CimInstance Win32_Service -Filter "Name='Later'").DisplayName }
P startExpanded { $s = SC start Later; $i = 0; while ((sc.exe query Later | Select-String 'RUNNING') -eq $null -and $i -lt 400) { Start-Sleep -Milliseconds 25; $i++ }; @{ rc = $s.rc; running = [bool](sc.exe query Later | Select-String 'RUNNING') } }
P changeKeepsRaw { $x = (Get-CimInstance Win32_Service -Filter "Name='Later'" | Invoke-CimMethod -MethodName Change -Arguments @{ PathName = '"%ProgramFiles%\\App\\app.exe" --port ${port2} --x 1' }).ReturnValue; $k = Get-Item -LiteralPath 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Later'; @{ rv = $x; raw = $k.GetValue('ImagePath', $null, 'DoNotExpandEnvironmentNames'); cim = (Get-CimInstance Win32_Service -Filter "Name='Later'").PathName } }
`,
  );
}, 120_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('stored values vs. served values', () => {
  it('Win32_Service returns the binary path expanded and indirect strings resolved', () => {
    expect(r['cim']).toEqual({ path: SHOWN_PATH(port), dn: 'Lab App', caption: 'Lab App', desc: 'Serves the lab app.' });
  });

  it('sc qc / qdescription and Get-Service show the served values too', () => {
    expect(r['qc'].rc).toBe(0);
    expect(r['qc'].out).toContain(`BINARY_PATH_NAME   : ${SHOWN_PATH(port)}`);
    expect(r['qc'].out).toContain('DISPLAY_NAME       : Lab App');
    expect(r['qdesc'].out).toContain('DESCRIPTION:  Serves the lab app.');
    expect(r['getService']).toBe('Lab App');
    expect(r['byDisplayName']).toBe('Stored');
  });

  it('the registry keeps the raw values; Get-ItemProperty expands REG_EXPAND_SZ only', () => {
    expect(r['regRaw']).toEqual({
      path: RAW_PATH(port),
      kind: 'ExpandString',
      dn: '@%ProgramFiles%\\App\\app.dll,-100',
      desc: '@%ProgramFiles%\\App\\app.dll,-101',
    });
    expect(r['regExpanded']).toEqual({ path: SHOWN_PATH(port), dn: '@%ProgramFiles%\\App\\app.dll,-100', desc: '@%ProgramFiles%\\App\\app.dll,-101' });
  });

  it('the built-in EventLog service is stored as on Windows (Wine test_EventLog)', () => {
    expect(r['eventLog']).toEqual({
      dn: 'Windows Event Log',
      path: 'C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p',
      regDn: '@%SystemRoot%\\system32\\wevtsvc.dll,-200',
      regPath: '%SystemRoot%\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p',
    });
  });

  it('an indirect string whose resource is missing is served as stored', () => {
    expect(r['missingResource']).toBe('@%ProgramFiles%\\App\\missing.dll,-7');
  });

  it('the SCM expands the path when it starts the process, and a written %VAR% stays in the registry', () => {
    expect(r['startExpanded']).toEqual({ rc: 0, running: true });
    expect(r['changeKeepsRaw']).toEqual({
      rv: 0,
      raw: `"%ProgramFiles%\\App\\app.exe" --port ${port2} --x 1`,
      cim: `"C:\\Program Files\\App\\app.exe" --port ${port2} --x 1`,
    });
  });
});
