/**
 * The static remote-engine files in ps-scripts/. They are read once and sent as they are: the controller never
 * generates PowerShell from data (docs/decisions.md D2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PsScripts {
  /** ps-scripts/bootstrap.ps1: what -EncodedCommand runs on every transport. */
  bootstrap: string;
  /** ps-scripts/engine.ps1: sent in the payload as `script`. */
  engine: string;
  /** Absolute path of the ps-scripts directory (for tests and tooling). */
  dir: string;
}

let cached: PsScripts | undefined;

/** Finds ps-scripts/ from this module, whether it runs from src/ (tests) or dist/src/ (the built CLI). */
export function psScriptsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'ps-scripts');
    if (existsSync(join(candidate, 'bootstrap.ps1'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('svcfleet: cannot find the ps-scripts directory next to the installed package');
}

export function loadPsScripts(): PsScripts {
  if (!cached) {
    const dir = psScriptsDir();
    cached = {
      dir,
      bootstrap: readFileSync(join(dir, 'bootstrap.ps1'), 'utf8'),
      engine: readFileSync(join(dir, 'engine.ps1'), 'utf8'),
    };
  }
  return cached;
}
