/**
 * Ctrl-C / SIGTERM / SIGHUP for a run, in every view: the first stops scheduling (no new host starts; hosts that
 * have not sent a change stop before sending one) and lets hosts that did finish; the second cancels them (their
 * AbortSignals fire; they are restored from their before-snapshots); a third exits at once (the journal keeps
 * what is known; `svcfleet show/rollback/resume RUN` take it from there).
 *
 * SIGTERM (a service manager, `timeout`, a CI job being stopped) and SIGHUP (the terminal or SSH session went
 * away) mean "stop" just as Ctrl-C does: before, they killed the process mid-apply with hosts left unrecorded.
 */
import type { RunHandle } from './events.js';

export interface SignalOptions {
  /** Where to say what happens next (default stderr; the dashboard shows the abort itself). */
  say?: (line: string) => void;
  /** Called on the third signal (default: exit 130). */
  hardExit?: () => void;
  signals?: readonly NodeJS.Signals[];
}

/** The signals that stop a run like Ctrl-C does. */
export const RUN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function installRunSignals(handle: RunHandle, opts: SignalOptions = {}): () => void {
  const say = opts.say ?? ((l: string) => process.stderr.write(`${l}\n`));
  const hardExit = opts.hardExit ?? (() => process.exit(130));
  const signals = opts.signals ?? RUN_SIGNALS;
  let count = 0;
  let finished = false;
  void handle.done.then(
    () => (finished = true),
    () => (finished = true),
  );
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    // The run is over and journaled; only a view is left (the dashboard's summary waiting for `q`, and the
    // terminal may be gone): leave now rather than wait for a key nobody can press.
    if (finished) {
      hardExit();
      return;
    }
    if (count === 1) {
      say(`svcfleet: ${sig}: no new host starts; in-flight hosts finish. Send it again to cancel them (they are restored).`);
      handle.send({ type: 'abort', inFlight: 'finish', reason: 'signal' });
    } else if (count === 2) {
      say(`svcfleet: ${sig} again: cancelling in-flight hosts and restoring them. Once more exits at once.`);
      handle.send({ type: 'abort', inFlight: 'cancel', reason: 'signal' });
    } else {
      say(`svcfleet: exiting now; see \`svcfleet show ${handle.runId}\`.`);
      hardExit();
    }
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
