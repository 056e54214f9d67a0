/**
 * Assembles the remote engine from its parts in ps-scripts/engine/ into the ONE script that is sent. The build
 * (scripts/build-engine.mjs, on the compiled copy of this module) and loadPsScripts() (when no built file is
 * present) both call assembleEngine(), so what a test runs from source and what the package sends are the same
 * bytes.
 *
 * The order is the parts' file names: `NN-name.ps1`, two digits, sorted. A name in the file list rather than a
 * separate manifest means there is one place that says which parts exist and in which order, and `ls` shows it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const partName = /^(\d{2})-[a-z0-9][a-z0-9-]*\.ps1$/;

/** The part files of `dir`, in assembly order. Any other .ps1 there is an error, never silently left out. */
export function engineParts(dir: string): string[] {
  const ps1 = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.ps1'));
  const stray = ps1.filter((f) => !partName.test(f));
  if (stray.length) {
    throw new Error(`svcfleet: ${dir}: ${stray.join(', ')}: engine parts are named NN-name.ps1 (two digits, lowercase name)`);
  }
  const parts = ps1.sort();
  const seen = new Map<string, string>();
  for (const f of parts) {
    const nn = f.slice(0, 2);
    const other = seen.get(nn);
    if (other) throw new Error(`svcfleet: ${dir}: ${other} and ${f} have the same number; the order would be ambiguous`);
    seen.set(nn, f);
  }
  if (!parts.length) throw new Error(`svcfleet: ${dir}: no engine parts (NN-name.ps1)`);
  return parts;
}

/**
 * The parts' text, each without leading or trailing blank lines, joined by exactly one blank line and ending in
 * one newline. The parts start at the engine's section banners, so nothing marks a seam but that blank line: the
 * assembled script is the single-file engine as it was, line for line ("engine line N" in an internal error is a
 * line of this text).
 */
export function assembleEngine(dir: string): string {
  return assembleTexts(engineParts(dir).map((f) => readFileSync(join(dir, f), 'utf8')));
}

export function assembleTexts(texts: readonly string[]): string {
  return `${texts.map((t) => t.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/(?:\r?\n[ \t]*)*$/, '')).join('\n\n')}\n`;
}
