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
      .option('--spec <file>', "apply this spec instead of the run's journaled change (said on stderr)")
      .option('--hosts <pattern>', 'only these hosts among them'),
    { run: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  svcfleet retry 20260125T140312Z-3fa9 --failed
  svcfleet retry 20260125T140312Z-3fa9 --failed --hosts 'web1*' --concurrency 5
The run's journaled change and rollout flags are used, not the spec on disk or today's config; flags given here
override them (each is reported). Hosts a later \`svcfleet rollback RUN\` took back are never retried.`,
    )
    .action(async (run: string, f: RunFlags) => {
      cli.setExit((await retry(continueOptions(run, f), cli.app)).exitCode);
    });
}
