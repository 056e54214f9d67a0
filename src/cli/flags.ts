/**
 * The command line's shared flags, and their translation into use-case options: the one place that knows a
 * flag's spelling, its help text and how its string is checked (errors name the flag, e.g. `--max-failures`,
 * not the config key it sets).
 */
import { type Command, Option } from 'commander';
import type { ConfigInput } from '../config/schema.js';
import { parseDuration, parseSize, parseSizeList } from '../config/strategy.js';
import type { ConfigOptions } from '../app/config.js';
import type { ContinueOptions } from '../app/continue.js';
import type { LiveOptions } from '../app/run.js';
import type { TargetOptions } from '../app/targets.js';
import type { InventoryInputFlags } from '../inventory/source-options.js';
import type { LiveView } from '../report/outputs.js';
import { InputError } from '../util/errors.js';

export interface TargetFlags extends InventoryInputFlags {
  inventory?: string[];
  limit?: string[];
  config?: string;
  concurrency?: string;
  deadline?: string;
  retries?: string;
  journal?: string;
  output?: string;
  ui?: string;
  junit?: string;
}

export interface RunFlags extends TargetFlags {
  spec?: string;
  /** false: `--no-canary`. */
  canary?: string[] | false;
  batches?: string;
  maxFailures?: string;
  countUnreachable?: boolean;
  rollbackBatch?: boolean;
  onFailure?: string;
  o?: string;
  expectDigest?: string;
  hosts?: string;
  failed?: boolean;
}

const collect = (value: string, prev: string[] | undefined): string[] => [...(prev ?? []), value];

/**
 * How to open an inventory: vault passwords and the script time limit. Shared by every command that loads an
 * inventory (addTargetOptions) and by `svcfleet inventory`, so the spelling and help text are the same.
 */
export function addInventoryInputOptions(cmd: Command, opts: { variadic?: boolean } = {}): Command {
  // `svcfleet inventory` takes its list options variadic (`-i a b`), like ansible-inventory; the others repeat.
  if (opts.variadic) {
    cmd
      .option('--vault-id <label@source...>', 'Ansible Vault password: LABEL@FILE, LABEL@prompt or FILE (repeatable)')
      .option('--vault-password-file <file...>', 'Ansible Vault password file or script (repeatable)');
  } else {
    cmd
      .option('--vault-id <label@source>', 'Ansible Vault password: LABEL@FILE, LABEL@prompt or FILE (repeatable)', collect)
      .option('--vault-password-file <file>', 'Ansible Vault password file or script (repeatable)', collect);
  }
  return cmd.option('--inventory-timeout <duration>', 'time limit of inventory and vault password scripts (default 30s)');
}

/** --vault-id, --vault-password-file and --inventory-timeout, as given (checked by inventoryInputs in the app). */
export function inventoryInputOptions(f: InventoryInputFlags): InventoryInputFlags {
  return {
    ...(f.vaultId?.length ? { vaultId: f.vaultId } : {}),
    ...(f.vaultPasswordFile?.length ? { vaultPasswordFile: f.vaultPasswordFile } : {}),
    ...(f.inventoryTimeout !== undefined ? { inventoryTimeout: f.inventoryTimeout } : {}),
  };
}

export function addTargetOptions(cmd: Command, opts: { run?: boolean; journal?: boolean; live?: boolean } = {}): Command {
  cmd.option('-i, --inventory <source>', 'inventory file, directory or host list (repeatable)', collect);
  addInventoryInputOptions(cmd)
    .option('-l, --limit <pattern>', 'only hosts matching an Ansible pattern, e.g. "web:&prod:!web03", "~web0[1-3]", @file (repeatable)', collect)
    .option('--config <file>', 'config file (default: searched from the current directory; see docs/config.md)')
    .option('-c, --concurrency <n>', 'hosts in flight at once (default 20)')
    .option('--deadline <duration>', 'per-host deadline for the whole host (e.g. 10m, 90s; default none)')
    .option('--retries <n>', 'connection retries before anything changed (default 2)');
  if (opts.journal !== false) cmd.option('--journal <dir>', 'journal directory (default $XDG_STATE_HOME/svcfleet or ~/.local/state/svcfleet)');
  if (opts.live !== false) {
    cmd
      .addOption(new Option('--output <format>', 'output on stdout when not a terminal dashboard').choices(['plain', 'ndjson']))
      .addOption(new Option('--ui <view>', 'live view (default: dashboard on a terminal, plain otherwise)').choices(['plain', 'ndjson', 'dashboard']))
      .option('--junit <file>', 'also write a JUnit XML report (one testcase per host)');
  }
  if (opts.run) {
    cmd
      .option('--canary <hosts>', 'run these first, as their own batch: a count (1), a percentage (5%) or a host pattern (repeatable)', collect)
      .option('--no-canary', 'no automatic canary (by default a run of more than 10 hosts without --canary or --batches runs its first host alone first)')
      .option('--batches <sizes>', 'batch sizes after the canary, the last repeats: e.g. 1,5,25%,100% (default 100%)')
      .option('--max-failures <n>', 'failure budget: counted failures tolerated, a count or a percentage (default 0)')
      .option('--count-unreachable', 'count unreachable hosts against the failure budget (default: counted apart)')
      .option('--rollback-batch', "when the budget is exceeded, also roll back the current batch's changed hosts")
      .addOption(new Option('--on-failure <mode>', 'continue, or ask (dashboard only): a failed host pauses the run').choices(['continue', 'ask']));
  }
  return cmd;
}

/** Read-only commands print plain text or one JSON document. */
export function jsonOutput(cmd: Command, examples: string): Command {
  return cmd.addOption(new Option('--output <format>', 'plain or json').choices(['plain', 'json'])).addHelpText('after', `\nExamples:\n${examples}`);
}

/** Flags validated with their own names (docs say `--max-failures`, not the config key), then merged by loadConfig. */
export function configFlags(f: RunFlags): ConfigInput {
  const flags: ConfigInput = {};
  if (f.concurrency !== undefined) {
    if (!/^\d+$/.test(f.concurrency) || Number(f.concurrency) < 1 || Number(f.concurrency) > 100_000) {
      throw new InputError(`expected a whole number from 1 to 100000, got ${JSON.stringify(f.concurrency)}`, { field: '--concurrency' });
    }
    flags.concurrency = Number(f.concurrency);
  }
  if (f.deadline !== undefined) {
    parseDuration(f.deadline, '--deadline'); // refused here, under the flag's name
    flags.deadlines = { host: f.deadline }; // the text: the config schema reads a bare number as seconds
  }
  if (f.retries !== undefined) {
    if (!/^\d+$/.test(f.retries) || Number(f.retries) > 20)
      throw new InputError(`expected a whole number from 0 to 20, got ${JSON.stringify(f.retries)}`, { field: '--retries' });
    flags.retries = { count: Number(f.retries) };
  }
  if (f.journal !== undefined) flags.journal = f.journal;
  if (f.maxFailures !== undefined) {
    parseSize(f.maxFailures, '--max-failures', { allowZero: true });
    flags.failureBudget = f.maxFailures;
  }
  if (f.batches !== undefined) {
    parseSizeList(f.batches, '--batches');
    flags.batches = f.batches;
  }
  if (f.canary === false) flags.defaultCanary = false;
  else if (f.canary !== undefined) flags.canary = f.canary;
  if (f.countUnreachable) flags.unreachableCountsAsFailure = true;
  if (f.rollbackBatch) flags.rollbackBatchOnBudget = true;
  if (f.onFailure !== undefined) flags.onFailure = f.onFailure as 'continue' | 'ask';
  return flags;
}

/** --config and the settings flags. */
export function configOptions(f: RunFlags): ConfigOptions {
  return { settings: configFlags(f), ...(f.config ? { configFile: f.config } : {}) };
}

/** -i, --limit and the vault / script time-limit flags. */
export function targetOptions(f: TargetFlags): TargetOptions {
  return { ...(f.inventory?.length ? { inventory: f.inventory } : {}), ...(f.limit?.length ? { limit: f.limit } : {}), ...inventoryInputOptions(f) };
}

/** --ui (wins) or --output, and --junit. */
export function liveOptions(f: TargetFlags): LiveOptions {
  const view = (f.ui ?? f.output) as LiveView | undefined;
  return { ...(view ? { view } : {}), ...(f.junit !== undefined ? { junit: f.junit } : {}) };
}

/** Everything a run command (plan, apply, rollback, resume, retry) takes from the shared flags. */
export function runOptions(f: RunFlags): ConfigOptions & TargetOptions & LiveOptions {
  return { ...configOptions(f), ...targetOptions(f), ...liveOptions(f) };
}

/** resume and retry: the run, --hosts and --spec on top of the run flags. */
export function continueOptions(run: string, f: RunFlags): ContinueOptions {
  return { ...runOptions(f), run, ...(f.hosts !== undefined ? { hosts: f.hosts } : {}), ...(f.spec !== undefined ? { spec: f.spec } : {}) };
}
