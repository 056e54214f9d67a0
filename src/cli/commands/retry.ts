/** `svcfleet retry`: run an apply run again on its hosts that did not make it, in the same run. */
import type { Command } from 'commander';
import { retry } from '../../app/continue.js';
import type { CliContext } from '../context.js';
import { addTargetOptions, continueOptions, type RunFlags } from '../flags.js';

export function registerRetry(program: Command, cli: CliContext): void {
  addTargetOptions(
    program
      .command('retry')
      .description('Run an apply run again on its hosts that ended failed, rolled-back, unreachable or unknown.')
      .argument('<run>', 'run id')
      .option('--failed', 'the hosts that did not make it (the default and only selection; kept for readability)')
      .option('--spec <file>', 'the change spec, if it moved since the run')
      .option('--hosts <pattern>', 'only these hosts among them'),
    { run: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  svcfleet retry 20260125T140312Z-3fa9 --failed
  svcfleet retry 20260125T140312Z-3fa9 --failed --hosts 'web1*' --concurrency 5`,
    )
    .action(async (run: string, f: RunFlags) => {
      cli.setExit((await retry(continueOptions(run, f), cli.app)).exitCode);
    });
}
