/**
 * The change-spec schema (docs/spec.md). A spec names one service (`service:` + `set:` …) or several
 * (`services: [ {service, set, …}, … ]`, with top-level restart/verify/rollback/timeouts as defaults).
 * Unknown keys are errors everywhere: a misspelt setting must not be silently ignored.
 *
 * Strings may hold `{{ var }}` (template.ts) where noted in docs/spec.md; such values are checked again per
 * host after rendering (render.ts).
 */
import { z } from 'zod';
import { secretRefSchema } from '../util/secret-ref.js';

const nonEmpty = z.string().min(1);
/** A number, or a `{{ var }}` text that must render to one. */
const numberOrTemplate = z.union([z.number(), z.string().regex(/\{\{/, 'expected a number or a {{ variable }}')]);

export const startTypeSchema = z.enum(['boot', 'system', 'auto', 'delayed-auto', 'demand', 'disabled']);
export const errorControlSchema = z.enum(['ignore', 'normal', 'severe', 'critical']);

/** `restart/60000` (type/delay in ms), or { type, delayMs }. */
const failureAction = z.union([
  z
    .string()
    .regex(/^(none|restart|reboot|run)\/\d+$/, "expected 'type/delayMs' with type none, restart, reboot or run (e.g. restart/60000)")
    .refine((a) => Number(a.split('/')[1]) <= 0xffffffff, 'the delay is more than 4294967295 ms'),
  z.strictObject({ type: z.enum(['none', 'restart', 'reboot', 'run']), delayMs: z.number().int().min(0).max(0xffffffff) }),
]);

const flagName = z.string().regex(/^(--?|\/)[^\s"'=]+$/, 'expected a flag such as --port, -v or /debug');

export const setSchema = z.strictObject({
  binaryPath: nonEmpty.optional(),
  args: z
    .strictObject({
      set: z.record(flagName, z.union([z.string(), z.number(), z.literal(true)])).optional(),
      remove: z.array(flagName).optional(),
    })
    .optional(),
  startType: startTypeSchema.optional(),
  errorControl: errorControlSchema.optional(),
  displayName: z.string().min(1).max(256).optional(),
  description: z.string().optional(),
  account: z
    .strictObject({
      name: nonEmpty,
      password: secretRefSchema({ prompt: true }).optional(),
      // A rollback cannot give a password account its old password back (Windows never reveals it): the spec must
      // accept that explicitly when the change leaves a password account (docs/spec.md "Accounts").
      rollbackPassword: z.literal('none').optional(),
      // Apply may grant the account "Log on as a service" (SeServiceLogonRight) when it lacks it; off by default.
      grantLogonRight: z.boolean().optional(),
      // Write the password again although the account stays the same. Windows never reveals a service password, so
      // it cannot be compared: without this flag it is written only together with a new account (docs/spec.md).
      rotatePassword: z.boolean().optional(),
    })
    .refine((a) => !a.rotatePassword || a.password !== undefined, { message: 'rotatePassword needs a password', path: ['rotatePassword'] })
    .optional(),
  dependencies: z
    .array(
      z
        .string()
        .min(1)
        .regex(/^[^/]+$/, 'a dependency name cannot contain "/"'),
    )
    .optional(),
  loadOrderGroup: z.string().optional(),
  failure: z
    .strictObject({
      resetPeriod: z.union([z.number().int().min(0).max(0xfffffffe), z.literal('infinite')]).optional(),
      actions: z.array(failureAction).max(64).optional(),
      rebootMessage: z.string().optional(),
      command: z.string().optional(),
      nonCrashFailures: z.boolean().optional(),
    })
    .optional(),
  environment: z
    .record(z.string().regex(/^[^=\0]+$/, 'an environment variable name cannot be empty or contain "="'), z.union([z.string(), z.number()]))
    .nullable()
    .optional()
    .superRefine((env, ctx) => {
      // Windows environment names are case-insensitive: PATH and Path are the same variable.
      const seen = new Map<string, string>();
      for (const name of Object.keys(env ?? {})) {
        const first = seen.get(name.toUpperCase());
        if (first !== undefined) ctx.addIssue({ code: 'custom', message: `${name} and ${first} are the same variable on Windows`, path: [name] });
        seen.set(name.toUpperCase(), name);
      }
    }),
});

export const verifySchema = z.strictObject({
  running: z.boolean().optional(),
  port: numberOrTemplate.optional(),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  settleSeconds: z.number().int().min(0).max(3600).optional(),
  dependencies: z.enum(['running', 'ignore']).optional(),
  http: z
    .strictObject({
      url: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL'),
      status: z.number().int().min(100).max(599).optional(),
    })
    .optional(),
});

const timeoutsSchema = z.strictObject({
  stopSeconds: z.number().int().min(1).max(3600).optional(),
  startSeconds: z.number().int().min(1).max(3600).optional(),
});

const common = {
  restart: z.enum(['never', 'if-needed', 'always']).optional(),
  verify: verifySchema.optional(),
  rollback: z.enum(['auto', 'never']).optional(),
  /** A restart with running dependents: refuse (default, nothing changed) or stop them and start them again. */
  dependents: z.enum(['refuse', 'stop-and-restart']).optional(),
  timeouts: timeoutsSchema.optional(),
};

/** A Windows service name (a `{{ var }}` may fill part of it). */
const serviceName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\\/]+$/, 'a service name cannot contain "/" or "\\"');

export const serviceEntrySchema = z.strictObject({
  service: serviceName,
  set: setSchema.optional(),
  ...common,
});

export const specSchema = z.strictObject({
  version: z.literal(1).optional(),
  service: serviceName.optional(),
  set: setSchema.optional(),
  services: z.array(serviceEntrySchema).min(1).optional(),
  ...common,
});

export type SpecDocument = z.output<typeof specSchema>;
export type ServiceEntry = z.output<typeof serviceEntrySchema>;
export type SetSpec = z.output<typeof setSchema>;
