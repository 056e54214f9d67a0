/**
 * The JSON text of an event, computed at most once: the journal and the NDJSON output both write every event,
 * and at 10,000 hosts (~130,000 events) a second JSON.stringify of each was ~3% of the controller's CPU
 * (bench/fleet). Events are never changed after the bus has sent them (bus.ts), so the text stays true.
 */
import type { FleetEvent } from './events.js';

const texts = new WeakMap<FleetEvent, string>();

export function eventJson(event: FleetEvent): string {
  let text = texts.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    texts.set(event, text);
  }
  return text;
}
