/**
 * IsProcessCritical as the lab answers it (docs/reference/windows-services.md "Killing a service process"): the
 * process of a service created with criticalProcess is critical, any other process is not, and a PID that no
 * process has fails at OpenProcess with ERROR_INVALID_PARAMETER (87).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { freePort, removeHost, runProbes, tempDir, type ProbeResults } from './helpers.js';

let stateDir: string;
let r: ProbeResults;

beforeAll(async () => {
  stateDir = tempDir('procguard');
  const app = async () => `"C:\\Program Files\\App\\app.exe" --port ${await freePort()}`;
  await initLabHost({
    stateDir,
    services: [
      { name: 'Crit', binaryPath: await app(), criticalProcess: true },
      { name: 'Plain', binaryPath: await app() },
    ],
  });
  r = runProbes(
    stateDir,
    `
function Ask([int]$ProcessId) { $a = EmulatedScm\\Invoke-LabIsProcessCritical -ProcessId $ProcessId; @{ code = $a.code; api = $a.api; critical = $a.critical } }
function PidOf([string]$n) { [int](Get-CimInstance Win32_Service -Filter "Name='$n'").ProcessId }
P guard { @{ crit = (Ask (PidOf Crit)); plain = (Ask (PidOf Plain)); self = (Ask $PID); gone = (Ask 2147483000) } }
`,
  );
}, 120_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('IsProcessCritical', () => {
  it('answers critical for the process of a service created so, and for no other; a PID no process has is 87', () => {
    expect(r['guard']).toEqual({
      crit: { code: 0, api: null, critical: true },
      plain: { code: 0, api: null, critical: false },
      self: { code: 0, api: null, critical: false },
      gone: { code: 87, api: 'OpenProcess', critical: false },
    });
  });
});
