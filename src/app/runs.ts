/** runs and show: what the journal holds — the list of runs, and one run's record (events, hosts, snapshots). */
import type { RunManifest, RunRecord } from '../journal/store.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import type { AppContext } from './context.js';
import { openJournal } from './journal.js';

export type RunListing = RunManifest & { interrupted: boolean };

/** The journal's runs, newest first. */
export async function listRuns(options: ConfigOptions, ctx: AppContext): Promise<RunListing[]> {
  const config = await loadAppConfig(options, ctx);
  return openJournal(config, ctx).listRuns();
}

export interface ShowOptions extends ConfigOptions {
  run: string;
}

/** One run as journaled; report/show.ts folds it into per-host outcomes. */
export async function readRun(options: ShowOptions, ctx: AppContext): Promise<RunRecord> {
  const config = await loadAppConfig(options, ctx);
  return openJournal(config, ctx).readRun(options.run);
}
