/** Shared fixtures for the WinRM tests: python3-winrm runner, temp lab dirs, a scripted PowerShell handler. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PowerShellHandler } from '../../../src/lab/winrm/executor.js';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./fixtures/pywinrm_run.py', import.meta.url));
const OPENSSL_LEGACY = fileURLToPath(new URL('./fixtures/openssl-legacy.cnf', import.meta.url));

export interface PyResult {
  results?: { stdout: string; stderr: string; code: number }[];
  error?: string;
  detail?: string;
}

/** Run Debian's pywinrm; fails (never skips) with the install command when it is missing. */
export function runPywinrm(args: Record<string, unknown>): Promise<PyResult> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: apt-get install -y python3 python3-winrm`);
  return new Promise((resolve, reject) => {
    const env = { ...process.env, OPENSSL_CONF: OPENSSL_LEGACY };
    execFile(PYTHON, [SCRIPT, JSON.stringify(args)], { timeout: 60_000, env }, (err, stdout, stderr) => {
      let parsed: PyResult;
      try {
        parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '') as PyResult;
      } catch {
        reject(new Error(`pywinrm helper failed (${err?.message ?? 'no output'}): ${stderr}`));
        return;
      }
      if (parsed.error === 'import') {
        reject(new Error(`python3-winrm is not installed (${parsed.detail}): apt-get install -y python3-winrm`));
        return;
      }
      resolve(parsed);
    });
  });
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Decode the bootstrap the way PowerShell would (-EncodedCommand is base64 of UTF-16LE). */
export function decodeEncodedCommand(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf16le');
}

/**
 * A stand-in PowerShell for protocol tests: it does not interpret PowerShell; it echoes a digest of what it was
 * given (bootstrap + stdin), can stream, sleep (honouring the abort signal) and fail, driven by the stdin JSON.
 * `{ "until": NAME }` keeps it running until `conditions[NAME]()` holds: a wait for an event, where a fixed sleep
 * would assume how fast a busy machine is.
 */
export function scriptedPowerShell(log?: { started: number; aborted: number }, conditions: Record<string, () => boolean> = {}): PowerShellHandler {
  return async (inv, io) => {
    if (log) log.started++;
    const script = decodeEncodedCommand(inv.encodedCommand);
    let req: { sleepMs?: number; until?: string; exit?: number; stderr?: string; chunks?: number } = {};
    try {
      req = JSON.parse(inv.stdin.toString('utf8')) as typeof req;
    } catch {
      // not JSON: just report sizes
    }
    const { createHash } = await import('node:crypto');
    io.stdout(`script=${script.length} stdin=${inv.stdin.length} sha256=${createHash('sha256').update(inv.stdin).digest('hex')}\n`);
    for (let i = 0; i < (req.chunks ?? 0); i++) io.stdout(`chunk ${i} ✓\n`);
    if (req.stderr) io.stderr(req.stderr);
    const until = req.until === undefined ? undefined : conditions[req.until];
    if (req.until !== undefined && !until) throw new Error(`scriptedPowerShell: no condition named ${req.until}`);
    if (req.sleepMs || until) {
      const aborted = await new Promise<boolean>((resolve) => {
        if (io.signal.aborted) return resolve(true);
        const done = (): void => {
          clearTimeout(t);
          resolve(false);
        };
        const t = until ? setInterval(() => until() && done(), 10) : setTimeout(done, req.sleepMs);
        io.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      if (aborted) {
        if (log) log.aborted++;
        return 0xc000013a; // STATUS_CONTROL_C_EXIT
      }
    }
    io.stdout('done\n');
    return req.exit ?? 0;
  };
}
