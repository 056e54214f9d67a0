/**
 * Connects a RunHandle to the reducer without rendering per event: events are folded into one RunState as they
 * arrive (O(1) each), and the view polls `version` on a timer (throttle.ts), so a burst of 10,000 events costs
 * one render. The UI reads state only; it steers the run solely through `handle.send`. No React here, so the
 * CLI can subscribe before it loads the UI libraries.
 */
import type { EngineCommand, FleetEvent, RunHandle } from '../engine/events.js';
import { applyEvent, createRunState, type RunLimits, type RunState } from '../state/run-state.js';

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

  /** Smoothed CPU cost of one frame, ms: React render + commit + Yoga layout + Ink's output. */
  frameCostMs = 0;
  private frameCpu: NodeJS.CpuUsage | undefined;

  /** The view calls this when it starts rendering a frame. */
  frameStarted(): void {
    this.frameCpu ??= process.cpuUsage();
  }

  /**
   * Ink's onRender hook calls this once the frame's output is generated. Measured as process CPU, not wall
   * time, so waiting in between does not count (other work in between would, which errs on the safe side).
   */
  frameRendered(): void {
    if (this.frameCpu === undefined) return;
    const d = process.cpuUsage(this.frameCpu);
    this.frameCpu = undefined;
    const cost = Math.min(1000, (d.user + d.system) / 1000);
    this.frameCostMs = this.frameCostMs === 0 ? cost : this.frameCostMs * 0.7 + cost * 0.3;
  }
}
