/**
 * Runtime checks for everything that crosses the wire: frames coming back from a host (never trusted blindly) and
 * request files read by `svcfleet lab invoke`. The shapes mirror protocol.ts exactly.
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from './protocol.js';
import type { RemoteEvent, RemoteRequest, RemoteResult, Snapshot, StartEvidence } from './protocol.js';

const startType = z.enum(['boot', 'system', 'auto', 'delayed-auto', 'demand', 'disabled']);
const errorControl = z.enum(['ignore', 'normal', 'severe', 'critical']);
const actionType = z.enum(['none', 'restart', 'reboot', 'run']);
const uint32 = z.number().int().min(0).max(0xffffffff);
const operation = z.enum(['snapshot', 'plan', 'apply', 'rollback']);
const outcome = z.enum(['unchanged', 'changed', 'rolled-back', 'rollback-failed', 'failed', 'drifted']);
const phase = z.enum(['start', 'snapshot', 'plan', 'backup', 'apply', 'readback', 'stop', 'start-service', 'verify', 'rollback', 'rollback-verify', 'done']);
const reason = z.object({ code: z.string().min(1), win32: z.number().int().optional() });

const failureAction = z.object({ type: actionType, delayMs: uint32 });
const failureSettings = z.object({
  resetPeriod: z.union([uint32, z.literal('infinite')]),
  rebootMessage: z.string(),
  command: z.string(),
  actions: z.array(failureAction),
  nonCrashFailures: z.boolean(),
});

export const serviceConfigSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  binaryPath: z.string(),
  startType,
  errorControl,
  serviceType: uint32,
  account: z.string(),
  description: z.string(),
  dependencies: z.array(z.string()),
  loadOrderGroup: z.string(),
  failure: failureSettings,
  environment: z.record(z.string(), z.string()).nullable(),
});

export const snapshotSchema = z.object({
  config: serviceConfigSchema,
  configHash: z.string().regex(/^[0-9a-f]{64}$/),
  state: z.enum(['stopped', 'start-pending', 'stop-pending', 'running', 'continue-pending', 'pause-pending', 'paused']),
  pid: z.number().int().nullable(),
  takenAt: z.string(),
  findings: z.array(z.object({ code: z.string(), message: z.string() })),
}) satisfies z.ZodType<Snapshot>;

// Generous bounds: the engine keeps 20 lines and 4 KB; the controller cuts again (engine/scrub.ts boundEvidence).
export const startEvidenceSchema = z.object({
  service: z.string(),
  win32ExitCode: z.number().int().nullable(),
  serviceExitCode: z.number().int().nullable(),
  lines: z.array(z.object({ at: z.string(), source: z.string(), id: z.number().int(), text: z.string() })).max(200),
  truncated: z.boolean(),
}) satisfies z.ZodType<StartEvidence>;

export const remoteEventSchema = z.object({
  kind: z.literal('event'),
  phase,
  at: z.string(),
  level: z.enum(['info', 'warn', 'error']).optional(),
  message: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
}) satisfies z.ZodType<RemoteEvent>;

export const remoteResultSchema = z.object({
  kind: z.literal('result'),
  op: operation,
  outcome,
  reason,
  message: z.string(),
  snapshot: snapshotSchema.optional(),
  after: snapshotSchema.optional(),
  diff: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown(), restartNeeded: z.boolean() })).optional(),
  restartNeeded: z.boolean().optional(),
  restarted: z.boolean().optional(),
  runningDependents: z.array(z.string()).optional(),
  backupPath: z.string().optional(),
  interrupted: z.object({ runId: z.string(), step: z.string() }).optional(),
  rollback: z.object({ ok: z.boolean(), message: z.string(), reason: reason.optional() }).optional(),
  evidence: startEvidenceSchema.optional(),
}) satisfies z.ZodType<RemoteResult>;

export const remoteFrameSchema = z.discriminatedUnion('kind', [remoteEventSchema, remoteResultSchema]);

const desiredSchema = z.strictObject({
  binaryPath: z.string().min(1).optional(),
  args: z
    .strictObject({
      set: z.record(z.string().min(1), z.union([z.string(), z.literal(true)])).optional(),
      remove: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  startType: startType.optional(),
  errorControl: errorControl.optional(),
  displayName: z.string().min(1).max(256).optional(),
  description: z.string().optional(),
  account: z
    .strictObject({
      name: z.string().min(1),
      password: z.string().optional(),
      passwordAtApply: z.boolean().optional(),
      rotatePassword: z.boolean().optional(),
      rollbackPassword: z.literal('none').optional(),
      grantLogonRight: z.boolean().optional(),
    })
    .optional(),
  dependencies: z.array(z.string().min(1)).optional(),
  loadOrderGroup: z.string().optional(),
  failure: failureSettings.partial().strict().optional(),
  environment: z
    .record(
      z
        .string()
        .min(1)
        .regex(/^[^=\0]+$/, 'an environment variable name cannot contain "=" or NUL'),
      z.string(),
    )
    .nullable()
    .optional()
    .refine(
      (env) => {
        if (!env) return true;
        const seen = new Set<string>();
        for (const name of Object.keys(env)) {
          const key = name.toUpperCase();
          if (seen.has(key)) return false;
          seen.add(key);
        }
        return true;
      },
      { message: 'environment variable names are case-insensitive on Windows; a name is given twice' },
    ),
});

/** A request as the wire carries it (protocol.ts RemoteRequest). */
export const remoteRequestSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  op: operation,
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/),
  runId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, . _ - (up to 128), starting with a letter or digit'),
  service: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[^\\/]+$/, 'a service name cannot contain "/" or "\\"'),
  desired: desiredSchema.optional(),
  expectedHash: z.string().optional(),
  restart: z.enum(['never', 'if-needed', 'always']).optional(),
  verify: z
    .strictObject({
      running: z.boolean().optional(),
      port: z.number().int().min(1).max(65535).optional(),
      timeoutSeconds: z.number().int().min(1).max(3600).optional(),
      settleSeconds: z.number().int().min(0).max(3600).optional(),
      dependencies: z.enum(['running', 'ignore']).optional(),
      http: z.strictObject({ url: z.string().regex(/^https?:\/\//), status: z.number().int().min(100).max(599).optional() }).optional(),
    })
    .optional(),
  rollback: z.enum(['auto', 'never']).optional(),
  dependents: z.enum(['refuse', 'stop-and-restart']).optional(),
  restore: z.strictObject({ snapshot: snapshotSchema.optional(), fromRunId: z.string().optional() }).optional(),
  timeouts: z
    .strictObject({
      stopSeconds: z.number().int().min(1).max(3600).optional(),
      startSeconds: z.number().int().min(1).max(3600).optional(),
    })
    .optional(),
}) satisfies z.ZodType<RemoteRequest>;
