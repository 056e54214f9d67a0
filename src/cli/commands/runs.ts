/** `svcfleet runs`: the runs in the journal, newest first. */
import { type Command, Option } from 'commander';
import { listRuns } from '../../app/runs.js';
import { formatRuns } from '../../report/show.js';
import { type CliContext, printer } from '../context.js';
import { configOptions, type RunFlags } from '../flags.js';

export function registerRuns(program: Command, cli: CliContext): void {
  program
    .command('runs')
    .description('List the runs in the journal, newest first.')
    .option('--journal <dir>', 'journal directory')
    .option('--config <file>', 'config file')
    .addOption(new Option('--output <format>', 'plain or json').choices(['plain', 'json']))
    .addHelpText(
      'after',
      `
Examples:
  svcfleet runs
  svcfleet runs --output json | jq -r '.[] | select(.interrupted) | .runId'`,
    )
    .action(async (f: RunFlags) => {
      const runs = await listRuns(configOptions(f), cli.app);
      const { out } = printer(cli);
      if (f.output === 'json') out(JSON.stringify(runs, null, 2));
      else for (const l of formatRuns(runs)) out(l);
    });
}
