/**
 * Which hosts a use case works on and in what order: the inventory (with --limit), the hosts of a journaled run
 * (with --hosts), and the rollout strategy (canary, batches, budget) built from the configuration.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ResolvedConfig } from '../config/schema.js';
import { defaultCanary, parseSize, resolveSize, type Strategy } from '../config/strategy.js';
import { loadInventory, type LoadedInventory } from '../inventory/load.js';
import { matchPattern, type GroupTree } from '../inventory/pattern.js';
import { inventoryInputs, type InventoryInputFlags } from '../inventory/source-options.js';
import type { HostSpec } from '../inventory/types.js';
import type { RunRecord } from '../journal/store.js';
import { foldHosts } from '../util/hostrange.js';
import { InputError } from '../util/errors.js';
import { type AppContext, warn } from './context.js';

/**
 * The inventory and --limit, plus how to open it: vault passwords (`vaultId`, `vaultPasswordFile`, and the
 * ANSIBLE_VAULT_* variables of the context's env) and the time limit of inventory and password scripts.
 */
export interface TargetOptions extends InventoryInputFlags {
  /** Inventory files, directories or host lists (like `ansible -i`). */
  inventory?: readonly string[];
  /** Ansible --limit patterns. */
  limit?: readonly string[];
}

/** Async because a vault password may come from a script or from the context's prompt (`--vault-id LABEL@prompt`). */
export async function loadHosts(
  options: TargetOptions,
  config: ResolvedConfig,
  ctx: AppContext,
  fallbackSources?: readonly string[],
  fallbackLimit?: string,
): Promise<LoadedInventory> {
  const sources = options.inventory?.length ? options.inventory : fallbackSources;
  if (!sources?.length) throw new InputError('no inventory given: use -i FILE (an inventory file, a directory or a host list)', { field: '--inventory' });
  const limit = options.limit?.length ? options.limit : fallbackLimit;
  const inv = loadInventory({
    sources,
    cwd: ctx.cwd,
    ...(limit ? { limit } : {}),
    env: ctx.env,
    connectionDefaults: config.connection,
    ...(await inventoryInputs(options, { env: ctx.env, cwd: ctx.cwd, ...(ctx.prompt ? { prompt: ctx.prompt } : {}) })),
    // A host without credentials is a configuration error now, not an auth failure after connecting.
    requireCredentials: true,
  });
  for (const w of inv.warnings) warn(ctx, w);
  if (inv.hosts.length === 0) throw new InputError('the inventory has no hosts', { file: inv.source });
  return inv;
}

/** Inventory sources as given, with paths made absolute so a later resume/rollback/apply finds them anywhere. */
export function absoluteSources(ctx: AppContext, sources: readonly string[] | undefined): string[] {
  return (sources ?? []).map((s) => {
    const abs = resolve(ctx.cwd, s);
    return existsSync(abs) ? abs : s;
  });
}

/** The journaled `limit` field: the patterns joined as --limit takes them. */
export function limitField(options: TargetOptions): { limit?: string } {
  return options.limit?.length ? { limit: options.limit.join(',') } : {};
}

/** Strategy from the resolved configuration; canary entries are counts/percentages or host patterns. */
export function strategyFor(config: ResolvedConfig, hosts: readonly string[], groups: GroupTree): Partial<Strategy> {
  const canary = new Set<string>();
  const inRun = new Set(hosts);
  for (const entry of config.canary) {
    if (/^\d+%?$/.test(entry)) {
      const n = resolveSize(parseSize(entry, '--canary'), hosts.length);
      hosts.slice(0, n).forEach((h) => canary.add(h));
      continue;
    }
    const matched = matchPattern(groups, entry, '--canary').filter((h) => inRun.has(h));
    if (matched.length === 0) throw new InputError(`the canary pattern ${JSON.stringify(entry)} selects no host of this run`, { field: '--canary' });
    matched.forEach((h) => canary.add(h));
  }
  const chosen = hosts.filter((h) => canary.has(h));
  const auto = defaultCanary(hosts, { canary: chosen, batches: config.batches, enabled: config.defaultCanary });
  return {
    concurrency: config.concurrency,
    canary: auto ? [auto] : chosen,
    ...(auto ? { canaryDefault: true } : {}),
    batches: config.batches,
    maxFailures: config.failureBudget,
    countUnreachable: config.unreachableCountsAsFailure,
    rollbackBatchOnBudget: config.rollbackBatchOnBudget,
    retries: config.retries.count,
    retryBaseMs: config.retries.backoffMs,
    hostDeadlineMs: config.deadlines.hostMs,
    onFailure: config.onFailure,
  };
}

/** plan and rollback runs: every host, no canary, no batches, no failure budget. */
export function everyHostStrategy(config: ResolvedConfig): Partial<Strategy> {
  return {
    concurrency: config.concurrency,
    retries: config.retries.count,
    retryBaseMs: config.retries.backoffMs,
    hostDeadlineMs: config.deadlines.hostMs,
    maxFailures: { kind: 'percent', pct: 100 },
  };
}

export function deadlinesOf(config: ResolvedConfig): { connectMs: number; authMs: number; commandMs: number } {
  return { connectMs: config.deadlines.connectMs, authMs: config.deadlines.authMs, commandMs: config.deadlines.commandMs };
}

/** The run's hosts as a group tree, for --hosts patterns. */
export function journalGroups(record: RunRecord): GroupTree {
  const tree: GroupTree = { all: { children: ['ungrouped'], hosts: [] }, ungrouped: { children: [], hosts: [] } };
  for (const h of record.hosts) {
    if (h.groups.length === 0) tree.ungrouped!.hosts.push(h.name);
    for (const g of h.groups) {
      if (!tree[g]) {
        tree[g] = { children: [], hosts: [] };
        tree.all!.children.push(g);
      }
      tree[g]!.hosts.push(h.name);
    }
  }
  return tree;
}

export function selectRunHosts(record: RunRecord, pattern: string | undefined): string[] | undefined {
  if (pattern === undefined) return undefined;
  const inRun = new Set(record.hosts.map((h) => h.name));
  const chosen = matchPattern(journalGroups(record), pattern, '--hosts').filter((h) => inRun.has(h));
  if (chosen.length === 0) throw new InputError(`--hosts ${JSON.stringify(pattern)} matches no host of run ${record.manifest.runId}`, { field: '--hosts' });
  return chosen;
}

/** Connection settings for journaled hosts: from the inventory (re-read, so secrets resolve again). */
export async function hostsFromInventory(
  options: TargetOptions,
  config: ResolvedConfig,
  ctx: AppContext,
  record: RunRecord,
  names: readonly string[],
): Promise<HostSpec[]> {
  const sources = options.inventory?.length ? options.inventory : record.manifest.inventorySources;
  const inv = await loadHosts(options, config, ctx, sources);
  const byName = new Map(inv.hosts.map((h) => [h.name, h]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new InputError(
      `hosts of run ${record.manifest.runId} are not in the inventory ${inv.source}: ${foldHosts(missing)} (pass the run's inventory with -i)`,
      { field: '--inventory', host: missing[0]! },
    );
  }
  return names.map((n) => byName.get(n)!);
}
