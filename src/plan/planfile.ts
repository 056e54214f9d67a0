/**
 * The saved plan (`svcfleet plan -o plan.json`, applied by `svcfleet apply plan.json`).
 *
 * Per host and service it keeps what plan saw (the configuration hash = the drift guard, and the diff) and
 * exactly what apply will send (the rendered request). It never holds a secret: an account password is kept
 * as its reference ({ env } / { file } / { prompt }) and resolved again at apply time; an environment value
 * whose name looks secret (isSecretLookingName) is written as "[SEALED]", in the request and in the diff, and
 * filled in again at apply time from the spec the plan names (unsealPlanHost), which must be unchanged; a
 * Secret object is refused outright. Documented in docs/spec.md ("Saved plans").
 *
 *   { "kind": "svcfleet-plan", "version": 1, "createdAt": "...", "spec": { "file", "digest" },
 *     "inventory": { "sources": [...], "limit"? }, "hosts": [ { "host", "status", "message"?, "services": [
 *       { "service", "configHash"?, "diff"?, "request": { "desired"?, "restart"?, "verify"?, "rollback"?, "dependents"?,
 *         "timeouts"? }, "passwordRef"? } ] } ] }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseYamlDocument, validateDocument } from '../util/document.js';
import { resolveSecretRef, secretRefSchema, type SecretContext, type SecretRef } from '../util/secret-ref.js';
import type { ServiceChange } from '../remote/invocation.js';
import type { FieldChange } from '../remote/protocol.js';
import { remoteRequestSchema } from '../remote/schema.js';
import { loadSpec } from '../spec/load.js';
import { renderHostRequests, type HostServiceRequest } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { isSecretLookingName, SealedValue, type Secret } from '../util/secret.js';

export const PLAN_KIND = 'svcfleet-plan';
export const PLAN_VERSION = 1;

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
  services: z.array(planServiceSchema),
});

export const planFileSchema = z.strictObject({
  kind: z.literal(PLAN_KIND),
  version: z.literal(PLAN_VERSION),
  createdAt: z.string().min(1),
  runId: z.string().optional(),
  spec: z.strictObject({ file: z.string().min(1), digest: z.string().regex(/^[0-9a-f]{64}$/) }),
  inventory: z.strictObject({ sources: z.array(z.string()), limit: z.string().optional() }),
  hosts: z.array(planHostSchema),
});

export type PlanFile = z.output<typeof planFileSchema>;
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

/** The plan with secret-looking environment values sealed (request and diff); the input is not changed. */
export function sealPlan(plan: PlanFile): PlanFile {
  return {
    ...plan,
    hosts: plan.hosts.map((h) => ({
      ...h,
      services: h.services.map((s) => {
        const desired = s.request.desired;
        const out: PlanService = { ...s };
        if (desired?.environment)
          out.request = { ...s.request, desired: { ...desired, environment: sealEnvironment(desired.environment) as typeof desired.environment } };
        if (s.diff)
          out.diff = s.diff.map((c) => (c.field === 'environment' ? { ...c, before: sealEnvironment(c.before), after: sealEnvironment(c.after) } : c));
        return out;
      }),
    })),
  };
}

/** The plan as file text (pretty JSON), secret-looking values sealed. Throws if any Secret slipped in. */
export function serializePlan(plan: PlanFile): string {
  const text = JSON.stringify(
    sealPlan(plan),
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
  const kind = (doc.value as { kind?: unknown }).kind;
  if (kind !== PLAN_KIND) {
    throw new InputError(`not a svcfleet plan (kind is ${JSON.stringify(kind)}, expected ${PLAN_KIND}); make one with svcfleet plan -o FILE`, {
      file,
      field: 'kind',
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
  const plannedHashes: Record<string, string> = {};
  const changes = h.services.map((s): ServiceChange => {
    if (s.configHash) plannedHashes[s.service] = s.configHash;
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
  return { changes, plannedHashes };
}
