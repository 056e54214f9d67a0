/**
 * Rollout strategy: how many hosts at once, which go first (canary), in which waves (batches) and how many
 * failures are tolerated (failure budget). Pure functions; the scheduler (engine/run.ts) applies them.
 *
 * Sizes are written the way users of Ansible `serial` and SSM `MaxConcurrency`/`MaxErrors` already know them
 * (docs/reference/fleet-rollout.md#batches-as-counts-percentages-and-lists, docs/reference/fleet-rollout.md#concurrency-and-error-budget): a count (`5`) or a percentage (`25%`), and batches as a list (`1,5,25%,100%`)
 * whose last entry repeats until every host is placed.
 *
 * It lives in config, below the engine, because the config file, the environment and the flags parse these
 * sizes and take their defaults from DEFAULT_STRATEGY; the engine only consumes the resolved Strategy.
 */
import { InputError } from '../util/errors.js';

export type Size = { kind: 'count'; n: number } | { kind: 'percent'; pct: number };

const SIZE_RE = /^(\d+)(%?)$/;

/** Parse `5` or `25%`. `field` names the flag or config field for the error message. */
export function parseSize(text: string | number, field: string, opts: { allowZero?: boolean } = {}): Size {
  const raw = String(text).trim();
  const m = SIZE_RE.exec(raw);
  if (!m) throw new InputError(`expected a count like 5 or a percentage like 25%, got ${JSON.stringify(raw)}`, { field });
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (n > 100) throw new InputError(`a percentage cannot exceed 100%, got ${raw}`, { field });
    if (n === 0 && !opts.allowZero) throw new InputError(`must be at least 1%, got ${raw}`, { field });
    return { kind: 'percent', pct: n };
  }
  if (n === 0 && !opts.allowZero) throw new InputError(`must be at least 1, got ${raw}`, { field });
  return { kind: 'count', n };
}

/** Parse a batch list: `1,5,25%,100%` (commas or spaces; an optional surrounding [ ]). */
export function parseSizeList(text: string | ReadonlyArray<string | number>, field: string): Size[] {
  const parts =
    typeof text === 'string'
      ? text
          .trim()
          .replace(/^\[|\]$/g, '')
          .split(/[\s,]+/)
          .filter((p) => p !== '')
      : text.map(String);
  if (parts.length === 0) throw new InputError('expected at least one batch size, e.g. 1,5,25%,100%', { field });
  return parts.map((p, i) => parseSize(p, `${field}[${i}]`));
}

/** A size against a total: percentages round up, so `1%` of 10 hosts is 1 host, never 0. */
export function resolveSize(size: Size, total: number): number {
  if (size.kind === 'count') return size.n;
  return Math.ceil((total * size.pct) / 100);
}

/** The failure budget: how many counted failures are tolerated. Percentages round down (never more lenient). */
export function resolveBudget(size: Size, total: number): number {
  if (size.kind === 'count') return size.n;
  return Math.floor((total * size.pct) / 100);
}

/** Split hosts (in order) into waves; the last size repeats until every host is placed. */
export function splitBatches<T>(hosts: readonly T[], sizes: readonly Size[]): T[][] {
  const out: T[][] = [];
  const total = hosts.length;
  let at = 0;
  let i = 0;
  while (at < total) {
    const size = sizes[Math.min(i, sizes.length - 1)] ?? ({ kind: 'percent', pct: 100 } as Size);
    const n = Math.max(1, resolveSize(size, total));
    out.push(hosts.slice(at, at + n));
    at += n;
    i++;
  }
  return out;
}

/** What the scheduler needs, resolved against the run's hosts. */
export interface Strategy {
  /** Hosts at once (p-limit). */
  concurrency: number;
  /** Host names run first, as their own batch; every one must end changed/unchanged before any other host starts. */
  canary: string[];
  /** Wave sizes for the non-canary hosts. */
  batches: Size[];
  /** Counted failures tolerated; exceeding it stops scheduling (in-flight hosts finish). */
  maxFailures: Size;
  /** Count `unreachable` hosts against the budget (default: counted apart, like SSM's "Delivery Timed Out"). */
  countUnreachable: boolean;
  /** When the budget is exceeded, also roll back the hosts of the current batch that changed. */
  rollbackBatchOnBudget: boolean;
  /** Connection retries (connect/auth phase only, before anything changed). */
  retries: number;
  /** First backoff delay; doubles per attempt, with jitter, capped at 10 s. */
  retryBaseMs: number;
  /** Whole-host deadline (connect + plan + apply), ms; 0 = none. */
  hostDeadlineMs: number;
  /** `ask`: a failed host pauses the run until a command answers (retry / resume = skip / abort). */
  onFailure: 'continue' | 'ask';
  /** The canary was chosen by the safe default (defaultCanary), not asked for: the headers say so. */
  canaryDefault?: boolean;
}

/** Above this many hosts, a run without a canary or batches gets its first host as a canary (defaultCanary). */
export const DEFAULT_CANARY_ABOVE = 10;

/**
 * The safe default: when more than DEFAULT_CANARY_ABOVE hosts are selected and the operator gave neither a
 * canary nor batches, the first host runs alone before the rest. With a budget of 0 and concurrency 20, a bad
 * change would otherwise fail on up to 20 hosts at once before the abort lands; with the canary it fails on one.
 * Returns the canary host, or undefined when the default does not apply (`--no-canary`: `enabled` false).
 */
export function defaultCanary(hosts: readonly string[], o: { canary: readonly string[]; batches: readonly Size[]; enabled: boolean }): string | undefined {
  if (!o.enabled || o.canary.length > 0 || hosts.length <= DEFAULT_CANARY_ABOVE) return undefined;
  const defaultBatches = o.batches.length === 1 && o.batches[0]!.kind === 'percent' && o.batches[0]!.pct === 100;
  return defaultBatches ? hosts[0] : undefined;
}

export const DEFAULT_STRATEGY: Strategy = {
  concurrency: 20,
  canary: [],
  batches: [{ kind: 'percent', pct: 100 }],
  maxFailures: { kind: 'count', n: 0 },
  countUnreachable: false,
  rollbackBatchOnBudget: false,
  retries: 2,
  retryBaseMs: 500,
  hostDeadlineMs: 0,
  onFailure: 'continue',
};

/** Parse a duration flag: `90s`, `5m`, `1h`, `250ms` or a bare number of seconds. */
export function parseDuration(text: string | number, field: string): number {
  const raw = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw);
  if (!m) throw new InputError(`expected a duration like 90s, 5m or 250ms, got ${JSON.stringify(raw)}`, { field });
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  return Math.round(ms);
}

/** Human form of a size for summaries and events. */
export function formatSize(size: Size): string {
  return size.kind === 'count' ? String(size.n) : `${size.pct}%`;
}
