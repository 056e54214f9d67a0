/**
 * When the dashboard redraws. Ink redraws the whole screen every frame (a cell grid of columns x rows), so a full
 * 160x50 frame of a 1,000-host run costs 10-20 ms of CPU once warm (20-35 ms in a process's first frames) whatever
 * changed. Two limits keep that small next to the controller's own work:
 *  - at most `fps` data-driven frames a second (default 10), and only when the state changed, or once a second
 *    while the run is going so elapsed times and the ETA move;
 *  - a duty cycle: the gap between data-driven frames is at least the measured frame cost / `cpuShare`
 *    (default 1% of one core), so a big terminal redraws less often than a small one (a 160x50 frame of a
 *    1,000-host run: a frame every 2 s; 80x24: a few a second).
 * Key presses are not throttled here: they re-render at once (Ink still caps output at `fps`).
 */
import { useEffect, useRef, useState } from 'react';
import type { RunStore } from './store.js';

export interface ThrottleOptions {
  fps: number;
  cpuShare: number;
  clock: () => number;
}

/**
 * The duty cycle never stretches the gap past this: on a loaded controller a slow frame (a first frame that warms
 * up the layout engine can take a second) would otherwise freeze the screen for minutes, and a run that looks
 * hung is the complaint users have of today's tools.
 */
export const MAX_FRAME_GAP_MS = 2000;

export function minFrameGapMs(fps: number, frameCostMs: number, cpuShare: number): number {
  return Math.min(MAX_FRAME_GAP_MS, Math.max(1000 / fps, cpuShare > 0 ? frameCostMs / cpuShare : 0));
}

/** Re-renders the calling component on the schedule above. The view reads the clock itself when it renders. */
export function useThrottledRun(store: RunStore, { fps, cpuShare, clock }: ThrottleOptions): void {
  const [, setTick] = useState(0);
  const rendered = useRef(store.state.version);
  rendered.current = store.state.version;
  useEffect(() => {
    let lastTick = clock();
    // The frame this effect follows has just been drawn: the gap counts from it (from 0, the first timed frame
    // of a run came as soon as the process was 2 s old, often well under 2 s after the first).
    let lastFrameAt = performance.now();
    const timer = setInterval(
      () => {
        const now = clock();
        // Compared with what the last render showed, so events that arrive before this effect runs count too.
        const changed = store.state.version !== rendered.current;
        const secondPassed = !store.state.done && now - lastTick >= 1000;
        if (!changed && !secondPassed) return;
        const at = performance.now();
        if (!store.state.done && at - lastFrameAt < minFrameGapMs(fps, store.frameCostMs, cpuShare)) return;
        lastTick = now;
        lastFrameAt = at;
        setTick((t) => t + 1);
      },
      Math.max(16, Math.round(1000 / fps)),
    );
    return () => clearInterval(timer);
  }, [store, fps, cpuShare, clock]);
}
