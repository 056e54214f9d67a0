/** Helpers for the emulated-SCM tests: pwsh discovery, free ports, temp hosts, and batched pwsh probes. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pwshBinary } from '../../../src/transport/pwsh/locate.js';
import { labScmFiles } from '../../../src/lab/scm/state.js';
import { stopLabHost } from '../../../src/lab/host.js';
import { reservePorts } from '../../../src/lab/fleet/ports.js';
import { labEnv } from '../../../src/lab/runner/spawn.js';

/** The pwsh to test with; fails (never skips) with how to install it. */
export function requirePwsh(): string {
  let bin: string;
  try {
    bin = pwshBinary();
  } catch {
    throw new Error('pwsh (PowerShell 7) is required for the emulated-SCM tests: install it with `bash scripts/setup.sh`');
  }
  return bin;
}

/** A lab port claimed outside the ephemeral range, so no outgoing connection takes it before the service binds. */
export async function freePort(): Promise<number> {
  return (await reservePorts(1))[0]!;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `svcfleet-${prefix}-`));
}

/** Test teardown: stop the host's service processes and delete its state dir. */
export async function removeHost(stateDir: string | undefined): Promise<void> {
  if (!stateDir) return;
  await stopLabHost(stateDir);
  fs.rmSync(stateDir, { recursive: true, force: true });
}

export async function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return { status: res.status, body: await res.text() };
}

const PRELUDE = `
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name '${labScmFiles.module.replace(/'/g, "''")}' -DisableNameChecking
$global:R = [ordered]@{}
# One probe: its value, or what it threw.
function P([string]$n, [scriptblock]$b) {
  try { $global:R[$n] = & $b } catch { $global:R[$n] = @{ threw = $_.Exception.Message; id = $_.FullyQualifiedErrorId; type = $_.Exception.GetType().FullName } }
}
# sc.exe output and exit code.
function SC { $o = sc.exe @args; @{ out = (@($o) -join "\`n"); rc = $global:LASTEXITCODE } }
`;

/**
 * What the probes returned, by name: parsed JSON whose shape each probe decides, read by the tests with the
 * dotted paths they assert on. Typing each probe would only restate the assertions.
 */
// biome-ignore lint/suspicious/noExplicitAny: free-form JSON from PowerShell, see above
export type ProbeResults = Record<string, any>;

/**
 * Run `body` (PowerShell, probes made with P/SC) in ONE pwsh against `stateDir` and return the probes' results.
 * One process per test file keeps the suite inside its CPU budget (pwsh start-up costs ~1 CPU-second).
 */
export function runProbes(stateDir: string, body: string, opts: { legacy?: boolean; timeoutMs?: number } = {}): ProbeResults {
  const pwsh = requirePwsh();
  const dir = tempDir('probe');
  const file = path.join(dir, 'probe.ps1');
  const mode = opts.legacy === false ? 'Standard' : 'Legacy';
  fs.writeFileSync(
    file,
    `$PSNativeCommandArgumentPassing = '${mode}'\n${PRELUDE}\n${body}\n[Console]::Out.WriteLine('@@RESULT@@' + ($global:R | ConvertTo-Json -Depth 10 -Compress))\n`,
  );
  const r = spawnSync(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', file], {
    env: labEnv(stateDir),
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT@@'));
  if (!line) throw new Error(`probe script produced no result (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice('@@RESULT@@'.length));
}
