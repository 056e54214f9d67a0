/**
 * `apply PLAN`: the saved plan, checked against what produced it before anything is resolved or contacted
 * (plan/binding.ts), and turned into the engine's tasks from the spec rendered again — never from the file's
 * requests or password references, so an edited plan can neither change a host nor read a secret.
 */
import type { ResolvedConfig } from '../config/schema.js';
import type { HostTask } from '../engine/types.js';
import type { LoadedInventory } from '../inventory/load.js';
import type { HostSpec } from '../inventory/types.js';
import { verifyPlanBinding } from '../plan/binding.js';
import { checkExpectedDigest } from '../plan/digest.js';
import { loadPlanFile, type PlanFile, planDigest, plannedHashes } from '../plan/planfile.js';
import { loadSpec } from '../spec/load.js';
import { resolveSpecSecrets } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { renderAll, stripRef } from './run.js';
import { promptOf } from './secrets.js';
import { loadHosts, type TargetOptions } from './targets.js';

export interface BoundPlan {
  plan: PlanFile;
  /** The plan digest (full sha256 hex), computed from the content. */
  digest: string;
  inventory: LoadedInventory;
  /** The hosts the plan changes, in plan order. */
  hosts: HostSpec[];
  tasks: HostTask[];
}

export async function loadBoundPlan(
  file: string,
  options: TargetOptions & { expectDigest?: string },
  config: ResolvedConfig,
  ctx: AppContext,
): Promise<BoundPlan> {
  const plan = loadPlanFile(file);
  const digest = planDigest(plan);
  // Pinned first: a plan that is not the reviewed one runs no inventory script and reads no spec.
  if (options.expectDigest !== undefined) checkExpectedDigest(digest, options.expectDigest, file);
  const inventory = await loadHosts(options, config, ctx, plan.inventory.sources, plan.inventory.limit);
  const spec = loadSpec(plan.spec.file);
  verifyPlanBinding({ file, plan, spec, hosts: inventory.hosts });
  const planned = plan.hosts.filter((h) => h.status === 'change');
  if (planned.length === 0) throw new InputError('the plan has no host to change (every host was unchanged, unreachable or in error)', { file });
  const byName = new Map(inventory.hosts.map((h) => [h.name, h]));
  const hosts = planned.map((h) => byName.get(h.host)!);
  // Passwords come from the spec's references (equal to the plan's, checked above), relative to the spec.
  const secrets = await resolveSpecSecrets(spec, { env: ctx.env, prompt: promptOf(ctx) });
  const rendered = renderAll(spec, hosts, secrets);
  const tasks = planned.map((h) => ({ host: byName.get(h.host)!, changes: rendered.get(h.host)!.map(stripRef), plannedHashes: plannedHashes(h) }));
  return { plan, digest, inventory, hosts, tasks };
}
