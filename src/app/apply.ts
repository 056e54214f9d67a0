/**
 * apply: a change spec (rendered per host, secrets resolved) or a saved plan (exactly its changes, with the
 * drift guard) across the fleet, with canaries, batches and a failure budget; journaled as a run of its own.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { newRunId } from '../engine/run-id.js';
import type { HostTask } from '../engine/types.js';
import type { GroupTree } from '../inventory/pattern.js';
import type { HostSpec } from '../inventory/types.js';
import { loadPlanFile, PLAN_KIND, planHostTask, resolvePlanSecrets, unsealPlanHost } from '../plan/planfile.js';
import { foldHosts } from '../util/hostrange.js';
import { loadSpec } from '../spec/load.js';
import { resolveSpecSecrets } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import type { AppContext } from './context.js';
import { checkWritableFile, journalHost, openJournal } from './journal.js';
import { fileDigest, type InputsOf, runInputs } from './run-inputs.js';
import { type LiveOptions, type RunResult, renderAll, runJournaled, selectView, stripRef } from './run.js';
import { promptOf, secretContext } from './secrets.js';
import { type TargetOptions, absoluteSources, limitField, loadHosts, strategyFor } from './targets.js';

export interface ApplyOptions extends ConfigOptions, TargetOptions, LiveOptions {
  /** A change spec, or a plan saved by `plan` (recognised by its `kind`). */
  input: string;
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
  let inventorySource: string;
  let inventorySources: string[];
  let groups: GroupTree;
  let journaled: Pick<InputsOf, 'source' | 'passwordRefOf'>;
  if (isPlanFile(file)) {
    const saved = loadPlanFile(file);
    planFile = file;
    specFile = saved.spec.file;
    const inv = await loadHosts(options, config, ctx, saved.inventory.sources, saved.inventory.limit);
    inventorySource = inv.source;
    inventorySources = options.inventory?.length ? absoluteSources(ctx, options.inventory) : saved.inventory.sources;
    groups = inv.groups;
    const byName = new Map(inv.hosts.map((h) => [h.name, h]));
    const planned = saved.hosts.filter((h) => h.status === 'change');
    const missing = planned.filter((h) => !byName.has(h.host)).map((h) => h.host);
    if (missing.length) throw new InputError(`the plan names hosts that are not in the inventory: ${foldHosts(missing)}`, { file, host: missing[0]! });
    if (planned.length === 0) throw new InputError('the plan has no host to change (every host was unchanged, unreachable or in error)', { file });
    const secrets = await resolvePlanSecrets(saved, secretContext(ctx, dirname(file)));
    hosts = planned.map((h) => byName.get(h.host)!);
    tasks = planned.map((h) => ({ host: byName.get(h.host)!, ...planHostTask(unsealPlanHost(saved, h, byName.get(h.host)!), secrets) }));
    specDoc = { plan: file, spec: saved.spec };
    const refs = new Map(saved.hosts.flatMap((h) => h.services.map((sv) => [`${h.host}\0${sv.service}`, sv.passwordRef] as const)));
    journaled = { source: { kind: 'plan', file, digest: fileDigest(file) ?? '', spec: saved.spec }, passwordRefOf: (h, sv) => refs.get(`${h}\0${sv}`) };
  } else {
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
