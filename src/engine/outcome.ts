/**
 * What a host's terminal state means for the run: does it count against the failure budget, does it make the
 * exit code non-zero, which of several per-service outcomes wins for the host.
 */
import { ExitCode, type RunMode, type TerminalState } from './events.js';

/**
 * The outcomes that are a success of the run's purpose: the change made (or not needed) — or, in a rollback
 * run, the host restored (or already at its snapshot).
 */
export function isOk(outcome: TerminalState, mode: RunMode = 'apply'): boolean {
  if (mode === 'rollback' && outcome === 'rolled-back') return true;
  return outcome === 'changed' || outcome === 'unchanged';
}

/**
 * Counted against the failure budget. `unreachable` only when configured (nothing reached the host, so nothing
 * could have broken there); `drifted` and `skipped` never (the host was deliberately left alone).
 */
export function countsAsFailure(outcome: TerminalState, countUnreachable: boolean, mode: RunMode = 'apply'): boolean {
  switch (outcome) {
    case 'rolled-back':
      return mode !== 'rollback';
    case 'failed':
    case 'rollback-failed':
    case 'unknown':
      return true;
    case 'unreachable':
      return countUnreachable;
    default:
      return false;
  }
}

/** Severity order, worst last: the worst per-service outcome is the host's outcome. */
const SEVERITY: readonly TerminalState[] = ['unchanged', 'changed', 'skipped', 'drifted', 'unreachable', 'rolled-back', 'failed', 'unknown', 'rollback-failed'];

export function worstOutcome(outcomes: readonly TerminalState[]): TerminalState {
  let worst: TerminalState = 'unchanged';
  for (const o of outcomes) if (SEVERITY.indexOf(o) > SEVERITY.indexOf(worst)) worst = o;
  return worst;
}

/**
 * Documented exit codes (docs/cli.md): 4 if a rollback failed anywhere, else 3 if the run was aborted
 * (budget, canary, user or signal), else 2 if any host did not end changed/unchanged, else 0.
 */
export function exitCodeFor(counts: Partial<Record<TerminalState, number>>, aborted: boolean, mode: RunMode = 'apply'): number {
  if ((counts['rollback-failed'] ?? 0) > 0) return ExitCode.rollbackFailed;
  if (aborted) return ExitCode.aborted;
  for (const [state, n] of Object.entries(counts) as [TerminalState, number][]) {
    if (n > 0 && !isOk(state, mode)) return ExitCode.hostsFailed;
  }
  return ExitCode.ok;
}

/**
 * Why a host ended `skipped` when a person stopped the run (Ctrl-C, SIGTERM, the dashboard's abort): such hosts
 * are what `resume` finishes, and so are hosts skipped because the journal could not be written (its disk filled):
 * freeing space and resuming is the documented way on. Skips by the run's own safety stops (budget, canary) or an
 * exclusion are not.
 */
export const INTERRUPTED_SKIP_REASONS: ReadonlySet<string> = new Set(['abort-signal', 'abort-user', 'cancelled', 'abort-journal']);
