/**
 * Connects a RunHandle to the reducer and to React without rendering per event: events are folded into one
 * RunState as they arrive (O(1) each), and the view polls `version` on a timer, so a burst of 10,000 events
 * costs one render. The UI reads state only; it steers the run solely through `handle.send`.
 */
import { useEffect, useRef, useState } from 'react';
import type { EngineCommand, FleetEvent, RunHandle } from '../engine/events.js';
import { applyEvent, createRunState, type RunLimits, type RunState } from '../report/run-state.js';

export class RunStore {
  readonly state: RunState;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly handle: RunHandle,
    limits?: Partial<RunLimits>,
  ) {
    this.state = createRunState(limits);
    // Subscribe synchronously, before the caller yields, so no early event is missed.
    this.unsubscribe = handle.subscribe((e: FleetEvent) => {
      applyEvent(this.state, e);
    });
  }

  send(command: EngineCommand): void {
    this.handle.send(command);
  }

  close(): void {
    this.unsubscribe();
  }
}

/**
 * Re-render at most `fps` times a second, and only when the state changed or (while the run is going) once a
 * second so elapsed times and the ETA keep moving. The view reads the clock itself when it renders, so every
 * frame's derived figures (elapsed, rate, ETA) match the state it shows.
 */
export function useThrottledRun(store: RunStore, fps: number, clock: () => number): void {
  const [, setVersion] = useState(store.state.version);
  const rendered = useRef(store.state.version);
  rendered.current = store.state.version;
  useEffect(() => {
    let lastTick = clock();
    const timer = setInterval(
      () => {
        const now = clock();
        // Compared with what the last render showed, so events that arrive before this effect runs count too.
        const changed = store.state.version !== rendered.current;
        const secondPassed = !store.state.done && now - lastTick >= 1000;
        if (!changed && !secondPassed) return;
        lastTick = now;
        setVersion(store.state.version + (secondPassed && !changed ? now : 0));
      },
      Math.max(16, Math.round(1000 / fps)),
    );
    return () => clearInterval(timer);
  }, [store, fps, clock]);
}
