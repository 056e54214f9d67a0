/**
 * Attaches a run's outputs: the live view on stdout (plain lines, NDJSON, or the dashboard) and the JUnit file.
 * Subscribe before the run starts (startRun defers its first event to the next turn).
 */
import type { RunDoneEvent, RunHandle } from '../engine/events.js';
import { foldHosts } from '../util/hostrange.js';
import { writeJunitFile } from './junit.js';
import { attachNdjson, type LineWriter } from './ndjson.js';
import { attachPlain } from './plain.js';
import { applyEvent, createRunState, REPORT_LIMITS, type RunState } from '../state/run-state.js';
import { finalSummary } from './summary.js';
import { subscribeDeferred } from './deferred.js';

export type LiveView = 'plain' | 'ndjson' | 'dashboard';

export interface OutputOptions {
  view: LiveView;
  stdout: LineWriter;
  stderr: LineWriter;
  junitFile?: string;
  /** The dashboard entry (ui/index.ts runDashboard), bound by the caller; required for view 'dashboard'. */
  dashboard?: (handle: RunHandle) => Promise<unknown>;
  progressEveryMs?: number;
}

export interface AttachedOutputs {
  readonly state: RunState;
  /** After run-done: wait for the view to finish (dashboard) and write the JUnit file. */
  finish(done: RunDoneEvent): Promise<void>;
}

export function attachOutputs(handle: RunHandle, opts: OutputOptions): AttachedOutputs {
  let state: RunState;
  let view: Promise<unknown> = Promise.resolve();
  const detach: (() => void)[] = [];
  if (opts.view === 'plain') {
    const plain = attachPlain(handle, { out: opts.stdout, ...(opts.progressEveryMs !== undefined ? { progressEveryMs: opts.progressEveryMs } : {}) });
    state = plain.state;
    detach.push(() => plain.detach());
  } else {
    state = createRunState(REPORT_LIMITS);
    const reduce = state;
    detach.push(
      subscribeDeferred(handle, (events) => {
        for (const e of events) applyEvent(reduce, e);
      }),
    );
    if (opts.view === 'ndjson') detach.push(attachNdjson(handle, opts.stdout));
    else {
      if (!opts.dashboard) throw new Error('dashboard view without a dashboard entry');
      view = opts.dashboard(handle);
    }
  }
  return {
    state,
    async finish() {
      await view;
      for (const d of detach) d();
      // With NDJSON on stdout, people still want the summary: it goes to stderr.
      if (opts.view === 'ndjson') for (const l of finalSummary(state, Date.now(), foldHosts)) opts.stderr.write(`${l}\n`);
      if (opts.junitFile) await writeJunitFile(opts.junitFile, state);
    },
  };
}
