/**
 * `--output ndjson`: every FleetEvent as one JSON object per line, exactly as src/engine/events.ts defines it
 * (documented in docs/events.md). Every host's terminal event is a `host-done`; the last line is `run-done`.
 * Events are encoded and written in batches after the engine's bursts (deferred.ts), so a 1,000-host run does not
 * issue tens of thousands of write calls.
 */
import { eventJson } from '../engine/event-json.js';
import type { FleetEvent, RunHandle } from '../engine/events.js';
import { subscribeDeferred } from './deferred.js';

export interface LineWriter {
  write(chunk: string): unknown;
}

export function ndjsonLine(event: FleetEvent): string {
  return `${eventJson(event)}\n`;
}

export function attachNdjson(handle: RunHandle, out: LineWriter): () => void {
  return subscribeDeferred(handle, (events) => {
    let chunk = '';
    for (const e of events) chunk += ndjsonLine(e);
    out.write(chunk);
  });
}
