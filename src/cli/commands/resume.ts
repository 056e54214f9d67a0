/** `svcfleet resume`: finish an interrupted apply run, in the same run. */
import type { Command } from 'commander';
import { resume } from '../../app/continue.js';
import type { CliContext } from '../context.js';
import { addTargetOptions, continueOptions, type RunFlags } from '../flags.js';

export function registerResume(program: Command, cli: CliContext): void {
  addTargetOptions(
    program
      .command('resume')
      .description('Finish an interrupted apply run: hosts without an outcome, hosts left unknown, and hosts a Ctrl-C or abort left skipped.')
      .argument('<run>', 'run id')
      .option('--spec <file>', "apply this spec instead of the run's journaled change (said on stderr)")
      .option('--hosts <pattern>', 'only these hosts of the run'),
    { run: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  svcfleet resume 20260125T140312Z-3fa9
  svcfleet resume 20260125T140312Z-3fa9 --hosts 'web1*'    # also hosts a budget/canary stop left skipped
Hosts skipped because the failure budget was exceeded or a canary failed are resumed only when --hosts names them.
The run's journaled change and rollout flags (-c, --max-failures, --batches, --canary, --retries, --deadline ...)
are used, not the spec on disk or today's config; flags given here override them (each is reported). Hosts a later
\`svcfleet rollback RUN\` took back are never resumed.
The run keeps its id: \`svcfleet show RUN\` and \`svcfleet rollback RUN\` cover every host, whichever session changed it.`,
    )
    .action(async (run: string, f: RunFlags) => {
      cli.setExit((await resume(continueOptions(run, f), cli.app)).exitCode);
    });
}
