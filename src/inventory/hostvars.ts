/**
 * Variable precedence, as ansible-core's VariableManager merges inventory variables for one host
 * (default VARIABLE_PRECEDENCE, hash_behaviour=replace: a later value replaces an earlier one whole):
 *
 *   1. `all` group vars from the inventory file
 *   2. the host's other groups' inventory vars, sorted by (depth, ansible_group_priority, name)
 *      — parents before children, and among groups of the same depth the higher priority, then the later
 *      name, wins
 *   3. group_vars/all
 *   4. group_vars/<group> for the same sorted groups
 *   5. the host's own inventory vars
 *   6. host_vars/<host>
 *
 * So any group_vars/ file beats any inline group var, whatever their depths (Ansible's documented order).
 */
import type { InventoryModel, ModelGroup } from './model.js';
import { EMPTY_LAYER, mergeLayers, type VarsFiles, type VarsLayer } from './vars-files.js';

/** The host's groups (ancestors included, `all` excluded) in Ansible's merge order. */
export function sortedHostGroups(model: InventoryModel, host: string, depths: Map<string, number>): ModelGroup[] {
  const h = model.hosts.get(host);
  if (!h) return [];
  const names = new Set<string>();
  for (const g of h.groups) {
    names.add(g);
    for (const a of model.ancestors(g)) names.add(a);
  }
  names.delete('all');
  return [...names]
    .map((n) => model.groups.get(n)!)
    .sort((a, b) => depths.get(a.name)! - depths.get(b.name)! || a.priority - b.priority || cmp(a.name, b.name));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function inline(g: { vars: VarsLayer['vars']; varOrigins: VarsLayer['origins'] } | undefined): VarsLayer {
  return g ? { vars: g.vars, origins: g.varOrigins } : EMPTY_LAYER;
}

// Hosts that share the same groups share the group part of their variables: compute it once per group set.
const groupPartCache = new WeakMap<InventoryModel, Map<string, VarsLayer>>();

function groupPart(model: InventoryModel, files: VarsFiles, groups: ModelGroup[]): VarsLayer {
  let cache = groupPartCache.get(model);
  if (!cache) groupPartCache.set(model, (cache = new Map()));
  const key = groups.map((g) => g.name).join('\0');
  const hit = cache.get(key);
  if (hit) return hit;
  let layer = inline(model.groups.get('all'));
  for (const g of groups) layer = mergeLayers(layer, inline(g));
  layer = mergeLayers(layer, files.group('all'));
  for (const g of groups) layer = mergeLayers(layer, files.group(g.name));
  cache.set(key, layer);
  return layer;
}

/** All inventory variables of one host, merged, with where each value came from. */
export function mergedHostVars(model: InventoryModel, files: VarsFiles, host: string, depths: Map<string, number>): VarsLayer {
  const groups = sortedHostGroups(model, host, depths);
  let layer = groupPart(model, files, groups);
  layer = mergeLayers(layer, inline(model.hosts.get(host)));
  layer = mergeLayers(layer, files.host(host));
  return layer;
}

/** A group's own variables as `ansible-inventory --list --export` shows them: inline, then group_vars/. */
export function groupVarsLayer(model: InventoryModel, files: VarsFiles, group: string): VarsLayer {
  return mergeLayers(inline(model.groups.get(group)), files.group(group));
}
