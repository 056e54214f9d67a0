/**
 * What binds a saved plan to what produced it, so that what was reviewed is what is applied.
 *
 * - The plan digest: SHA-256 (hex) of the plan's canonical JSON (object keys sorted, no whitespace, secret-
 *   looking values sealed as in the file) without its own `digest` field. `plan` prints its first 12 hex digits
 *   and stores all 64; `apply PLAN --expect-digest D` pins it (change tickets). A digest stored in the file only
 *   detects an edit by mistake (whoever edits the file can write a new one); the pinned digest and the
 *   re-rendering below are what an edit cannot get past.
 * - Per host, digests of the inventory entry (connection settings and variables, secrets left out: a digest of a
 *   short password could be guessed), and one over the whole selection (`inventory.digest`).
 * - At apply time every host's request is rendered again from the spec and inventory the plan names, by the same
 *   code as `plan` (renderHostRequests + toPlanService), and compared with the plan field by field.
 */
import type { HostSpec } from '../inventory/types.js';
import type { ChangeSpec } from '../spec/load.js';
import { renderHostRequests } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { foldHosts } from '../util/hostrange.js';
import { isSecretLookingName, SealedValue } from '../util/secret.js';
import { digestOfSealed, SECRET_MARK, sha256, shortDigest, stableJson } from './digest.js';
import { type PlanFile, type PlanHost, sealService, toPlanService } from './planfile.js';

/**
 * A value for a digest with Secrets left out (their presence counts); with `byName`, also the values under a
 * secret-looking name (inventory variables: a password may sit in a plain variable). Connection settings keep
 * their secrets in Secret objects, and names such as hostKeyChecking must count.
 */
function withoutSecrets(value: unknown, byName: boolean, name = ''): unknown {
  if (value instanceof SealedValue) return SECRET_MARK;
  if (byName && name && isSecretLookingName(name) && value !== null && typeof value !== 'object') return SECRET_MARK;
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, byName));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v, byName, k)]));
  return value;
}

export interface HostBinding {
  /** Where and how the host is reached: transport, address, port, user, transport settings (no password). */
  connection: string;
  /** The host's groups and variables. */
  vars: string;
}

export function hostBinding(h: HostSpec): HostBinding {
  const { password: _pw, ...connection } = h.connection;
  return {
    connection: sha256(stableJson(withoutSecrets(connection, false))),
    vars: sha256(stableJson(withoutSecrets({ groups: h.groups, vars: h.vars }, true))),
  };
}

/** One digest over the selected hosts, in name order, and their bindings. */
export function inventoryDigest(hosts: readonly { host: string; bind: HostBinding }[]): string {
  return sha256(stableJson([...hosts].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)).map((h) => [h.host, h.bind])));
}

/** The first path where two JSON values differ ('' when they are equal); arrays are compared as a whole. */
function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  const plain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (plain(a) && plain(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return stableJson(a) === stableJson(b) ? undefined : path;
}

/** `desired.binaryPath` reads `binaryPath`, as in the spec's `set`; the others keep their name. */
function fieldName(path: string): string {
  return path.replace(/^request\.desired\./, '').replace(/^request\./, '');
}

export interface BindingInputs {
  /** The plan file (for messages). */
  file: string;
  plan: PlanFile;
  /** The spec the plan names, read now. */
  spec: ChangeSpec;
  /** The hosts the plan's inventory and limit select now. */
  hosts: readonly HostSpec[];
}

/**
 * Refuse (InputError naming the host and field) unless the plan is exactly what its spec and inventory give now.
 * Nothing is resolved (no password read) and nothing contacted before this returns.
 */
export function verifyPlanBinding(b: BindingInputs): void {
  const { file, plan, spec, hosts } = b;
  if (spec.digest !== plan.spec.digest) {
    throw new InputError(
      `the spec changed since the plan was made (digest ${shortDigest(spec.digest)}, the plan has ${shortDigest(plan.spec.digest)}); make the plan again`,
      {
        file: spec.file,
      },
    );
  }
  const now = new Map(hosts.map((h) => [h.name, h]));
  const planned = new Set(plan.hosts.map((h) => h.host));
  const gone = plan.hosts.map((h) => h.host).filter((n) => !now.has(n));
  const added = hosts.map((h) => h.name).filter((n) => !planned.has(n));
  if (gone.length) {
    throw new InputError(`the inventory no longer selects hosts of the plan: ${foldHosts(gone)}; make the plan again`, { file, host: gone[0]! });
  }
  if (added.length) {
    throw new InputError(`the inventory now selects hosts the plan does not have: ${foldHosts(added)}; make the plan again`, { file, host: added[0]! });
  }
  for (const [i, h] of plan.hosts.entries()) verifyHost(file, i, h, now.get(h.host)!, spec);
  const digest = digestOfSealed(plan);
  if (digest !== plan.digest) {
    throw new InputError(
      `the plan file was edited after it was made (its content digest is ${shortDigest(digest)}, the file says ${shortDigest(plan.digest)})`,
      {
        file,
        field: 'digest',
      },
    );
  }
  const inv = inventoryDigest(plan.hosts.map((h) => ({ host: h.host, bind: hostBinding(now.get(h.host)!) })));
  if (inv !== plan.inventory.digest)
    throw new InputError('the inventory changed since the plan was made; make the plan again', { file, field: 'inventory.digest' });
}

function verifyHost(file: string, i: number, h: PlanHost, host: HostSpec, spec: ChangeSpec): void {
  const refuse = (what: string, field: string): never => {
    throw new InputError(`${h.host}: ${what}; make the plan again`, { file, host: h.host, field: `hosts[${i}].${field}` });
  };
  const bind = hostBinding(host);
  if (bind.connection !== h.bind.connection)
    refuse('the inventory connection settings (address, port, transport, user) differ from the plan', 'bind.connection');
  if (bind.vars !== h.bind.vars) refuse('the inventory variables or groups differ from the plan', 'bind.vars');
  // The same code path as `plan`: render without secrets, then what the plan file holds (sealed).
  const fresh = renderHostRequests(spec, host).map((r) => sealService(toPlanService(r, {})));
  if (fresh.length !== h.services.length) refuse(`the plan has ${h.services.length} services, the spec ${fresh.length}`, 'services');
  for (const [j, s] of h.services.entries()) {
    const want = fresh[j]!;
    if (s.service !== want.service)
      refuse(`service ${JSON.stringify(s.service)} differs from the plan's spec (${JSON.stringify(want.service)})`, `services[${j}].service`);
    // The password comes from the spec's reference; the plan's must be that one, or the plan could read any file or variable.
    if (stableJson(s.passwordRef) !== stableJson(want.passwordRef))
      refuse(`passwordRef differs from the plan (service ${s.service})`, `services[${j}].passwordRef`);
    const d = firstDifference({ request: s.request }, { request: want.request });
    if (d !== undefined) refuse(`${fieldName(d)} differs from the plan (service ${s.service})`, `services[${j}].${d}`);
  }
}
