/** The result of one selftest run: what the CLI prints and --junit writes. */
import type { SelftestCase } from './scenarios.js';

/** The name of the last testcase: the host's services and svcfleet files are as before the run. */
export const HOST_AS_FOUND = 'host left as found';

export interface SelftestReport {
  host: string;
  service: string;
  program?: string;
  cases: SelftestCase[];
  /** Every case passed or was not run, and the host is as it was. */
  ok: boolean;
}
