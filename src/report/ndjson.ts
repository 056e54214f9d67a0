/**
 * `--output ndjson`: every FleetEvent as one JSON object per line, exactly as src/engine/events.ts defines it
 * (documented in docs/events.md). Every host's terminal event is a `host-done`; the last line is `run-done`.
 * Writes are buffered per tick so a 1,000-host run does not issue tens of thousands of write calls.
 */
import type { FleetEvent, RunHandle } from '../engine/events.js';

export interface LineWriter {
  write(chunk: string): unknown;
}

export function ndjsonLine(event: FleetEvent): string {
  return `${JSON.stringify(event)}\n`;
}

export function attachNdjson(handle: RunHandle, out: LineWriter): () => void {
  let buf = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (buf) {
      const chunk = buf;
      buf = '';
      out.write(chunk);
    }
  };
  const off = handle.subscribe((event) => {
    buf += ndjsonLine(event);
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
