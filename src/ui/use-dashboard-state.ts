/**
 * Holds the dashboard's state (dashboard-state.ts) for the Dashboard component and wires the keys to it: Ink's
 * key → the key map (keys.ts) → the pure transition → engine commands through `store.send`, then the new state.
 */
import { useCallback, useRef, useState } from 'react';
import { useInput, type Key } from 'ink';
import { keyAction } from './keys.js';
import { INITIAL_DASHBOARD_STATE, reduceKey, runEnded, type DashboardState, type FrameContext } from './dashboard-state.js';
import type { RunStore } from './store.js';

export interface DashboardStateOptions {
  store: RunStore;
  /** Keys are read only when true (stdin is a TTY). */
  interactive: boolean;
  /** The run is done. */
  done: boolean;
  /** Leave right after the summary once the run is done, instead of showing it and waiting for `q`. */
  exitOnDone: boolean;
  clock: () => number;
  /** Leave the dashboard now (after abort and cancel, when in-flight hosts still do not end). */
  onHardExit?: (() => void) | undefined;
}

/** What the frame being drawn shows, for the keys that arrive before the next one. */
export type Frame = Omit<FrameContext, 'now'>;

export function useDashboardState(opts: DashboardStateOptions): [DashboardState, (frame: Frame) => void] {
  const [state, setState] = useState<DashboardState>(INITIAL_DASHBOARD_STATE);
  // The latest state, also between a key and the render it causes: keys that arrive together (a paste, a burst)
  // each see what the one before did.
  const latest = useRef(state);
  latest.current = state;
  const frame = useRef<Frame | undefined>(undefined);
  const optsRef = useRef(opts);
  optsRef.current = opts;

  // The run just ended: show the summary once (the user may then browse hosts), or leave if asked to. Set while
  // rendering (React re-runs the component at once, before committing), not in an effect: an effect would commit
  // and draw one more full frame of the table first, only for the summary to replace it.
  if (opts.done && !state.sawDone) {
    // A run stopped by a signal (SIGTERM, SIGHUP: the terminal may be gone) leaves too: nobody may be there to press q.
    const signalled = opts.store.state.aborting?.reason === 'signal';
    const next = runEnded(state, state.quitting || opts.exitOnDone || !opts.interactive || signalled);
    latest.current = next;
    setState(next);
  }

  // Ink re-attaches a changed handler in a passive effect, which can run after the next key arrives; a stable
  // handler that reads the refs sees every key with the frame the user last saw.
  const onKey = useCallback((input: string, key: Key) => {
    const f = frame.current;
    if (!f) return;
    const o = optsRef.current;
    const cur = latest.current;
    const action = keyAction(input, key, {
      final: cur.final,
      editing: cur.editing,
      dialog: f.askHost !== undefined || cur.dialog !== undefined,
      view: cur.view,
      done: f.done,
    });
    if (!action) return;
    const t = reduceKey(cur, action, { ...f, now: o.clock() });
    for (const s of t.sends) o.store.send(s.command);
    if (t.state !== cur) {
      latest.current = t.state;
      setState(t.state);
    }
    if (t.hardExit) o.onHardExit?.();
  }, []);
  useInput(onKey, { isActive: opts.interactive });

  const drawn = useCallback((f: Frame) => {
    frame.current = f;
  }, []);
  return [state, drawn];
}
