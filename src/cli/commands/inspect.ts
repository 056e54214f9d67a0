/** `svcfleet inspect`: read-only drift report of one service across the fleet. */
import type { Command } from 'commander';
import { inspect } from '../../app/inspect.js';
import { formatInspect } from '../../report/inspect.js';
import { type CliContext, printer } from '../context.js';
import { addTargetOptions, configOptions, jsonOutput, type RunFlags, targetOptions } from '../flags.js';

export function registerInspect(program: Command, cli: CliContext): void {
  const cmd = addTargetOptions(
    program
      .command('inspect')
      .description('Read-only drift report: one service across the fleet, grouped by identical configuration, outliers first.')
      .argument('<service>', 'service name'),
    { journal: false, live: false },
  );
  jsonOutput(
    cmd,
    `  svcfleet inspect MyGoService -i inventory/prod.ini
  svcfleet inspect MyGoService -i inventory/prod.ini --limit web --output json`,
  ).action(async (service: string, f: RunFlags) => {
    const result = await inspect({ ...configOptions(f), ...targetOptions(f), service }, cli.app);
    const { out } = printer(cli);
    if (f.output === 'json') out(JSON.stringify(result.report, null, 2));
    else for (const l of formatInspect(result.report)) out(l);
    cli.setExit(result.exitCode);
  });
}
