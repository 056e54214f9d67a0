/**
 * rollback: restore the hosts of an apply run to their journaled before-snapshots (or, for a host named with
 * `hosts` that has none, its own backup of that run). A rollback is a run of its own, linked to its parent.
 */
import { newRunId } from '../engine/run-id.js';
import type { HostTask } from '../engine/types.js';
import { rollbackTargets } from '../journal/replay.js';
import { foldHosts } from '../util/hostrange.js';
import { ExitCode } from '../engine/events.js';
import { InputError } from '../util/errors.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import { type AppContext, note, warn } from './context.js';
import { checkWritableFile, journalHost, openJournal } from './journal.js';
import { runInputs, withRunRollout } from './run-inputs.js';
import { type LiveOptions, type RunResult, runJournaled, selectView } from './run.js';
import { type TargetOptions, absoluteSources, everyHostStrategy, hostsFromInventory, selectRunHosts } from './targets.js';

export interface RollbackOptions extends ConfigOptions, TargetOptions, LiveOptions {
  /** The apply run to roll back. */
  run: string;
  /** Only these hosts of the run (an Ansible pattern over the run's hosts and groups). */
  hosts?: string;
}

/** A command that found nothing to do: no run was started. */
export interface NothingToDo {
  exitCode: number;
  nothing: string;
}

export type RollbackResult = (RunResult & { untouched: string[] }) | (NothingToDo & { untouched: string[] });

export async function rollback(options: RollbackOptions, ctx: AppContext): Promise<RollbackResult> {
  const parentId = options.run;
  const loaded = await loadAppConfig(options, ctx);
  const journal = openJournal(loaded, ctx);
  const record = await journal.readRun(parentId);
  // The parent's concurrency, retries and deadlines (flags given now override them); its canary, batches and
  // budget do not apply: a rollback restores every host it can.
  const rollout = record.inputs ? withRunRollout(loaded, record.inputs.rollout, options.settings ?? {}) : undefined;
  const config = rollout?.config ?? loaded;
  const view = selectView(options.view, config, ctx);
  const junit = checkWritableFile(ctx, options.junit, '--junit');
  if (record.manifest.mode !== 'apply')
    throw new InputError(`run ${parentId} is a ${record.manifest.mode} run: nothing it did can be rolled back`, { field: 'RUN' });
  if (record.manifest.status === 'running' && !record.interrupted) {
    throw new InputError(`run ${parentId} is still in progress (pid ${record.manifest.pid}); stop it first`, { field: 'RUN' });
  }
  const selected = selectRunHosts(record, options.hosts);
  const { targets, untouched } = rollbackTargets(record, selected);
  if (untouched.length) {
    note(ctx, `svcfleet: not rolling back ${foldHosts(untouched)}: run ${parentId} ended there without sending a change (nothing to restore)`);
  }
  if (targets.size === 0) {
    const nothing = `nothing to roll back in run ${parentId}: no host has a journaled before-snapshot (no apply request was sent)`;
    note(ctx, `svcfleet: ${nothing}`);
    return { exitCode: ExitCode.ok, nothing, untouched };
  }
  const names = [...targets.keys()];
  const hosts = await hostsFromInventory(options, config, ctx, record, names);
  const tasks: HostTask[] = hosts.map((h) => ({ host: h, restores: targets.get(h.name)! }));
  // A rollback does not stop at the first host it cannot restore: every other host still deserves it.
  const strategy = everyHostStrategy(config);
  const runId = newRunId();
  if (rollout) {
    note(ctx, `svcfleet: rollback of run ${parentId} with the run's concurrency ${config.concurrency}, retries ${config.retries.count}`);
    for (const o of rollout.overrides) note(ctx, `svcfleet: ${o} overrides the run's setting (given on the command line)`);
  } else {
    warn(ctx, `run ${parentId} was journaled without its inputs (an older svcfleet): rollback uses today's settings and flags`);
  }
  const inventorySources = options.inventory?.length ? absoluteSources(ctx, options.inventory) : (record.manifest.inventorySources ?? []);
  const result = await runJournaled(
    {
      mode: 'rollback',
      runId,
      hosts,
      tasks,
      strategy,
      config,
      view,
      ...(junit ? { junit } : {}),
      openWriter: () =>
        journal.createRun({
          runId,
          mode: 'rollback',
          parentRunId: parentId,
          spec: { rollbackOf: parentId },
          ...(record.manifest.inventorySource ? { inventorySource: record.manifest.inventorySource } : {}),
          inventorySources,
          hosts: hosts.map((h) => journalHost(h)),
          inputs: runInputs({ config, canaryHosts: [], hosts: names, inventory: inventorySources }),
        }),
      announce: () => `svcfleet: rollback of run ${parentId} as run ${runId}: ${foldHosts(names)}`,
    },
    ctx,
  );
  return { ...result, untouched };
}
