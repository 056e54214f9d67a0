/**
 * Plain progress lines for non-TTY output (CI logs, pipes): one line per host outcome, batch, budget or
 * abort, a progress line now and then, and the final summary. Facts come from the shared RunState
 * (src/state/run-state.ts, src/report/run-text.ts), so they match the dashboard and the NDJSON stream.
 */
import type { FleetEvent, RunHandle } from '../engine/events.js';
import { applyEvent, createRunState, REPORT_LIMITS, type RunState } from '../state/run-state.js';
import { outcomeLabel, type HostFolder } from '../state/queries.js';
import { formatDuration, progressLine } from './run-text.js';
import { foldHosts } from '../util/hostrange.js';
import { finalSummary } from './summary.js';
import type { LineWriter } from './ndjson.js';
import { subscribeDeferred } from './deferred.js';

export interface PlainOptions {
  out: LineWriter;
  fold?: HostFolder;
  /** A progress line at most this often while hosts are running (default 15 s; 0 = never). */
  progressEveryMs?: number;
  clock?: () => number;
  /** Also print info-level host logs (default: warnings and errors only). */
  verbose?: boolean;
}

export interface PlainReporter {
  readonly state: RunState;
  detach(): void;
}

export function attachPlain(handle: RunHandle, opts: PlainOptions): PlainReporter {
  const state = createRunState(REPORT_LIMITS);
  const fold = opts.fold ?? foldHosts;
  const clock = opts.clock ?? Date.now;
  const every = opts.progressEveryMs ?? 15_000;
  let lastProgress = clock();
  const write = (line: string): void => {
    opts.out.write(`${line}\n`);
  };
  const off = subscribeDeferred(handle, (events) => {
    let hostDone = false;
    for (const e of events) {
      applyEvent(state, e);
      const line = formatEvent(e, state, fold, opts.verbose ?? false);
      if (line !== undefined) write(line);
      if (e.type === 'run-done') {
        for (const l of finalSummary(state, clock(), fold)) write(l);
        return;
      }
      hostDone ||= e.type === 'host-done';
    }
    // Once per batch of events, after all of them: the line tells the state as it is now.
    const now = clock();
    if (every > 0 && hostDone && now - lastProgress >= every) {
      lastProgress = now;
      write(progressLine(state, now));
    }
  });
  return { state, detach: off };
}

function formatEvent(e: FleetEvent, s: RunState, fold: HostFolder, verbose: boolean): string | undefined {
  switch (e.type) {
    case 'run-start': {
      const st = e.strategy;
      const parts = [`concurrency ${st.concurrency}`];
      if (st.canaryDefault) parts.push(`canary: ${fold(st.canary)} (default; --no-canary to skip)`);
      else if (st.canary.length) parts.push(`canary ${fold(st.canary)}`);
      if (st.batches.length > 1 || (st.batches[0] ?? 0) < e.hosts.length - st.canary.length) parts.push(`batches ${st.batches.join(',')}`);
      if (e.mode === 'apply') parts.push(`failure budget ${st.failureBudget}`);
      return `svcfleet ${e.mode} ${e.runId}: ${e.hosts.length} host${e.hosts.length === 1 ? '' : 's'}, service${e.services.length === 1 ? '' : 's'} ${e.services.join(', ') || '-'} (${parts.join(', ')})`;
    }
    case 'batch-start':
      return `${e.canary ? 'canary batch' : `batch ${e.index + 1}/${e.total}`}: ${fold(e.hosts)} (${e.hosts.length} host${e.hosts.length === 1 ? '' : 's'})`;
    case 'host-done': {
      const total = s.hostOrder.length;
      const width = String(total).length;
      const ms = e.timings.ms ? ` ${formatDuration(e.timings.ms)}` : '';
      const code =
        e.reason.code && !['ok', 'no-change', 'would-change'].includes(e.reason.code)
          ? ` [${e.reason.code}${e.reason.win32 !== undefined ? ` win32 ${e.reason.win32}` : ''}]`
          : '';
      return `[${String(s.finished).padStart(width)}/${total}] ${e.host} ${outcomeLabel(e.outcome, s.mode)}${ms}: ${e.message}${code}`;
    }
    case 'host-log':
      if (e.level === 'warn' || e.level === 'error' || verbose) return `  ${e.host} ${e.level}: ${e.text}`;
      return undefined;
    case 'budget':
      return e.exceeded ? `failure budget exceeded: ${e.used} counted failures > ${e.limit}` : undefined;
    case 'run-abort': {
      const why = {
        user: 'asked by the user',
        signal: 'interrupted',
        budget: 'failure budget exceeded',
        canary: 'a canary host failed',
        journal: 'the journal cannot be written',
      }[e.reason];
      const next = e.inFlight === 'finish' ? 'no new host starts; in-flight hosts finish' : 'in-flight hosts are cancelled and restored';
      return `aborting (${why}): ${next}`;
    }
    case 'run-paused':
      return `paused (${e.reason}${e.host ? `: ${e.host}` : ''})`;
    case 'run-resumed':
      return 'resumed';
    default:
      return undefined;
  }
}
