/**
 * The run state as text, the same in every output (dashboard, plain and NDJSON reporters, `svcfleet show`):
 * group lines, durations, the counts line, the one-line progress for non-TTY outputs, the end-of-run summary and
 * the commands it suggests next. The facts come from the state layer's reducer and queries.
 */
import { INTERRUPTED_SKIP_REASONS } from '../engine/outcome.js';
import { isTerminal, STATE_BUCKETS, type RunState } from '../state/run-state.js';
import { bucketCounts, outcomeGroups, outcomeLabel, progress, retryableHosts, type ErrorGroup, type HostFolder } from '../state/queries.js';
import { foldHosts } from '../util/hostrange.js';

/**
 * The machine-readable part of a reason, without repeats: "win32 5", "verify-port", "timeout, auth-failed".
 * `outcome` is left out when the code only repeats it (an `unreachable` host with code `unreachable`).
 */
export function reasonText(e: { code: string; win32?: number; errorClass?: string }, outcome?: string): string {
  const parts: string[] = [];
  if (e.code && e.code !== 'ok' && e.code !== outcome && !(e.code === 'win32' && e.win32 !== undefined)) parts.push(e.code);
  if (e.win32 !== undefined) parts.push(`win32 ${e.win32}`);
  if (e.errorClass !== undefined && e.errorClass !== e.code && e.errorClass !== outcome) parts.push(e.errorClass);
  return parts.join(', ');
}

/** One line per group, the same text in every output: "web[01-37]: failed: access denied [win32 5] (37)". */
export function formatGroup(g: ErrorGroup): string {
  const msg = g.error.message ? `: ${g.error.message}` : '';
  const why = reasonText(g.error, g.outcome);
  return `${g.folded}: ${g.label ?? g.outcome}${msg}${why ? ` [${why}]` : ''} (${g.count})`;
}

/** The next useful commands after a run, for the summary (dashboard and plain output alike). */
export function nextCommands(s: RunState): string[] {
  if (!s.runId) return [];
  const cmds = [`svcfleet show ${s.runId}`];
  // A plan changed nothing, so there is nothing to roll back or retry; a rollback run is retried by rolling back again.
  if (s.mode !== 'apply' && s.mode !== undefined) return cmds;
  const b = bucketCounts(s);
  if (b.changed > 0 || b['rollback-failed'] > 0 || b.unknown > 0) cmds.push(`svcfleet rollback ${s.runId}`);
  if (retryableHosts(s).length > 0) cmds.push(`svcfleet retry ${s.runId} --failed`);
  const interrupted = s.hostOrder.some((n) => {
    const h = s.hosts.get(n)!;
    return !isTerminal(h.state) || (h.state === 'skipped' && INTERRUPTED_SKIP_REASONS.has(h.result?.reason.code ?? ''));
  });
  if (interrupted) cmds.push(`svcfleet resume ${s.runId}`);
  return cmds;
}

/** "1m 05s", "12s", "1h 02m": compact durations for headers and tables. */
export function formatDuration(ms: number): string {
  const t = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** What each documented exit code means (docs/cli.md), for summaries. */
export function exitCodeLabel(code: number): string {
  switch (code) {
    case 0:
      return 'every host ok';
    case 1:
      return 'usage or input error';
    case 2:
      return 'some hosts failed or were rolled back';
    case 3:
      return 'aborted';
    case 4:
      return 'a rollback failed';
    default:
      return 'internal error';
  }
}

/** "changed 36 · failed 1 · unreachable 1" over the non-empty buckets, in bar order. */
export function countsLine(s: RunState): string {
  const b = bucketCounts(s);
  return STATE_BUCKETS.filter((k) => b[k] > 0)
    .map((k) => `${outcomeLabel(k, s.mode)} ${b[k]}`)
    .join(' · ');
}

/** One line of live progress for non-TTY outputs: the same facts as the dashboard's header and bar. */
export function progressLine(s: RunState, now: number): string {
  const p = progress(s, now);
  const parts = [`${p.finished}/${p.total} done`, countsLine(s)];
  if (s.batch) parts.push(`batch ${s.batch.index + 1}/${s.batch.total}${s.batch.canary ? ' (canary)' : ''}`);
  parts.push(`budget ${s.budget.used}/${s.budget.limit}`);
  parts.push(`elapsed ${formatDuration(p.elapsedMs)}`);
  if (p.hostsPerMinute !== undefined) parts.push(`${p.hostsPerMinute.toFixed(1)} hosts/min`);
  if (p.etaMs !== undefined && !s.done) parts.push(`ETA ${formatDuration(p.etaMs)}`);
  if (s.paused) parts.push(`PAUSED (${s.paused.reason})`);
  if (s.aborting) parts.push(`ABORTING (in-flight: ${s.aborting.inFlight})`);
  return parts.join(' | ');
}

export interface RunSummary {
  title: string;
  counts: string;
  groups: ErrorGroup[];
  next: string[];
}

/** The end-of-run summary every output prints: title, counts, grouped outcomes, next commands. */
export function runSummary(s: RunState, now: number, fold: HostFolder = foldHosts): RunSummary {
  const p = progress(s, now);
  const id = s.runId ?? '(unknown run)';
  const how = s.done
    ? `finished in ${formatDuration(s.done.ms)}: exit ${s.done.exitCode} (${exitCodeLabel(s.done.exitCode)})`
    : `still going after ${formatDuration(p.elapsedMs)}`;
  const aborted = s.aborting ? `, aborted (${s.aborting.reason})` : '';
  return {
    title: `Run ${id} (${s.mode ?? 'apply'}) ${how}${aborted}`,
    counts: `${p.total} hosts: ${countsLine(s)}`,
    groups: outcomeGroups(s, fold),
    next: nextCommands(s),
  };
}

export function summaryLines(s: RunState, now: number, fold: HostFolder = foldHosts): string[] {
  const sum = runSummary(s, now, fold);
  const lines = [sum.title, sum.counts, 'Outcomes:', ...sum.groups.map((g) => `  ${formatGroup(g)}`)];
  if (sum.next.length) lines.push('Next:', ...sum.next.map((c) => `  ${c}`));
  return lines;
}
