/**
 * apply: a change spec (rendered per host, secrets resolved) or a saved plan (exactly its changes, with the
 * drift guard) across the fleet, with canaries, batches and a failure budget; journaled as a run of its own.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { newRunId } from '../engine/run-id.js';
import type { HostTask } from '../engine/types.js';
import type { GroupTree } from '../inventory/pattern.js';
import type { HostSpec } from '../inventory/types.js';
import { PLAN_KIND } from '../plan/planfile.js';
import { loadSpec } from '../spec/load.js';
import { resolveSpecSecrets } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import type { AppContext } from './context.js';
import { checkWritableFile, journalHost, openJournal } from './journal.js';
import { loadBoundPlan } from './plan-binding.js';
import { fileDigest, type InputsOf, runInputs } from './run-inputs.js';
import { type LiveOptions, type RunResult, renderAll, runJournaled, selectView, stripRef } from './run.js';
import { promptOf } from './secrets.js';
import { type TargetOptions, absoluteSources, limitField, loadHosts, strategyFor } from './targets.js';

export interface ApplyOptions extends ConfigOptions, TargetOptions, LiveOptions {
  /** A change spec, or a plan saved by `plan` (recognised by its `kind`). */
  input: string;
  /** With a plan: refuse unless its digest is this (short or full form, plan/digest.ts). */
  expectDigest?: string;
}

export type { RunResult } from './run.js';

/** A saved plan is JSON with kind svcfleet-plan; anything else is read as a change spec. */
function isPlanFile(file: string): boolean {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { kind?: unknown } | null;
    return v !== null && typeof v === 'object' && v.kind === PLAN_KIND;
  } catch {
    return false;
  }
}

export async function apply(options: ApplyOptions, ctx: AppContext): Promise<RunResult> {
  if (!options.input) throw new InputError('nothing to apply: svcfleet apply SPEC|PLAN.json -i INVENTORY', { field: 'SPEC' });
  const file = resolve(ctx.cwd, options.input);
  const config = await loadAppConfig(options, ctx);
  const view = selectView(options.view, config, ctx);
  if (config.onFailure === 'ask' && view !== 'dashboard')
    throw new InputError('--on-failure ask needs the dashboard (a terminal); use continue with --output plain/ndjson', { field: '--on-failure' });
  const junit = checkWritableFile(ctx, options.junit, '--junit');

  let tasks: HostTask[];
  let hosts: HostSpec[];
  let specDoc: unknown;
  let specFile: string | undefined;
  let planFile: string | undefined;
  let planDigest: string | undefined;
  let inventorySource: string;
  let inventorySources: string[];
  let groups: GroupTree;
  let journaled: Pick<InputsOf, 'source' | 'passwordRefOf'>;
  if (isPlanFile(file)) {
    const bound = await loadBoundPlan(file, options, config, ctx);
    planFile = file;
    planDigest = bound.digest;
    specFile = bound.plan.spec.file;
    inventorySource = bound.inventory.source;
    inventorySources = options.inventory?.length ? absoluteSources(ctx, options.inventory) : bound.plan.inventory.sources;
    groups = bound.inventory.groups;
    hosts = bound.hosts;
    tasks = bound.tasks;
    specDoc = { plan: file, digest: bound.digest, spec: bound.plan.spec };
    const refs = new Map(bound.plan.hosts.flatMap((h) => h.services.map((sv) => [`${h.host}\0${sv.service}`, sv.passwordRef] as const)));
    journaled = {
      // The file's bytes, as for a spec: what `resume` compares to tell whether the plan file changed since.
      source: { kind: 'plan', file, digest: fileDigest(file) ?? '', spec: bound.plan.spec },
      passwordRefOf: (h, sv) => refs.get(`${h}\0${sv}`),
    };
  } else {
    if (options.expectDigest !== undefined)
      throw new InputError('--expect-digest pins a saved plan: svcfleet apply PLAN.json --expect-digest D', { field: '--expect-digest' });
    const inv = await loadHosts(options, config, ctx);
    inventorySource = inv.source;
    inventorySources = absoluteSources(ctx, options.inventory);
    groups = inv.groups;
    const spec = loadSpec(file);
    const unresolved = renderAll(spec, inv.hosts); // every host renders before a password is asked for or a host contacted
    const secrets = await resolveSpecSecrets(spec, { env: ctx.env, prompt: promptOf(ctx) });
    const rendered = renderAll(spec, inv.hosts, secrets);
    hosts = inv.hosts;
    tasks = inv.hosts.map((h) => ({ host: h, changes: rendered.get(h.name)!.map(stripRef) }));
    specDoc = spec.doc.value;
    specFile = spec.file;
    const refOf = (h: string, sv: string) => unresolved.get(h)?.find((r) => r.service === sv)?.passwordRef;
    journaled = { source: { kind: 'spec', file: spec.file, digest: spec.digest }, passwordRefOf: refOf };
  }
  const strategy = strategyFor(
    config,
    hosts.map((h) => h.name),
    groups,
  );
  const journal = openJournal(config, ctx);
  const runId = newRunId();
  const names = hosts.map((h) => h.name);
  const inputs = runInputs({
    config,
    canaryHosts: strategy.canary ?? [],
    hosts: names,
    inventory: inventorySources,
    ...limitField(options),
    tasks,
    ...journaled,
  });
  return runJournaled(
    {
      mode: 'apply',
      runId,
      hosts,
      tasks,
      strategy,
      config,
      view,
      ...(junit ? { junit } : {}),
      ...(specFile ? { specFile } : {}),
      ...(planDigest ? { planDigest } : {}),
      openWriter: () =>
        journal.createRun({
          runId,
          mode: 'apply',
          spec: specDoc,
          ...(specFile ? { specFile } : {}),
          ...(planFile ? { planFile } : {}),
          inventorySource,
          inventorySources,
          ...limitField(options),
          hosts: tasks.map((t) => journalHost(t.host, t.changes, t.plannedHashes)),
          inputs,
        }),
      announce: (writer) => `svcfleet: run ${runId}, journal ${writer.dir}`,
    },
    ctx,
  );
}
