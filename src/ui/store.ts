/**
 * Connects a RunHandle to the reducer without rendering per event: events are folded into one RunState as they
 * arrive (O(1) each), and the view polls `version` on a timer (throttle.ts), so a burst of 10,000 events costs
 * one render. The UI reads state only; it steers the run solely through `handle.send`. No React here, so the
 * CLI can subscribe before it loads the UI libraries.
 */
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

  /** Smoothed CPU cost of one frame, ms (see `frameRendered`). */
  frameCostMs = 0;

  /**
   * Fed by Ink's onRender hook with the time it spent generating the output. React's reconcile and Yoga's
   * layout cost about as much again (profiled at 1,000 hosts), hence the factor 2.
   */
  frameRendered(outputMs: number): void {
    const cost = Math.min(1000, 2 * outputMs);
    this.frameCostMs = this.frameCostMs === 0 ? cost : this.frameCostMs * 0.7 + cost * 0.3;
  }
}
