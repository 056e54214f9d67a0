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
      .option('--spec <file>', 'the change spec, if it moved since the run')
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
The run keeps its id: \`svcfleet show RUN\` and \`svcfleet rollback RUN\` cover every host, whichever session changed it.`,
    )
    .action(async (run: string, f: RunFlags) => {
      cli.setExit((await resume(continueOptions(run, f), cli.app)).exitCode);
    });
}
