/**
 * What a finished host leaves behind in the controller's memory. At 10,000 hosts a few KB per host are tens of
 * MB of live heap, and V8 lets the heap grow to a multiple of what is live before it collects: bench/fleet.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/engine/run.js';
import type { EngineIO } from '../../src/engine/types.js';
import { CHANGE, FakeFleet } from './fake-fleet.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
}

describe('engine: memory of finished hosts', () => {
  it("a host's abort signals are collectable once it is done, even when its transport left a listener on them", async () => {
    const fleet = new FakeFleet(['web01', 'web02']);
    const seen: WeakRef<AbortSignal>[] = [];
    // A transport that forgets to remove its abort listener (a third-party one, or an error path of ours): the
    // host's signals must still die with the host, not stay pinned for the life of the process.
    const io: EngineIO = {
      openSession: (host, options) => {
        if (options.signal) {
          seen.push(new WeakRef(options.signal));
          options.signal.addEventListener('abort', () => undefined, { once: true });
        }
        return fleet.io.openSession(host, options);
      },
      runRemote: (session, request, options) => {
        if (options.signal) {
          seen.push(new WeakRef(options.signal));
          options.signal.addEventListener('abort', () => undefined, { once: true });
        }
        return fleet.io.runRemote(session, request, options);
      },
    };
    const handle = startRun({
      mode: 'apply',
      tasks: ['web01', 'web02'].map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })),
      io,
      snapshots: { saveSnapshots: async () => undefined },
    });
    const done = await handle.done;
    expect(done.counts).toEqual({ changed: 2 });
    expect(seen.length).toBeGreaterThanOrEqual(6); // open, plan and apply of each host
    await collect();
    expect(seen.filter((w) => w.deref() !== undefined)).toHaveLength(0);
  });
});
