/** Test helpers that drive real pwsh (PowerShell 7; install with `bash scripts/setup.sh`). */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { pwshBinary } from '../../src/transport/pwsh/locate.js';
import { withoutStartupJitProfile } from '../../src/transport/pwsh/startup-profile.js';
import { loadPsScripts } from '../../src/remote/scripts.js';

export const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * A file holding exactly the engine the transports send (loadPsScripts().engine, assembled from ps-scripts/engine/),
 * for tests that dot-source or parse it: they test what is sent, not the parts. Named by its content, so every
 * test worker shares one file per version of the engine, written atomically.
 */
export function assembledEngineFile(): string {
  const { engine } = loadPsScripts();
  const dir = join(tmpdir(), `svcfleet-engine-${createHash('sha256').update(engine).digest('hex').slice(0, 16)}`);
  const file = join(dir, 'engine.ps1');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const partial = join(dir, `engine.ps1.${process.pid}.tmp`);
    writeFileSync(partial, engine);
    renameSync(partial, file);
  }
  return file;
}

export const enginePath = assembledEngineFile();

/** ps-scripts/native.ps1, the native code piece sent beside the engine (the engine's $NativeCode). */
export const nativePath = join(loadPsScripts().dir, 'native.ps1');

export interface PwshRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runPwsh(args: string[], input = '', env: NodeJS.ProcessEnv = process.env): Promise<PwshRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(pwshBinary(), ['-NoLogo', '-NoProfile', '-NonInteractive', ...args], {
      env: withoutStartupJitProfile(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

export interface HarnessCall {
  fn: string;
  args?: unknown[];
  /** Run with $PSNativeCommandArgumentPassing = 'Legacy' (Windows PowerShell 5.1 quoting). */
  legacy?: boolean;
}

export type HarnessResult = { ok: unknown[]; frames: string } | { error: { code: string; message: string }; frames: string };

/** Calls engine functions in ONE pwsh process (a cold start costs ~1 s). */
export async function callEngine(calls: HarnessCall[]): Promise<HarnessResult[]> {
  const run = await runPwsh(['-File', join(here, 'harness.ps1'), enginePath], `${JSON.stringify(calls)}\n`);
  const line = run.stdout.split('\n').find((l) => l.startsWith('SVCFLEET-HARNESS '));
  if (!line) throw new Error(`harness failed (exit ${run.code}): ${run.stderr || run.stdout}`);
  return JSON.parse(Buffer.from(line.slice('SVCFLEET-HARNESS '.length), 'base64').toString('utf8')) as HarnessResult[];
}

export function okValue(r: HarnessResult | undefined): unknown[] {
  if (!r || !('ok' in r)) throw new Error(`expected success, got ${JSON.stringify(r)}`);
  return r.ok;
}

export function errorOf(r: HarnessResult | undefined): { code: string; message: string } {
  if (!r || !('error' in r)) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.error;
}
