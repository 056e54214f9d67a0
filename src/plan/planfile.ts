/**
 * The saved plan (`svcfleet plan -o plan.json`, applied by `svcfleet apply plan.json`).
 *
 * Per host and service it keeps what plan saw (the configuration hash = the drift guard, and the diff) and
 * exactly what apply will send (the rendered request). Apply never sends the file's requests as such: it renders
 * them again from the spec and inventory the plan names and refuses any difference (binding.ts), so the file is
 * a record to review and pin (its digest, digest.ts), not an instruction. It never holds a secret: an account
 * password is kept as its reference ({ env } / { file } / { prompt }), which must be the spec's, and resolved
 * from the spec at apply time; an environment value whose name looks secret (isSecretLookingName) is written as
 * "[SEALED]", in the request and in the diff; a Secret object is refused outright. Documented in docs/spec.md
 * ("Saved plans") and docs/cli.md.
 *
 *   { "kind": "svcfleet-plan", "version": 2, "digest": "<sha256>", "createdAt": "...", "runId"?,
 *     "spec": { "file", "digest" }, "inventory": { "sources": [...], "limit"?, "digest" },
 *     "hosts": [ { "host", "status", "message"?, "bind": { "connection", "vars" }, "services": [
 *       { "service", "configHash"?, "diff"?, "request": { "desired"?, "restart"?, "verify"?, "rollback"?, "dependents"?,
 *         "timeouts"? }, "passwordRef"? } ] } ] }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseYamlDocument, validateDocument } from '../util/document.js';
import { resolveSecretRef, secretRefSchema, type SecretContext, type SecretRef } from '../util/secret-ref.js';
import type { ServiceChange } from '../remote/invocation.js';
import { loadSpec } from '../spec/load.js';
import { type HostServiceRequest, renderHostRequests } from '../spec/render.js';
import type { FieldChange } from '../remote/protocol.js';
import { remoteRequestSchema } from '../remote/schema.js';
import { InputError } from '../util/errors.js';
import { isSecretLookingName, SealedValue, type Secret } from '../util/secret.js';
import { digestOfSealed } from './digest.js';

export const PLAN_KIND = 'svcfleet-plan';
/** 2: the plan digest and the inventory binding; a version 1 plan is refused (it cannot be checked). */
export const PLAN_VERSION = 2;
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const request = remoteRequestSchema.shape;
const fieldChange = z.strictObject({
  field: z.string().min(1),
  before: z.unknown(),
  after: z.unknown(),
  restartNeeded: z.boolean(),
}) as z.ZodType<FieldChange>;

const planServiceSchema = z.strictObject({
  service: request.service,
  configHash: z.string().min(1).optional(),
  diff: z.array(fieldChange).optional(),
  request: z.strictObject({
    desired: request.desired,
    restart: request.restart,
    verify: request.verify,
    rollback: request.rollback,
    dependents: request.dependents,
    timeouts: request.timeouts,
  }),
  passwordRef: secretRefSchema({ prompt: true }).optional(),
});

const planHostSchema = z.strictObject({
  host: z.string().min(1),
  status: z.enum(['change', 'unchanged', 'unreachable', 'error']),
  message: z.string().optional(),
  bind: z.strictObject({ connection: sha256Hex, vars: sha256Hex }),
  services: z.array(planServiceSchema),
});

export const planFileSchema = z.strictObject({
  kind: z.literal(PLAN_KIND),
  version: z.literal(PLAN_VERSION),
  digest: sha256Hex,
  createdAt: z.string().min(1),
  runId: z.string().optional(),
  spec: z.strictObject({ file: z.string().min(1), digest: sha256Hex }),
  inventory: z.strictObject({ sources: z.array(z.string()), limit: z.string().optional(), digest: sha256Hex }),
  hosts: z.array(planHostSchema),
});

export type PlanFile = z.output<typeof planFileSchema>;
/** A plan before it is written: serializePlan computes its digest. */
export type PlanDraft = Omit<PlanFile, 'digest'> & { digest?: string };
export type PlanHost = PlanFile['hosts'][number];
export type PlanService = PlanHost['services'][number];

/** One plan entry from a rendered request and what plan saw. Refuses a request that still holds a Secret. */
export function toPlanService(req: HostServiceRequest, seen: { configHash?: string; diff?: FieldChange[] }): PlanService {
  const { passwordRef, service, desired, restart, verify, rollback, dependents, timeouts } = req;
  if (desired?.account?.password !== undefined) {
    // Plans are files: they must carry the reference, never the password (render without secrets for plan).
    throw new Error('a plan must not hold a password; render the requests without resolved secrets');
  }
  const out: PlanService = {
    service,
    request: {
      ...(desired ? { desired: desired as PlanService['request']['desired'] } : {}),
      ...(restart ? { restart } : {}),
      ...(verify ? { verify } : {}),
      ...(rollback ? { rollback } : {}),
      ...(dependents ? { dependents } : {}),
      ...(timeouts ? { timeouts } : {}),
    },
  };
  if (seen.configHash) out.configHash = seen.configHash;
  if (seen.diff) out.diff = seen.diff;
  if (passwordRef) out.passwordRef = passwordRef;
  return out;
}

/** What a plan file holds instead of a secret-looking environment value. */
export const SEALED = '[SEALED]';

function sealEnvironment(env: unknown): unknown {
  if (!env || typeof env !== 'object' || Array.isArray(env)) return env;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, isSecretLookingName(k) && v !== null && v !== undefined ? SEALED : v]));
}

/** A plan entry with secret-looking environment values sealed (request and diff); the input is not changed. */
export function sealService(s: PlanService): PlanService {
  const desired = s.request.desired;
  const out: PlanService = { ...s };
  if (desired?.environment)
    out.request = { ...s.request, desired: { ...desired, environment: sealEnvironment(desired.environment) as typeof desired.environment } };
  if (s.diff) out.diff = s.diff.map((c) => (c.field === 'environment' ? { ...c, before: sealEnvironment(c.before), after: sealEnvironment(c.after) } : c));
  return out;
}

/** The plan with secret-looking environment values sealed; the input is not changed. */
export function sealPlan<P extends PlanDraft>(plan: P): P {
  return { ...plan, hosts: plan.hosts.map((h) => ({ ...h, services: h.services.map(sealService) })) };
}

/** The plan digest (digest.ts) of a plan as it is written: sealed, without its `digest` field. */
export function planDigest(plan: PlanDraft): string {
  return digestOfSealed(sealPlan(plan));
}

/** The plan as file text (pretty JSON), secret-looking values sealed, with its digest. Throws if any Secret slipped in. */
export function serializePlan(plan: PlanDraft): string {
  const { kind, version, digest: _old, ...rest } = sealPlan(plan);
  const text = JSON.stringify(
    { kind, version, digest: planDigest(plan), ...rest },
    function (this: Record<string, unknown>, k: string, v: unknown) {
      // The replacer sees toJSON()'s result ("[REDACTED]"), so look at the holder's own value.
      if (this[k] instanceof SealedValue) throw new Error('a plan must not hold a secret');
      return v;
    },
    2,
  );
  return `${text}\n`;
}

function sealedNames(h: PlanHost): string[] {
  return h.services.flatMap((s) =>
    Object.entries(s.request.desired?.environment ?? {})
      .filter(([, v]) => v === SEALED)
      .map(([k]) => k),
  );
}

/*
 * unsealPlanHost, resolvePlanSecrets and planHostTask take the plan file's requests and password references as
 * they are; `apply` no longer does (it renders again from the spec, binding.ts). They remain for resume and
 * retry of a run made from a plan, until those use the run's journaled copy.
 */

/**
 * A planned host with its sealed values filled in from the spec the plan names, rendered for `host` now. The
 * spec must be the one the plan was made from (same digest): otherwise the values could differ from what was
 * reviewed, and the host is refused.
 */
export function unsealPlanHost(plan: PlanFile, h: PlanHost, host: Parameters<typeof renderHostRequests>[1]): PlanHost {
  const names = sealedNames(h);
  if (names.length === 0) return h;
  const where = { file: plan.spec.file, host: h.host };
  const spec = loadSpec(plan.spec.file);
  if (spec.digest !== plan.spec.digest) {
    throw new InputError(
      `the plan holds sealed values (${names.join(', ')}) from this spec, which changed since the plan was made; make the plan again`,
      where,
    );
  }
  const rendered = renderHostRequests(spec, host);
  return {
    ...h,
    services: h.services.map((s) => {
      const env = s.request.desired?.environment;
      if (!env || !Object.values(env).includes(SEALED)) return s;
      const now = rendered.find((r) => r.service === s.service)?.desired?.environment ?? {};
      const filled = Object.fromEntries(
        Object.entries(env).map(([k, v]) => {
          if (v !== SEALED) return [k, v];
          const value = Object.hasOwn(now, k) ? (now as Record<string, string>)[k] : undefined;
          if (typeof value !== 'string')
            throw new InputError(`the sealed value of ${k} (service ${s.service}) is not in the spec any more; make the plan again`, where);
          return [k, value];
        }),
      );
      return { ...s, request: { ...s.request, desired: { ...s.request.desired, environment: filled } } };
    }),
  };
}

export function parsePlanFile(text: string, file: string): PlanFile {
  const doc = parseYamlDocument(text, file);
  if (doc.value === null || doc.value === undefined) throw new InputError('the plan file is empty', { file });
  const { kind, version } = doc.value as { kind?: unknown; version?: unknown };
  if (kind !== PLAN_KIND) {
    throw new InputError(`not a svcfleet plan (kind is ${JSON.stringify(kind)}, expected ${PLAN_KIND}); make one with svcfleet plan -o FILE`, {
      file,
      field: 'kind',
    });
  }
  if (typeof version === 'number' && version < PLAN_VERSION) {
    throw new InputError(`this plan was made by an older svcfleet (version ${version}) and cannot be checked against its spec; make the plan again`, {
      file,
      field: 'version',
    });
  }
  const plan = validateDocument(planFileSchema, doc);
  const seen = new Set<string>();
  plan.hosts.forEach((h, i) => {
    if (seen.has(h.host)) throw new InputError(`host ${h.host} appears twice`, { file, field: `hosts[${i}].host`, host: h.host });
    seen.add(h.host);
  });
  return plan;
}

export function loadPlanFile(file: string): PlanFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the plan: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file });
  }
  return parsePlanFile(text, file);
}

/** The drift guard of a planned host: the configuration hash plan saw, per service. */
export function plannedHashes(h: PlanHost): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of h.services) if (s.configHash) out[s.service] = s.configHash;
  return out;
}

/** Resolve the plan's password references (each distinct one once). Key: the reference's JSON. */
export async function resolvePlanSecrets(plan: PlanFile, ctx: SecretContext): Promise<Map<string, Secret>> {
  const out = new Map<string, Secret>();
  for (const h of plan.hosts) {
    for (const s of h.services) {
      if (!s.passwordRef) continue;
      const key = JSON.stringify(s.passwordRef);
      if (out.has(key)) continue;
      const name = s.request.desired?.account?.name ?? 'the service account';
      out.set(key, await resolveSecretRef(s.passwordRef, ctx, { field: 'passwordRef', host: h.host }, `Password for ${name} (service ${s.service})`));
    }
  }
  return out;
}

/** What the engine needs for one planned host: the changes (passwords filled in) and the drift guard. */
export function planHostTask(
  h: PlanHost,
  secrets: ReadonlyMap<string, Secret> = new Map(),
): { changes: ServiceChange[]; plannedHashes: Record<string, string> } {
  const sealed = sealedNames(h);
  if (sealed.length) {
    // Never send the marker to a host: the values come back only through unsealPlanHost.
    throw new InputError(`the plan holds sealed values (${sealed.join(', ')}) that were not filled in from the spec`, { host: h.host, field: 'environment' });
  }
  const changes = h.services.map((s): ServiceChange => {
    const desired = s.request.desired ? { ...s.request.desired } : undefined;
    if (s.passwordRef && desired?.account) {
      const secret = secrets.get(JSON.stringify(s.passwordRef as SecretRef));
      if (!secret) throw new InputError('the password for this plan entry was not resolved', { host: h.host, field: 'passwordRef' });
      desired.account = { ...desired.account, password: secret } as unknown as typeof desired.account;
    }
    const change: ServiceChange = { service: s.service };
    if (desired) change.desired = desired as ServiceChange['desired'];
    if (s.request.restart) change.restart = s.request.restart;
    if (s.request.verify) change.verify = s.request.verify;
    if (s.request.rollback) change.rollback = s.request.rollback;
    if (s.request.dependents) change.dependents = s.request.dependents;
    if (s.request.timeouts) change.timeouts = s.request.timeouts;
    return change;
  });
  return { changes, plannedHashes: plannedHashes(h) };
}
