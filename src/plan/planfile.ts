/**
 * The saved plan (`svcfleet plan -o plan.json`, applied by `svcfleet apply plan.json`).
 *
 * Per host and service it keeps what plan saw (the configuration hash = the drift guard, and the diff) and
 * exactly what apply will send (the rendered request). It never holds a secret: an account password is kept
 * as its reference ({ env } / { file } / { prompt }) and resolved again at apply time. Documented in
 * docs/spec.md ("Saved plans").
 *
 *   { "kind": "svcfleet-plan", "version": 1, "createdAt": "...", "spec": { "file", "digest" },
 *     "inventory": { "sources": [...], "limit"? }, "hosts": [ { "host", "status", "message"?, "services": [
 *       { "service", "configHash"?, "diff"?, "request": { "desired"?, "restart"?, "verify"?, "rollback"?, "dependents"?,
 *         "timeouts"? }, "passwordRef"? } ] } ] }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseYamlDocument, validateDocument } from '../config/document.js';
import { resolveSecretRef, secretRefSchema, type SecretContext, type SecretRef } from '../config/secret-ref.js';
import type { ServiceChange } from '../engine/types.js';
import type { FieldChange } from '../remote/protocol.js';
import { remoteRequestSchema } from '../remote/schema.js';
import { InputError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import type { HostServiceRequest } from '../spec/render.js';

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
    request: { ...(desired ? { desired: desired as PlanService['request']['desired'] } : {}), ...(restart ? { restart } : {}), ...(verify ? { verify } : {}), ...(rollback ? { rollback } : {}), ...(dependents ? { dependents } : {}), ...(timeouts ? { timeouts } : {}) },
  };
  if (seen.configHash) out.configHash = seen.configHash;
  if (seen.diff) out.diff = seen.diff;
  if (passwordRef) out.passwordRef = passwordRef;
  return out;
}

/** The plan as file text (pretty JSON). Throws if any Secret slipped in. */
export function serializePlan(plan: PlanFile): string {
  const text = JSON.stringify(
    plan,
    (_k, v: unknown) => {
      if (v instanceof Secret) throw new Error('a plan must not hold a secret');
      return v;
    },
    2,
  );
  return `${text}\n`;
}

export function parsePlanFile(text: string, file: string): PlanFile {
  const doc = parseYamlDocument(text, file);
  if (doc.value === null || doc.value === undefined) throw new InputError('the plan file is empty', { file });
  const kind = (doc.value as { kind?: unknown }).kind;
  if (kind !== PLAN_KIND) {
    throw new InputError(`not a svcfleet plan (kind is ${JSON.stringify(kind)}, expected ${PLAN_KIND}); make one with svcfleet plan -o FILE`, { file, field: 'kind' });
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
export function planHostTask(h: PlanHost, secrets: ReadonlyMap<string, Secret> = new Map()): { changes: ServiceChange[]; plannedHashes: Record<string, string> } {
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
