/**
 * resume and retry: run an apply run's remaining hosts again, appending to the same run (same id, next event
 * sequence numbers), so `show` and `rollback` cover every host whichever session changed it.
 *   resume — hosts without an outcome, left unknown, or skipped by a Ctrl-C/abort (budget/canary skips only when named);
 *   retry  — hosts that ended failed, rolled-back, unreachable or unknown.
 */
import { dirname, resolve } from 'node:path';
import { ExitCode } from '../engine/events.js';
import type { HostTask } from '../engine/types.js';
import type { HostSpec } from '../inventory/types.js';
import { hostsToResume, hostsToRetry, replayRun } from '../journal/replay.js';
import type { RunRecord } from '../journal/store.js';
import { loadPlanFile, planHostTask, resolvePlanSecrets, unsealPlanHost } from '../plan/planfile.js';
import { foldHosts } from '../util/hostrange.js';
import { loadSpec } from '../spec/load.js';
import { resolveSpecSecrets } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import { type AppContext, note, warn } from './context.js';
import { checkWritableFile, laterRollbacks, openJournal } from './journal.js';
import type { NothingToDo } from './rollback.js';
import { fileDigest, type JournaledTask, sourceChanged, tasksFromInputs, withRunRollout } from './run-inputs.js';
import { type LiveOptions, type RunResult, renderAll, runJournaled, selectView, stripRef } from './run.js';
import { promptOf, secretContext } from './secrets.js';
import { type TargetOptions, hostsFromInventory, journalGroups, selectRunHosts, strategyFor } from './targets.js';

export interface ContinueOptions extends ConfigOptions, TargetOptions, LiveOptions {
  /** The apply run to continue. */
  run: string;
  /** Only these hosts of the run (an Ansible pattern); for resume it also names budget/canary-skipped hosts. */
  hosts?: string;
  /**
   * Apply this change spec instead of the change the run journaled (said loudly on stderr). Without it the
   * journaled change is applied, whatever the spec file on disk says now.
   */
  spec?: string;
}

/** Hosts of the run left alone, and why (a safety stop's skip, or a later rollback run that took them back). */
export type HeldHost = { name: string; reason: string };

export type ContinueResult = (RunResult & { held: HeldHost[] }) | (NothingToDo & { held: HeldHost[] });

export function resume(options: ContinueOptions, ctx: AppContext): Promise<ContinueResult> {
  return continueRun(options, ctx, 'resume');
}

export function retry(options: ContinueOptions, ctx: AppContext): Promise<ContinueResult> {
  return continueRun(options, ctx, 'retry');
}

async function continueRun(options: ContinueOptions, ctx: AppContext, pick: 'resume' | 'retry'): Promise<ContinueResult> {
  const runId = options.run;
  const loaded = await loadAppConfig(options, ctx);
  const journal = openJournal(loaded, ctx);
  const record = await journal.readRun(runId);
  if (record.manifest.mode !== 'apply')
    throw new InputError(`run ${runId} is a ${record.manifest.mode} run; only apply runs can be ${pick}d`, { field: 'RUN' });
  if (record.inputsDamaged)
    throw new InputError(`run ${runId}: its journaled inputs (inputs.json) are damaged, so it cannot be ${pick}d as reviewed; start a new run with apply`, {
      field: 'RUN',
    });
  const inputs = record.inputs;
  const rollout = inputs ? withRunRollout(loaded, inputs.rollout, options.settings ?? {}) : undefined;
  let config = rollout?.config ?? loaded;
  const view = selectView(options.view, config, ctx);
  if (config.onFailure === 'ask' && view !== 'dashboard') {
    if (options.settings?.onFailure === 'ask') throw new InputError('--on-failure ask needs the dashboard (a terminal)', { field: '--on-failure' });
    note(ctx, `svcfleet: run ${runId} paused on failures (--on-failure ask), which needs the dashboard; this ${pick} continues past them instead`);
    config = { ...config, onFailure: 'continue' };
  }
  const junit = checkWritableFile(ctx, options.junit, '--junit');
  const replay = replayRun(record);
  const only = selectRunHosts(record, options.hosts);
  let names: string[];
  let held: HeldHost[] = [];
  if (pick === 'resume') {
    const picked = hostsToResume(replay, only);
    names = picked.hosts;
    held = picked.held;
    if (held.length) {
      const why = [...new Set(held.map((h) => h.reason))].join(', ');
      note(ctx, `svcfleet: not resuming ${foldHosts(held.map((h) => h.name))} (skipped: ${why}); name them with --hosts to resume them too`);
    }
  } else {
    names = hostsToRetry(replay);
    if (only) names = names.filter((n) => only.includes(n));
  }
  // A later rollback run of this run took these hosts back: continuing the run never redoes the change there.
  const undone = await laterRollbacks(journal, runId);
  const restored = names.filter((n) => undone.has(n));
  if (restored.length) {
    names = names.filter((n) => !undone.has(n));
    for (const n of restored) {
      const rb = undone.get(n)!;
      held.push({ name: n, reason: `rolled back by run ${rb.rollbackRunId} (${rb.outcome ?? 'no outcome recorded'})` });
    }
    const runs = [...new Set(restored.map((n) => undone.get(n)!.rollbackRunId))].join(', ');
    note(
      ctx,
      `svcfleet: not ${pick === 'resume' ? 'resuming' : 'retrying'} ${foldHosts(restored)}: rollback run ${runs} took them back; run apply again to change them`,
    );
  }
  if (names.length === 0) {
    const why = restored.length
      ? 'every remaining host was taken back by a rollback run'
      : pick === 'resume'
        ? 'every host has a recorded outcome'
        : 'no host ended failed, rolled-back, unreachable or unknown';
    const nothing = `nothing to ${pick} in run ${runId}: ${why}`;
    note(ctx, `svcfleet: ${nothing}`);
    return { exitCode: ExitCode.ok, nothing, held };
  }
  const hosts = await hostsFromInventory(options, config, ctx, record, names);
  const changes = await changesFor(options, record, hosts, ctx, pick);
  const tasks: HostTask[] = hosts.map((h) => {
    const prior = record.snapshots.get(h.name);
    return { host: h, ...changes.get(h.name)!, ...(prior ? { priorSnapshots: Object.fromEntries(prior) } : {}) };
  });
  const strategy = strategyFor(config, names, journalGroups(record));
  if (rollout) {
    if (rollout.canaryHosts) strategy.canary = names.filter((n) => rollout.canaryHosts!.includes(n));
    note(ctx, `svcfleet: ${pick} of run ${runId} with the run's rollout: ${rollout.summary}`);
    for (const o of rollout.overrides) note(ctx, `svcfleet: ${o} overrides the run's setting (given on the command line)`);
  } else {
    warn(
      ctx,
      `run ${runId} was journaled without its inputs (an older svcfleet): ${pick} reads the spec or plan file as it is now and uses today's settings and flags`,
    );
  }
  const result = await runJournaled(
    {
      mode: 'apply',
      runId,
      hosts,
      tasks,
      strategy,
      config,
      view,
      ...(junit ? { junit } : {}),
      ...(record.manifest.specFile ? { specFile: record.manifest.specFile } : {}),
      seqStart: record.lastSeq + 1,
      openWriter: async () => (await journal.reopenRun(runId)).writer,
      announce: () => `svcfleet: ${pick} of run ${runId}: ${foldHosts(names)} (${names.length} host${names.length === 1 ? '' : 's'})`,
    },
    ctx,
  );
  return { ...result, held };
}

/**
 * What each host is sent: the change the run journaled; an explicit --spec instead (said loudly); and for a
 * run journaled before its inputs were, the spec or plan file as it is now (the old behaviour).
 */
async function changesFor(
  options: ContinueOptions,
  record: RunRecord,
  hosts: readonly HostSpec[],
  ctx: AppContext,
  pick: string,
): Promise<Map<string, JournaledTask>> {
  const runId = record.manifest.runId;
  const inputs = record.inputs;
  if (options.spec === undefined && inputs?.requests) {
    const changed = inputs.source ? sourceChanged(inputs.source) : undefined;
    if (changed) note(ctx, `svcfleet: ${changed}; it is ignored: ${pick} applies the change run ${runId} journaled (pass --spec FILE to apply a file instead)`);
    return tasksFromInputs(inputs, runId, hosts, ctx);
  }
  const out = new Map<string, JournaledTask>();
  if (options.spec === undefined && record.manifest.planFile) {
    const saved = loadPlanFile(record.manifest.planFile);
    const secrets = await resolvePlanSecrets(saved, secretContext(ctx, dirname(record.manifest.planFile)));
    const byHost = new Map(saved.hosts.map((h) => [h.host, h]));
    for (const h of hosts) out.set(h.name, planHostTask(unsealPlanHost(saved, byHost.get(h.name)!, h), secrets));
    return out;
  }
  const specFile = options.spec !== undefined ? resolve(ctx.cwd, options.spec) : record.manifest.specFile;
  if (!specFile) throw new InputError(`run ${runId} has no spec file recorded; pass --spec FILE`, { field: '--spec' });
  if (options.spec !== undefined && inputs) {
    const was = inputs.source?.kind === 'plan' ? `the change of plan ${inputs.source.file}` : 'the change';
    const same = inputs.source?.kind === 'spec' && fileDigest(specFile) === inputs.source.digest;
    warn(
      ctx,
      `--spec ${specFile}: ${pick} applies this file, NOT ${was} run ${runId} journaled${same ? ' (the file is unchanged since the run)' : ' (the file differs from what the run applied)'}`,
    );
  }
  const spec = loadSpec(specFile);
  renderAll(spec, hosts);
  const secrets = await resolveSpecSecrets(spec, { env: ctx.env, prompt: promptOf(ctx) });
  const rendered = renderAll(spec, hosts, secrets);
  for (const h of hosts) out.set(h.name, { changes: rendered.get(h.name)!.map(stripRef) });
  return out;
}
