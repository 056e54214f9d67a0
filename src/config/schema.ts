/**
 * The svcfleet configuration: what a config file, SVCFLEET_* environment variables and command-line flags may
 * set (each validated on its own, so an error names where the bad value came from), and the resolved,
 * typed result with every default filled in. Documented in docs/config.md.
 *
 * Sizes and durations are written the way the CLI takes them (config/strategy.ts): `5` or `25%`, `90s`,
 * `5m`, `250ms` (a bare number is seconds).
 */
import { z } from 'zod';
import { parseDuration, parseSize, parseSizeList, type Size } from './strategy.js';
import type { ConnectionDefaults } from '../inventory/connection.js';
import { InputError } from '../util/errors.js';

/** Run one of strategy.ts's parsers inside zod, turning its InputError into a zod issue at the right path. */
function via<I, T>(parse: (v: I) => T) {
  return (v: I, ctx: z.core.$RefinementCtx<I>): T => {
    try {
      return parse(v);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: v });
      return z.NEVER as never;
    }
  };
}

const scalar = z.union([z.string(), z.number()]);
const duration = scalar.transform(via((v: string | number) => parseDuration(v, 'duration')));
const sizeOrZero = scalar.transform(via((v: string | number) => parseSize(v, 'size', { allowZero: true })));
const sizeList = z.union([z.string(), z.array(scalar)]).transform(via((v: string | Array<string | number>): Size[] => parseSizeList(v, 'batches')));
const count = z.coerce.number().int().min(1).max(100_000);
/** A host pattern list: `web01,web02` or a YAML list. */
const patternList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter(Boolean));

/** One source (file, environment or flags): every key optional, unknown keys refused. */
export const configInputSchema = z.strictObject({
  concurrency: count.optional(),
  handshakeConcurrency: count.optional(),
  deadlines: z
    .strictObject({
      connect: duration.optional(),
      auth: duration.optional(),
      command: duration.optional(),
      host: duration.optional(),
    })
    .optional(),
  retries: z
    .strictObject({
      count: z.coerce.number().int().min(0).max(20).optional(),
      backoff: duration.optional(),
      maxBackoff: duration.optional(),
    })
    .optional(),
  journal: z.string().min(1).optional(),
  output: z.enum(['auto', 'dashboard', 'plain', 'ndjson']).optional(),
  failureBudget: sizeOrZero.optional(),
  canary: patternList.optional(),
  /** false: no automatic canary for runs of more than 10 hosts (`--no-canary`; strategy.ts defaultCanary). */
  defaultCanary: z.boolean().optional(),
  batches: sizeList.optional(),
  unreachableCountsAsFailure: z.boolean().optional(),
  rollbackBatchOnBudget: z.boolean().optional(),
  onFailure: z.enum(['continue', 'ask']).optional(),
  // The built-in kinds, and `local`: the lab's transport (src/lab/transport), registered by the CLI at run time;
  // only its name is known here, so lab inventories validate without loading lab code.
  transport: z.enum(['ssh', 'winrm', 'pwsh', 'local']).optional(),
  user: z.string().min(1).optional(),
  ssh: z
    .strictObject({
      shell: z.enum(['powershell.exe', 'pwsh']).optional(),
      identityFile: z.string().min(1).optional(),
      agent: z.string().min(1).optional(),
      knownHostsFile: z.string().min(1).optional(),
      hostKeyPolicy: z.enum(['strict', 'accept-new']).optional(),
      keepaliveInterval: duration.optional(),
    })
    .optional(),
  winrm: z
    .strictObject({
      scheme: z.enum(['http', 'https']).optional(),
      auth: z.enum(['ntlm', 'basic', 'kerberos', 'negotiate']).optional(),
      caFile: z.string().min(1).optional(),
      certValidation: z.enum(['validate', 'ignore']).optional(),
      operationTimeout: duration.optional(),
      path: z.string().startsWith('/').optional(),
    })
    .optional(),
  pwsh: z.strictObject({ mode: z.enum(['hostname', 'computername']).optional() }).optional(),
  ui: z
    .strictObject({
      color: z.enum(['auto', 'always', 'never']).optional(),
      refresh: duration.optional(),
    })
    .optional(),
});

export type ConfigInput = z.input<typeof configInputSchema>;
export type ConfigPartial = z.output<typeof configInputSchema>;

/** Keys whose values are file paths (relative ones resolve against the directory of the file that set them). */
export const PATH_KEYS: ReadonlyArray<readonly string[]> = [['journal'], ['ssh', 'identityFile'], ['ssh', 'knownHostsFile'], ['winrm', 'caFile']];

export interface ResolvedConfig {
  /** Hosts in flight at once. */
  concurrency: number;
  /** TCP+auth handshakes in progress at once (they cost CPU on both sides). */
  handshakeConcurrency: number;
  /** Milliseconds; hostMs 0 = no whole-host deadline. */
  deadlines: { connectMs: number; authMs: number; commandMs: number; hostMs: number };
  /** Retries of connection errors before anything changed. */
  retries: { count: number; backoffMs: number; maxBackoffMs: number };
  /** Journal root directory. */
  journal: string;
  output: 'auto' | 'dashboard' | 'plain' | 'ndjson';
  /** Counted failures tolerated before no new host starts. */
  failureBudget: Size;
  /** Host patterns run first, as their own batch. */
  canary: string[];
  /** A run of more than 10 hosts with no canary and no batches runs its first host alone first. */
  defaultCanary: boolean;
  batches: Size[];
  unreachableCountsAsFailure: boolean;
  rollbackBatchOnBudget: boolean;
  onFailure: 'continue' | 'ask';
  /** Defaults under every inventory's connection settings. */
  connection: ConnectionDefaults;
  ui: { color: 'auto' | 'always' | 'never'; refreshMs: number };
  /** The config file used, if any. */
  configFile?: string;
  /** Things the user should see (e.g. certificate validation turned off). */
  warnings: string[];
}
