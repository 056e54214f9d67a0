/**
 * resume and retry: run an apply run's remaining hosts again, appending to the same run (same id, next event
 * sequence numbers), so `show` and `rollback` cover every host whichever session changed it.
 *   resume — hosts without an outcome, left unknown, or skipped by a Ctrl-C/abort (budget/canary skips only when named);
 *   retry  — hosts that ended failed, rolled-back, unreachable or unknown.
 */
import { dirname, resolve } from 'node:path';
import { ExitCode } from '../engine/events.js';
import type { HostTask, ServiceChange } from '../engine/types.js';
import type { HostSpec } from '../inventory/types.js';
import { hostsToResume, hostsToRetry, replayRun } from '../journal/replay.js';
import { loadPlanFile, planHostTask, resolvePlanSecrets, unsealPlanHost } from '../plan/planfile.js';
import { foldHosts } from '../util/hostrange.js';
import { loadSpec } from '../spec/load.js';
import { resolveSpecSecrets } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import type { RunResult } from './apply.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import { type AppContext, note } from './context.js';
import { checkWritableFile, openJournal } from './journal.js';
import type { NothingToDo } from './rollback.js';
import { type LiveOptions, groupsLookup, renderAll, requestLookup, runPrepared, selectView, stripRef, usingEngineIO } from './run.js';
import { promptOf, secretContext } from './secrets.js';
import { type TargetOptions, hostsFromInventory, journalGroups, selectRunHosts, strategyFor } from './targets.js';

export interface ContinueOptions extends ConfigOptions, TargetOptions, LiveOptions {
  /** The apply run to continue. */
  run: string;
  /** Only these hosts of the run (an Ansible pattern); for resume it also names budget/canary-skipped hosts. */
  hosts?: string;
  /** The change spec, if it moved since the run. */
  spec?: string;
}

export type ContinueResult = (RunResult & { held: { name: string; reason: string }[] }) | (NothingToDo & { held: { name: string; reason: string }[] });

export function resume(options: ContinueOptions, ctx: AppContext): Promise<ContinueResult> {
  return continueRun(options, ctx, 'resume');
}

export function retry(options: ContinueOptions, ctx: AppContext): Promise<ContinueResult> {
  return continueRun(options, ctx, 'retry');
}

async function continueRun(options: ContinueOptions, ctx: AppContext, pick: 'resume' | 'retry'): Promise<ContinueResult> {
  const runId = options.run;
  const config = await loadAppConfig(options, ctx);
  const view = selectView(options.view, config, ctx);
  if (config.onFailure === 'ask' && view !== 'dashboard') throw new InputError('--on-failure ask needs the dashboard (a terminal)', { field: '--on-failure' });
  const junit = checkWritableFile(ctx, options.junit, '--junit');
  const journal = openJournal(config, ctx);
  const record = await journal.readRun(runId);
  if (record.manifest.mode !== 'apply')
    throw new InputError(`run ${runId} is a ${record.manifest.mode} run; only apply runs can be ${pick}d`, { field: 'RUN' });
  const replay = replayRun(record);
  const only = selectRunHosts(record, options.hosts);
  let names: string[];
  let held: { name: string; reason: string }[] = [];
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
  if (names.length === 0) {
    const nothing = `nothing to ${pick} in run ${runId}: ${pick === 'resume' ? 'every host has a recorded outcome' : 'no host ended failed, rolled-back, unreachable or unknown'}`;
    note(ctx, `svcfleet: ${nothing}`);
    return { exitCode: ExitCode.ok, nothing, held };
  }
  const hosts = await hostsFromInventory(options, config, ctx, record, names);
  let changesFor: (h: HostSpec) => { changes: ServiceChange[]; plannedHashes?: Record<string, string> };
  if (record.manifest.planFile) {
    const saved = loadPlanFile(record.manifest.planFile);
    const secrets = await resolvePlanSecrets(saved, secretContext(ctx, dirname(record.manifest.planFile)));
    const byHost = new Map(saved.hosts.map((h) => [h.host, h]));
    changesFor = (h) => planHostTask(unsealPlanHost(saved, byHost.get(h.name)!, h), secrets);
  } else {
    const specFile = options.spec ? resolve(ctx.cwd, options.spec) : record.manifest.specFile;
    if (!specFile) throw new InputError(`run ${runId} has no spec file recorded; pass --spec FILE`, { field: '--spec' });
    const spec = loadSpec(specFile);
    renderAll(spec, hosts);
    const secrets = await resolveSpecSecrets(spec, { env: ctx.env, prompt: promptOf(ctx) });
    const rendered = renderAll(spec, hosts, secrets);
    changesFor = (h) => ({ changes: rendered.get(h.name)!.map(stripRef) });
  }
  const tasks: HostTask[] = hosts.map((h) => {
    const prior = record.snapshots.get(h.name);
    return { host: h, ...changesFor(h), ...(prior ? { priorSnapshots: Object.fromEntries(prior) } : {}) };
  });
  const strategy = strategyFor(config, names, journalGroups(record));
  return usingEngineIO(ctx, config, hosts, async (io) => {
    const { writer } = await journal.reopenRun(runId);
    if (view !== 'ndjson') note(ctx, `svcfleet: ${pick} of run ${runId}: ${foldHosts(names)} (${names.length} host${names.length === 1 ? '' : 's'})`);
    const { done } = await runPrepared(
      {
        mode: 'apply',
        runId,
        tasks,
        strategy,
        config,
        view,
        ...(junit ? { junit } : {}),
        groupsOf: groupsLookup(hosts),
        requestFor: requestLookup(tasks),
        writer,
        ...(record.manifest.specFile ? { specFile: record.manifest.specFile } : {}),
        seqStart: record.lastSeq + 1,
      },
      io,
      ctx,
    );
    return { runId, exitCode: done.exitCode, done, view, journalDir: writer.dir, held };
  });
}
