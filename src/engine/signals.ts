/**
 * Ctrl-C / SIGTERM for a run: the first stops scheduling and lets in-flight hosts finish; the second cancels
 * them (their AbortSignals fire; they are restored from their before-snapshots); a third exits at once (the
 * journal keeps what is known; `svcfleet show/rollback/resume RUN` take it from there).
 */
import type { RunHandle } from './events.js';

export interface SignalOptions {
  /** Where to say what happens next (default stderr). */
  say?: (line: string) => void;
  /** Called on the third signal (default: exit 130). */
  hardExit?: () => void;
  signals?: readonly NodeJS.Signals[];
}

export function installRunSignals(handle: RunHandle, opts: SignalOptions = {}): () => void {
  const say = opts.say ?? ((l: string) => process.stderr.write(`${l}\n`));
  const hardExit = opts.hardExit ?? (() => process.exit(130));
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
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
