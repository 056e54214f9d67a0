/**
 * The selftest's own reading path: ps-scripts/selftest/host.ps1, sent like the engine (the same bootstrap as
 * -EncodedCommand, one ASCII JSON line {script, request} on stdin) but sharing none of the engine's code. It answers
 * with one frame, `<<svcfleet-selftest:<nonce>:<base64 JSON>>>`, so banners, CLIXML and stray output never count.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asciiJson, encodeCommand, newNonce } from '../../remote/invocation.js';
import { loadPsScripts } from '../../remote/scripts.js';
import type { Session } from '../../transport/types.js';

export interface SelftestFiles {
  /** ps-scripts/selftest/host.ps1 */
  hostScript: string;
  /** ps-scripts/selftest/ScratchService.cs, compiled on the host. */
  serviceSource: string;
}

let cached: SelftestFiles | undefined;

/** The package's ps-scripts/selftest, found by walking up from this module (src/ and dist/ alike). */
export function selftestFiles(): SelftestFiles {
  if (!cached) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 6; i++) {
      const candidate = join(dir, 'ps-scripts', 'selftest');
      if (existsSync(join(candidate, 'host.ps1'))) {
        cached = {
          hostScript: readFileSync(join(candidate, 'host.ps1'), 'utf8'),
          serviceSource: readFileSync(join(candidate, 'ScratchService.cs'), 'utf8'),
        };
        return cached;
      }
      dir = dirname(dir);
    }
    throw new Error('svcfleet: cannot find ps-scripts/selftest next to the installed package');
  }
  return cached;
}

/** Run one host.ps1 operation; the parsed answer, or an Error naming what came back instead. */
export async function runHostScript<T>(session: Session, request: Record<string, unknown>, commandMs: number): Promise<T> {
  const nonce = newNonce();
  const line = `{"script":${asciiJson(selftestFiles().hostScript)},"request":${asciiJson({ ...request, nonce })}}`;
  const exec = await session.exec({ encodedCommand: encodeCommand(loadPsScripts().bootstrap), stdin: Buffer.from(`${line}\n`, 'ascii') }, { commandMs });
  const marker = `<<svcfleet-selftest:${nonce}:`;
  const start = exec.stdout.indexOf(marker);
  const end = start < 0 ? -1 : exec.stdout.indexOf('>>', start + marker.length);
  if (start < 0 || end < 0) {
    const clip = (s: string) => (s.length > 600 ? `${s.slice(0, 600)}…` : s);
    throw new Error(`selftest host script (${String(request.op)}) gave no answer (exit ${exec.exitCode ?? 'unknown'}): ${clip(exec.stdout + exec.stderr)}`);
  }
  return JSON.parse(Buffer.from(exec.stdout.slice(start + marker.length, end), 'base64').toString('utf8')) as T;
}

/** A native command's exit code and output, as host.ps1 returns it. */
export interface Raw {
  exit: number;
  lines: string[];
}

export interface ReadAnswer {
  ok: boolean;
  qc: Raw;
  qdescription: Raw;
  qfailure: Raw;
  qfailureflag: Raw;
  queryex: Raw;
  environment: string[] | null;
  displayName: string | null;
  description: string | null;
  /** ImagePath as stored (a %VAR% stays). */
  imagePath: string | null;
  /** The FailureActions REG_BINARY value, base64; null when absent. */
  failureActions: string | null;
  message?: string;
}

export interface CensusAnswer {
  ok: boolean;
  exit: number;
  services: string[];
  files: string[];
  /** Local user names. */
  users?: string[];
  /** Who holds "Log on as a service": SIDs (orphaned ones included); on the lab, names for accounts without a SID. */
  logonRight?: string[];
  /** SIDs of the user profiles (Win32_UserProfile); empty on the lab. */
  profiles?: string[];
  emulated: boolean;
  message?: string;
}

export interface CreateAnswer {
  ok: boolean;
  binaryPath?: string;
  program?: 'scratch-service' | 'lab-svcprogram';
  message?: string;
}

export interface DeleteAnswer {
  ok: boolean;
  notes?: string[];
  message?: string;
}

/** host.ps1 `user`: the scratch local user. */
export interface UserAnswer {
  ok: boolean;
  code?: number;
  exists?: boolean;
  granted?: boolean;
  revoked?: boolean;
  notes?: string[];
  message?: string;
}
