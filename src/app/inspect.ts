/** inspect: one service across the fleet, read-only, grouped by identical configuration (outliers first). */
import { ExitCode } from '../engine/events.js';
import { inspectReport, type InspectReport } from '../report/inspect.js';
import type { AppContext } from './context.js';
import { notOk, probe, type ProbeOptions, type ProbeResult } from './probe.js';

export interface InspectOptions extends ProbeOptions {
  service: string;
}

export interface InspectResult {
  report: InspectReport;
  results: ProbeResult[];
  /** 2 when a host did not answer or could not be read. */
  exitCode: number;
}

export async function inspect(options: InspectOptions, ctx: AppContext): Promise<InspectResult> {
  const results = await probe(options, options.service, ctx);
  return { report: inspectReport(options.service, results), results, exitCode: notOk(results).length ? ExitCode.hostsFailed : ExitCode.ok };
}
