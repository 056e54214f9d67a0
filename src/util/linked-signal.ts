/**
 * One AbortSignal that fires when any of several does, and can be unlinked once it is no longer needed.
 *
 * Why not `AbortSignal.any`: Node keeps a composite signal strongly reachable for as long as it has an `abort`
 * listener and has not fired (so that a listener is never lost to GC), and a listener someone forgot to remove
 * is never removed. One such signal per host pinned each host's signal, listeners and whatever their closures
 * held for the life of the process (~2 KB per host at 10,000 hosts; bench/README.md). A plain AbortController
 * linked by listeners we remove ourselves dies with its last reference.
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Remove the links from the sources (idempotent). The signal stays as it is (fired or not). */
  dispose(): void;
}

export function linkSignals(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const fired = sources.find((s) => s.aborted);
  if (fired) {
    controller.abort(fired.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const links = sources.map((source) => {
    const onAbort = (): void => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    return { source, onAbort };
  });
  const dispose = (): void => {
    for (const { source, onAbort } of links.splice(0)) source.removeEventListener('abort', onAbort);
  };
  return { signal: controller.signal, dispose };
}
