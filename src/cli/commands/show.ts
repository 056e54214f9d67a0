/** `svcfleet show`: every host of a run — outcome, reason, per-service diff — or the run's events again. */
import { type Command, Option } from 'commander';
import { readRun } from '../../app/runs.js';
import { formatShow, showRun } from '../../report/show.js';
import { type CliContext, printer } from '../context.js';
import { configOptions, type RunFlags } from '../flags.js';

export function registerShow(program: Command, cli: CliContext): void {
  program
    .command('show')
    .description('Show every host of a run: outcome, reason and per-service diff (including hosts a crash left unfinished).')
    .argument('<run>', 'run id')
    .option('--journal <dir>', 'journal directory')
    .option('--config <file>', 'config file')
    .addOption(new Option('--output <format>', "plain, json, or ndjson (the run's events again)").choices(['plain', 'json', 'ndjson']))
    .addHelpText(
      'after',
      `
Examples:
  svcfleet show 20260125T140312Z-3fa9
  svcfleet show 20260125T140312Z-3fa9 --output json | jq '.hosts[] | select(.outcome != "changed")'`,
    )
    .action(async (run: string, f: RunFlags) => {
      const record = await readRun({ ...configOptions(f), run }, cli.app);
      const { out } = printer(cli);
      if (f.output === 'ndjson') {
        for (const e of record.events) out(JSON.stringify(e));
        return;
      }
      const shown = showRun(record);
      if (f.output === 'json') out(JSON.stringify(shown, null, 2));
      else for (const l of formatShow(shown)) out(l);
    });
}
