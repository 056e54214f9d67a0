/**
 * plan: connect read-only, take every host's snapshot and diff it against the change spec; group the hosts by
 * identical change; optionally save the plan file that `apply PLAN` executes exactly (with its drift guard).
 */
import { resolve } from 'node:path';
import type { RunDoneEvent } from '../engine/events.js';
import { newRunId } from '../engine/run-id.js';
import type { LoadedInventory } from '../inventory/load.js';
import { writeFileAtomic } from '../util/fsutil.js';
import { groupPlan, type PlanEntry, type PlanSummary } from '../plan/group.js';
import { hostBinding, inventoryDigest } from '../plan/binding.js';
import { PLAN_KIND, PLAN_VERSION, planDigest, serializePlan, toPlanService, type PlanDraft } from '../plan/planfile.js';
import type { FieldChange } from '../remote/protocol.js';
import { loadSpec } from '../spec/load.js';
import { InputError } from '../util/errors.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import type { AppContext } from './context.js';
import { checkWritableFile, journalHost, openJournal } from './journal.js';
import { type LiveOptions, type RunView, groupsLookup, renderAll, requestLookup, runPrepared, selectView, stripRef, usingEngineIO } from './run.js';
import { type TargetOptions, absoluteSources, everyHostStrategy, limitField, loadHosts } from './targets.js';

export interface PlanOptions extends ConfigOptions, TargetOptions, LiveOptions {
  /** The change spec (YAML or JSON, docs/spec.md). */
  spec: string;
  /** Save the plan here (`svcfleet apply FILE` runs exactly it later). */
  out?: string;
}

export interface PlanResult {
  runId: string;
  exitCode: number;
  done: RunDoneEvent;
  /** The hosts grouped by identical change (what `svcfleet plan` prints). */
  summary: PlanSummary;
  entries: PlanEntry[];
  /** The live view the run drew ('none' without a terminal). */
  view: RunView;
  /** The saved plan file (absolute), when `out` was given. */
  planFile?: string;
  /** The saved plan's digest (plan/digest.ts: full sha256 hex), for `apply PLAN --expect-digest`. */
  planDigest?: string;
  inventory: LoadedInventory;
}

export async function plan(options: PlanOptions, ctx: AppContext): Promise<PlanResult> {
  if (!options.spec) throw new InputError('no change spec given: svcfleet plan SPEC -i INVENTORY', { field: 'SPEC' });
  const config = await loadAppConfig(options, ctx);
  const inv = await loadHosts(options, config, ctx);
  const spec = loadSpec(resolve(ctx.cwd, options.spec));
  const rendered = renderAll(spec, inv.hosts); // plan never needs a password: references only
  const view = selectView(options.view, config, ctx);
  const junit = checkWritableFile(ctx, options.junit, '--junit');
  const planOut = checkWritableFile(ctx, options.out, '-o');
  const journal = openJournal(config, ctx);
  const runId = newRunId();
  const tasks = inv.hosts.map((h) => ({ host: h, changes: rendered.get(h.name)!.map(stripRef) }));
  const seen = new Map<string, Map<string, { configHash: string; diff: FieldChange[] }>>();
  const ended = new Map<string, { outcome: string; message: string; code: string }>();
  const done = await usingEngineIO(ctx, config, inv.hosts, async (io) => {
    const writer = await journal.createRun({
      runId,
      mode: 'plan',
      spec: spec.doc.value,
      specFile: spec.file,
      inventorySource: inv.source,
      inventorySources: absoluteSources(ctx, options.inventory),
      ...limitField(options),
      hosts: tasks.map((t) => journalHost(t.host, t.changes)),
    });
    // Read-only: no canary, no batches, no budget (a failure to read one host must not hide the others).
    const run = await runPrepared(
      {
        mode: 'plan',
        runId,
        tasks,
        strategy: everyHostStrategy(config),
        config,
        view,
        ...(junit ? { junit } : {}),
        groupsOf: groupsLookup(inv.hosts),
        requestFor: requestLookup(tasks),
        writer,
        specFile: spec.file,
        observe: (e) => {
          if (e.type === 'host-diff') {
            let m = seen.get(e.host);
            if (!m) seen.set(e.host, (m = new Map()));
            m.set(e.service, { configHash: e.configHash, diff: e.changes });
          } else if (e.type === 'host-done') ended.set(e.host, { outcome: e.outcome, message: e.message, code: e.reason.code });
        },
      },
      io,
      ctx,
    );
    return run.done;
  });

  const entries: PlanEntry[] = [];
  for (const h of inv.hosts) {
    const end = ended.get(h.name);
    const per = seen.get(h.name);
    if (end?.outcome === 'unreachable') entries.push({ host: h.name, status: 'unreachable', message: end.message });
    else if (end && end.outcome !== 'changed' && end.outcome !== 'unchanged')
      entries.push({ host: h.name, status: 'error', message: end.message, code: end.code });
    for (const [service, s] of per ?? []) entries.push({ host: h.name, service, status: 'planned', diff: s.diff, configHash: s.configHash });
  }
  const summary = groupPlan(entries);
  let digest: string | undefined;
  if (planOut) {
    // What binds the plan to the inventory it was made from (apply checks it again): plan/binding.ts.
    const binds = new Map(inv.hosts.map((h) => [h.name, hostBinding(h)]));
    const file: PlanDraft = {
      kind: PLAN_KIND,
      version: PLAN_VERSION,
      createdAt: new Date().toISOString(),
      runId,
      spec: { file: spec.file, digest: spec.digest },
      inventory: {
        sources: absoluteSources(ctx, options.inventory),
        ...limitField(options),
        digest: inventoryDigest(inv.hosts.map((h) => ({ host: h.name, bind: binds.get(h.name)! }))),
      },
      hosts: inv.hosts.map((h) => {
        const end = ended.get(h.name);
        const per = seen.get(h.name);
        const status: PlanDraft['hosts'][number]['status'] =
          end?.outcome === 'changed' ? 'change' : end?.outcome === 'unchanged' ? 'unchanged' : end?.outcome === 'unreachable' ? 'unreachable' : 'error';
        return {
          host: h.name,
          status,
          ...(status === 'unreachable' || status === 'error' ? { message: end?.message ?? 'no result' } : {}),
          bind: binds.get(h.name)!,
          services: rendered.get(h.name)!.map((req) => toPlanService(req, per?.get(req.service) ?? {})),
        };
      }),
    };
    await writeFileAtomic(planOut, serializePlan(file));
    digest = planDigest(file);
  }
  return {
    runId,
    exitCode: done.exitCode,
    done,
    summary,
    entries,
    view,
    ...(planOut ? { planFile: planOut } : {}),
    ...(digest ? { planDigest: digest } : {}),
    inventory: inv,
  };
}
