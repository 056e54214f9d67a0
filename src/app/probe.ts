/** Shared by inspect and ping: every selected host, connected read-only (and a service's snapshot taken). */
import { newRunId } from '../engine/run-id.js';
import { probeHosts, type ProbeResult } from '../engine/probe.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import type { AppContext } from './context.js';
import { usingEngineIO } from './run.js';
import { type TargetOptions, deadlinesOf, loadHosts } from './targets.js';

export type { ProbeResult };

export interface ProbeOptions extends ConfigOptions, TargetOptions {
  /** Called as each host answers (or does not). */
  onResult?: (r: ProbeResult) => void;
}

export async function probe(options: ProbeOptions, service: string | undefined, ctx: AppContext): Promise<ProbeResult[]> {
  const config = await loadAppConfig(options, ctx);
  const inv = await loadHosts(options, config, ctx);
  return usingEngineIO(ctx, config, inv.hosts, (io) =>
    probeHosts(inv.hosts, {
      io,
      concurrency: config.concurrency,
      runId: newRunId(),
      ...(service ? { service } : {}),
      deadlines: deadlinesOf(config),
      ...(options.onResult ? { onResult: options.onResult } : {}),
    }),
  );
}

/** Hosts that did not answer, or answered with an error. */
export function notOk(results: readonly ProbeResult[]): ProbeResult[] {
  return results.filter((r) => !r.reachable || r.error);
}
