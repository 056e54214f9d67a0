/**
 * The NDJSON event stream's documented shape (docs/events.md), as a zod schema the tests validate real
 * output against. Kept beside the tests on purpose: if the engine's events drift from the documentation,
 * these tests fail.
 */
import { z } from 'zod';

const base = { runId: z.string().regex(/^\d{8}T\d{6}Z-[0-9a-f]{4}$/), seq: z.number().int().positive(), at: z.string().datetime() };
const terminal = z.enum(['changed', 'unchanged', 'drifted', 'failed', 'rolled-back', 'rollback-failed', 'unreachable', 'skipped', 'unknown']);
const active = z.enum(['queued', 'connecting', 'snapshot', 'backup', 'applying', 'restarting', 'verifying', 'rolling-back']);
const remotePhase = z.enum([
  'start',
  'snapshot',
  'plan',
  'backup',
  'apply',
  'readback',
  'stop',
  'start-service',
  'verify',
  'rollback',
  'rollback-verify',
  'done',
]);
const errorClass = z.enum([
  'unreachable',
  'auth-failed',
  'hostkey-unknown',
  'hostkey-mismatch',
  'tls-untrusted',
  'timeout',
  'protocol',
  'remote-failed',
  'aborted',
]);

export const eventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...base,
    type: z.literal('run-start'),
    mode: z.enum(['plan', 'apply', 'rollback']),
    specFile: z.string().optional(),
    planDigest: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    services: z.array(z.string()),
    hosts: z.array(z.string()),
    strategy: z.strictObject({
      concurrency: z.number().int().positive(),
      canary: z.array(z.string()),
      batches: z.array(z.number().int().nonnegative()),
      failureBudget: z.number().int().nonnegative(),
      canaryDefault: z.literal(true).optional(),
    }),
  }),
  z.strictObject({
    ...base,
    type: z.literal('batch-start'),
    index: z.number().int().nonnegative(),
    total: z.number().int().positive(),
    canary: z.boolean(),
    hosts: z.array(z.string()),
  }),
  z.strictObject({
    ...base,
    type: z.literal('host-phase'),
    host: z.string(),
    state: active,
    remotePhase: remotePhase.optional(),
    service: z.string().optional(),
  }),
  z.strictObject({ ...base, type: z.literal('host-log'), host: z.string(), level: z.enum(['debug', 'info', 'warn', 'error']), text: z.string() }),
  z.strictObject({
    ...base,
    type: z.literal('host-diff'),
    host: z.string(),
    service: z.string(),
    configHash: z.string().min(1),
    changes: z.array(z.strictObject({ field: z.string(), before: z.unknown(), after: z.unknown(), restartNeeded: z.boolean() })),
  }),
  z.strictObject({
    ...base,
    type: z.literal('host-evidence'),
    host: z.string(),
    service: z.string(),
    evidence: z.strictObject({
      service: z.string(),
      win32ExitCode: z.number().int().nullable(),
      serviceExitCode: z.number().int().nullable(),
      lines: z.array(z.strictObject({ at: z.string(), source: z.string(), id: z.number().int(), text: z.string().max(512) })).max(20),
      truncated: z.boolean(),
    }),
  }),
  z.strictObject({
    ...base,
    type: z.literal('host-done'),
    host: z.string(),
    outcome: terminal,
    reason: z.strictObject({ code: z.string().min(1), win32: z.number().int().optional(), errorClass: errorClass.optional() }),
    message: z.string(),
    attempts: z.number().int().nonnegative(),
    timings: z.strictObject({ startedAt: z.string().datetime().optional(), endedAt: z.string().datetime(), ms: z.number().nonnegative() }),
    service: z.string().optional(),
  }),
  z.strictObject({ ...base, type: z.literal('budget'), used: z.number().int().nonnegative(), limit: z.number().int().nonnegative(), exceeded: z.boolean() }),
  z.strictObject({ ...base, type: z.literal('run-paused'), reason: z.enum(['user', 'on-failure', 'budget']), host: z.string().optional() }),
  z.strictObject({ ...base, type: z.literal('run-resumed') }),
  z.strictObject({
    ...base,
    type: z.literal('run-abort'),
    reason: z.enum(['user', 'signal', 'budget', 'canary', 'journal']),
    inFlight: z.enum(['finish', 'cancel']),
  }),
  z.strictObject({
    ...base,
    type: z.literal('run-done'),
    counts: z.partialRecord(terminal, z.number().int().positive()),
    exitCode: z.number().int().min(0).max(4),
    ms: z.number().nonnegative(),
  }),
]);

export type ValidEvent = z.infer<typeof eventSchema>;

/**
 * Validate a whole NDJSON stream: every line an event of the documented shape, one run id, seq increasing,
 * every host of run-start has a host-done, the last line is run-done and its counts add up to the hosts.
 */
export function validateStream(text: string): { events: ValidEvent[]; lastOutcome: Map<string, string> } {
  const lines = text.split('\n').filter((l) => l !== '');
  const events = lines.map((l, i) => {
    const parsed = eventSchema.safeParse(JSON.parse(l));
    if (!parsed.success) throw new Error(`line ${i + 1} does not match docs/events.md: ${parsed.error.message}\n${l}`);
    return parsed.data;
  });
  if (events.length === 0) throw new Error('empty stream');
  const runIds = new Set(events.map((e) => e.runId));
  if (runIds.size !== 1) throw new Error(`several run ids: ${[...runIds].join(', ')}`);
  events.forEach((e, i) => {
    if (i > 0 && e.seq <= events[i - 1]!.seq) throw new Error(`seq not increasing at line ${i + 1}`);
  });
  const last = events.at(-1)!;
  if (last.type !== 'run-done') throw new Error(`last line is ${last.type}, not run-done`);
  const lastOutcome = new Map<string, string>();
  const hosts = new Set<string>();
  for (const e of events) {
    if (e.type === 'run-start') e.hosts.forEach((h) => hosts.add(h));
    if (e.type === 'host-done') lastOutcome.set(e.host, e.outcome);
  }
  for (const h of hosts) if (!lastOutcome.has(h)) throw new Error(`host ${h} has no host-done`);
  const counted = Object.values(last.counts).reduce((a, b) => a + b, 0);
  if (counted !== hosts.size) throw new Error(`run-done counts add up to ${counted}, run has ${hosts.size} hosts`);
  return { events, lastOutcome };
}
