/**
 * The static remote-engine files. They are read once and sent as they are: the controller never generates
 * PowerShell from data (docs/decisions.md D2).
 *
 * The engine is kept as parts (ps-scripts/engine/NN-name.ps1) and sent as ONE script. `npm run build` assembles it
 * into dist/ps-scripts/engine.ps1 and copies the bootstrap beside it (scripts/build-engine.mjs), so the installed
 * CLI reads exactly the two files it sends. Run from source (tests, tsx, the benches' compiled mirrors) there is no
 * such directory next to the module, and the parts are assembled in memory by the same function the build uses.
 * A dist/ build is never read from source: a test must run the parts as they are now, not as last built.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleEngine } from './engine-parts.js';

export interface PsScripts {
  /** ps-scripts/bootstrap.ps1: what -EncodedCommand runs on every transport. */
  bootstrap: string;
  /** The assembled engine (ps-scripts/engine/*.ps1 in order): sent in the payload as `script`. */
  engine: string;
  /**
   * ps-scripts/native.ps1: the engine's P/Invoke types, sent in the payload as `native` and loaded by the engine only
   * when a request needs one (docs/reference/powershell.md "Script block logging and suspicious content").
   */
  native: string;
  /** Absolute path of the directory they were read from (psScriptsDir()). */
  dir: string;
  /** 'built': dist/ps-scripts/engine.ps1 as the build wrote it; 'parts': assembled now from ps-scripts/engine/. */
  from: 'built' | 'parts';
}

let cached: PsScripts | undefined;

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/**
 * The ps-scripts directory this module uses, found by walking up from it: dist/ps-scripts (bootstrap.ps1 and the
 * built engine.ps1) when it runs from dist/, the source ps-scripts/ (bootstrap.ps1 and engine/) when it runs from
 * src/ or a compiled mirror of it.
 */
export function psScriptsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'ps-scripts');
    if (existsSync(join(candidate, 'bootstrap.ps1')) && (existsSync(join(candidate, 'engine.ps1')) || isDir(join(candidate, 'engine')))) {
      return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error('svcfleet: cannot find the ps-scripts directory next to the installed package');
}

export function loadPsScripts(): PsScripts {
  if (!cached) {
    const dir = psScriptsDir();
    const built = join(dir, 'engine.ps1');
    const fromBuilt = existsSync(built);
    cached = {
      dir,
      bootstrap: readFileSync(join(dir, 'bootstrap.ps1'), 'utf8'),
      native: readFileSync(join(dir, 'native.ps1'), 'utf8'),
      engine: fromBuilt ? readFileSync(built, 'utf8') : assembleEngine(join(dir, 'engine')),
      from: fromBuilt ? 'built' : 'parts',
    };
  }
  return cached;
}
