/**
 * A run's reviewed inputs (journal/record.ts RunInputs): recorded by `apply` when the run is created, and used
 * again by `resume`, `retry` and `rollback` of the run, so that continuing or undoing it applies what was
 * reviewed — the journaled requests and rollout settings — not whatever the files and the configuration say
 * today. The command line may still override a setting; every override is reported.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConfigInput, ResolvedConfig } from '../config/schema.js';
import { formatSize } from '../config/strategy.js';
import type { ServiceChange } from '../engine/types.js';
import type { HostSpec } from '../inventory/types.js';
import type { JournaledRequest, RolloutSettings, RunInputs, RunSource } from '../journal/record.js';
import { SEALED } from '../plan/planfile.js';
import { loadSpec } from '../spec/load.js';
import { renderHostRequests } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { resolveSecretRef, type SecretRef } from '../util/secret-ref.js';
import { isSecretLookingName, Secret } from '../util/secret.js';
import type { AppContext } from './context.js';
import { promptOf } from './secrets.js';

/** sha256 of a file's bytes (hex), or undefined when it cannot be read. */
export function fileDigest(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

export function rolloutOf(config: ResolvedConfig, canaryHosts: readonly string[]): RolloutSettings {
  return {
    concurrency: config.concurrency,
    handshakeConcurrency: config.handshakeConcurrency,
    failureBudget: config.failureBudget,
    canary: [...config.canary],
    canaryHosts: [...canaryHosts],
    batches: config.batches,
    unreachableCountsAsFailure: config.unreachableCountsAsFailure,
    rollbackBatchOnBudget: config.rollbackBatchOnBudget,
    onFailure: config.onFailure,
    retries: { ...config.retries },
    deadlines: { ...config.deadlines },
  };
}

/** A host's changes as the journal keeps them: the password as its reference, secret-looking env values sealed. */
export function journaledRequests(changes: readonly ServiceChange[], refOf: (service: string) => SecretRef | undefined): JournaledRequest[] {
  return changes.map((c) => {
    const { desired, ...rest } = c;
    let d: Record<string, unknown> | undefined = desired ? { ...desired } : undefined;
    if (desired?.account) {
      const { password: _password, ...account } = desired.account as { password?: unknown };
      d = { ...d, account };
    }
    if (desired?.environment) {
      d = {
        ...d,
        environment: Object.fromEntries(Object.entries(desired.environment).map(([k, v]) => [k, isSecretLookingName(k) && v !== null ? SEALED : v])),
      };
    }
    const ref = refOf(c.service);
    return { ...(rest as Record<string, unknown>), service: c.service, ...(d ? { desired: d } : {}), ...(ref ? { passwordRef: ref } : {}) };
  });
}

export interface InputsOf {
  config: ResolvedConfig;
  canaryHosts: readonly string[];
  hosts: readonly string[];
  inventory: readonly string[];
  limit?: string;
  source?: RunSource;
  /** apply: each host's changes (secrets resolved), the reference each password came from, the drift guard. */
  tasks?: readonly { host: { name: string }; changes?: ServiceChange[]; plannedHashes?: Record<string, string> }[];
  passwordRefOf?: (host: string, service: string) => SecretRef | undefined;
}

export function runInputs(p: InputsOf): RunInputs {
  const planned = p.tasks?.filter((t) => t.plannedHashes && Object.keys(t.plannedHashes).length) ?? [];
  return {
    format: 'svcfleet-run-inputs',
    version: 1,
    ...(p.source ? { source: p.source } : {}),
    selection: { hosts: [...p.hosts], inventory: [...p.inventory], ...(p.limit ? { limit: p.limit } : {}) },
    rollout: rolloutOf(p.config, p.canaryHosts),
    ...(p.tasks
      ? {
          requests: Object.fromEntries(
            p.tasks.map((t) => [t.host.name, journaledRequests(t.changes ?? [], (service) => p.passwordRefOf?.(t.host.name, service))]),
          ),
        }
      : {}),
    ...(planned.length ? { plannedHashes: Object.fromEntries(planned.map((t) => [t.host.name, t.plannedHashes!])) } : {}),
  };
}

/** The file a change came from, for the "changed on disk" check: the plan of a plan run, else the spec. */
export function sourceChanged(source: RunSource): string | undefined {
  const now = fileDigest(source.file);
  if (now === source.digest) return undefined;
  return now === undefined ? `${source.file} is gone` : `${source.file} changed on disk since the run started`;
}

const msText = (ms: number): string => (ms === 0 ? 'none' : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

export interface RunRollout {
  /** The configuration to run with: the run's rollout settings, with the command line's overrides. */
  config: ResolvedConfig;
  /** The run's canary hosts (when --canary did not override): the caller keeps those of its hosts. */
  canaryHosts?: string[];
  /** "--concurrency 5 (the run had 1)" for each flag that overrode the run's setting. */
  overrides: string[];
  /** How the rollout reads, for the note on stderr. */
  summary: string;
}

/**
 * The configuration with the run's rollout settings: those win over today's config file and environment (the
 * run was reviewed with them); an explicit flag (`flags`, what the command line set) wins over the run's.
 */
export function withRunRollout(config: ResolvedConfig, run: RolloutSettings, flags: ConfigInput): RunRollout {
  const overrides: string[] = [];
  const pick = <T>(flag: string, given: boolean, now: T, was: T, show: (v: T) => string): T => {
    if (!given) return was;
    if (show(now) !== show(was)) overrides.push(`${flag} ${show(now)} (the run had ${show(was)})`);
    return now;
  };
  const list = (v: readonly string[]): string => (v.length ? v.join(',') : 'none');
  const canaryGiven = flags.canary !== undefined;
  const merged: ResolvedConfig = {
    ...config,
    concurrency: pick('--concurrency', flags.concurrency !== undefined, config.concurrency, run.concurrency, String),
    handshakeConcurrency: run.handshakeConcurrency,
    failureBudget: pick('--max-failures', flags.failureBudget !== undefined, config.failureBudget, run.failureBudget, formatSize),
    canary: canaryGiven ? pick('--canary', true, config.canary, run.canary, list) : [],
    batches: pick('--batches', flags.batches !== undefined, config.batches, run.batches, (b) => b.map(formatSize).join(',')),
    unreachableCountsAsFailure: pick(
      '--count-unreachable',
      flags.unreachableCountsAsFailure !== undefined,
      config.unreachableCountsAsFailure,
      run.unreachableCountsAsFailure,
      String,
    ),
    rollbackBatchOnBudget: pick('--rollback-batch', flags.rollbackBatchOnBudget !== undefined, config.rollbackBatchOnBudget, run.rollbackBatchOnBudget, String),
    onFailure: pick('--on-failure', flags.onFailure !== undefined, config.onFailure, run.onFailure, String),
    retries: { ...run.retries, count: pick('--retries', flags.retries?.count !== undefined, config.retries.count, run.retries.count, String) },
    deadlines: { ...run.deadlines, hostMs: pick('--deadline', flags.deadlines?.host !== undefined, config.deadlines.hostMs, run.deadlines.hostMs, msText) },
  };
  const summary = [
    `concurrency ${merged.concurrency}`,
    `max-failures ${formatSize(merged.failureBudget)}`,
    `canary ${canaryGiven ? list(merged.canary) : list(run.canaryHosts)}`,
    `batches ${merged.batches.map(formatSize).join(',')}`,
    `retries ${merged.retries.count}`,
    `deadline ${msText(merged.deadlines.hostMs)}`,
    `on-failure ${merged.onFailure}`,
  ].join(', ');
  return { config: merged, ...(canaryGiven ? {} : { canaryHosts: run.canaryHosts }), overrides, summary };
}

export interface JournaledTask {
  changes: ServiceChange[];
  plannedHashes?: Record<string, string>;
}

const isSealed = (v: unknown): boolean => v === SEALED || v === Secret.redacted;

/**
 * The journaled requests of these hosts turned back into changes: each password resolved again from its
 * reference (each distinct one once), sealed values filled in from the spec the run came from — only while
 * that spec is byte for byte the one the run journaled, otherwise the host is refused.
 */
export async function tasksFromInputs(inputs: RunInputs, runId: string, hosts: readonly HostSpec[], ctx: AppContext): Promise<Map<string, JournaledTask>> {
  const source = inputs.source;
  const baseDir = source ? dirname(source.file) : ctx.cwd;
  const specOf = source?.kind === 'plan' ? source.spec : source;
  let spec: ReturnType<typeof loadSpec> | undefined;
  const secrets = new Map<string, Secret>();
  const out = new Map<string, JournaledTask>();
  for (const h of hosts) {
    const requests = inputs.requests?.[h.name];
    if (!requests) throw new InputError(`run ${runId} journaled no request for host ${h.name}`, { host: h.name, field: 'RUN' });
    const changes: ServiceChange[] = [];
    for (const r of requests) {
      const { passwordRef, ...req } = r;
      const change = structuredClone(req) as unknown as ServiceChange;
      const env = change.desired?.environment as Record<string, unknown> | undefined;
      const sealed = env ? Object.keys(env).filter((k) => isSealed(env[k])) : [];
      if (sealed.length && env) {
        if (!spec) {
          const now = specOf ? fileDigest(specOf.file) : undefined;
          if (!specOf || now !== specOf.digest) {
            throw new InputError(
              `run ${runId} holds sealed values (${sealed.join(', ')}) that only its spec can fill in, and ${specOf ? `${specOf.file} changed since the run` : 'no spec was recorded'}; start a new run with apply`,
              { host: h.name, field: 'environment' },
            );
          }
          spec = loadSpec(specOf.file);
        }
        const rendered = renderHostRequests(spec, h).find((x) => x.service === r.service)?.desired?.environment as Record<string, string> | undefined;
        for (const k of sealed) {
          const v = rendered?.[k];
          if (typeof v !== 'string') throw new InputError(`the sealed value of ${k} (service ${r.service}) is not in ${specOf!.file}`, { host: h.name });
          env[k] = v;
        }
      }
      if (passwordRef && change.desired?.account) {
        const key = JSON.stringify(passwordRef);
        let secret = secrets.get(key);
        if (!secret) {
          const label = `Password for ${change.desired.account.name} (service ${r.service})`;
          secret = await resolveSecretRef(passwordRef, { env: ctx.env, baseDir, prompt: promptOf(ctx) }, { host: h.name, field: 'passwordRef' }, label);
          secrets.set(key, secret);
        }
        change.desired = { ...change.desired, account: { ...change.desired.account, password: secret } as typeof change.desired.account };
      }
      changes.push(change);
    }
    const plannedHashes = inputs.plannedHashes?.[h.name];
    out.set(h.name, { changes, ...(plannedHashes ? { plannedHashes } : {}) });
  }
  return out;
}
