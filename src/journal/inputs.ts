/**
 * inputs.json: what a run applies and how it rolls out (record.ts RunInputs), written once, atomically, when
 * the run is created (before any host is contacted), and read back by `resume`, `retry` and `rollback`.
 * Scrubbed like spec.json and hosts.json: the record holds password references, never values.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scrubSecrets } from '../engine/scrub.js';
import { writeFileAtomic } from '../util/fsutil.js';
import type { RunInputs } from './record.js';

export const INPUTS_FILE = 'inputs.json';
const INPUTS_FORMAT = 'svcfleet-run-inputs';

export async function writeRunInputs(dir: string, inputs: RunInputs): Promise<void> {
  await writeFileAtomic(join(dir, INPUTS_FILE), JSON.stringify(scrubSecrets(inputs), null, 2));
}

/**
 * The run's inputs; none for a run journaled before they were recorded. A file that exists but does not read
 * back as an inputs record is reported as damaged (not thrown: `show` still shows the run), and whoever would
 * continue the run from it refuses: guessing would apply something nobody reviewed.
 */
export async function readRunInputs(dir: string): Promise<{ inputs?: RunInputs; damaged: boolean }> {
  const path = join(dir, INPUTS_FILE);
  if (!existsSync(path)) return { damaged: false };
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<RunInputs> | null;
    if (v && v.format === INPUTS_FORMAT && v.version === 1 && v.rollout && v.selection) return { inputs: v as RunInputs, damaged: false };
  } catch {
    // unreadable or not JSON: damaged, below
  }
  return { damaged: true };
}
