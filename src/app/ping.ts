/** ping: connect to every host (and with `service`, take its snapshot). Changes nothing. */
import { ExitCode } from '../engine/events.js';
import type { AppContext } from './context.js';
import { notOk, probe, type ProbeOptions, type ProbeResult } from './probe.js';

export interface PingOptions extends ProbeOptions {
  service?: string;
}

export interface PingResult {
  results: ProbeResult[];
  /** The hosts that did not answer (or answered with an error). */
  failed: ProbeResult[];
  exitCode: number;
}

export async function ping(options: PingOptions, ctx: AppContext): Promise<PingResult> {
  const results = await probe(options, options.service, ctx);
  const failed = notOk(results);
  return { results, failed, exitCode: failed.length ? ExitCode.hostsFailed : ExitCode.ok };
}
