/**
 * The demo's lab runner: a warm pwsh pool (src/lab/runner) whose calls enter one event-loop turn apart.
 *
 * WORKAROUND, remove when fixed: LabPool.acquire() returns an idle worker without marking it reserved, and
 * run() marks it only after an `await`; calls that enter in the same turn (the engine starts a batch's hosts
 * together) all get the same worker, and all but the last never settle. Spacing the entries by one turn lets
 * each call reserve its worker before the next one looks. Reported to the lab work (pool.ts: set
 * `idle.reserved = true` before returning it).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLabRunner, type LabRunner } from '../runner/index.js';

export function createDemoRunner(workers: number): LabRunner {
  const pool = createLabRunner({ mode: 'pool', size: workers });
  let gate: Promise<unknown> = Promise.resolve();
  return {
    mode: pool.mode,
    run(stateDir, invocation, options) {
      const entered = gate.then(() => nextTurn());
      gate = entered;
      return entered.then(() => pool.run(stateDir, invocation, options));
    },
    warm: () => pool.warm(),
    close: () => pool.close(),
  };
}
