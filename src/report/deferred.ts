/**
 * A subscription that handles events after the engine's burst instead of inside it.
 *
 * Why: the bus calls every sink synchronously, inside the callback that produced the event, and at 1,000 hosts
 * in flight those callbacks come in bursts (a wave of hosts answering within the same millisecond). Work a sink
 * does there delays every host behind it in the burst; done on the event loop's check phase (setImmediate) it
 * runs while the hosts wait on the network (bench/README.md, "where the wall goes").
 *
 * Events arrive in order, in batches; `run-done` is handled at once with everything before it, so once the run's
 * `done` has resolved every sink has seen the whole run. Detaching hands over what is still waiting.
 */
import type { FleetEvent, RunHandle } from '../engine/events.js';

export function subscribeDeferred(handle: RunHandle, onEvents: (events: readonly FleetEvent[]) => void): () => void {
  let pending: FleetEvent[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (!pending.length) return;
    const events = pending;
    pending = [];
    onEvents(events);
  };
  const off = handle.subscribe((event) => {
    pending.push(event);
    if (event.type === 'run-done') flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
  return () => {
    off();
    flush();
  };
}
