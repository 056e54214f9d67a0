/** `svcfleet plan`: connect read-only and show what would change on each host, grouped by identical change. */
import type { Command } from 'commander';
import { plan } from '../../app/plan.js';
import { shortDigest } from '../../plan/digest.js';
import { formatPlanSummary } from '../../plan/group.js';
import { InputError } from '../../util/errors.js';
import { type CliContext, printer } from '../context.js';
import { addTargetOptions, type RunFlags, runOptions } from '../flags.js';

export function registerPlan(program: Command, cli: CliContext): void {
  addTargetOptions(
    program
      .command('plan')
      .description('Connect read-only and show what would change on each host, grouped by identical change.')
      .argument('[spec]', 'change spec (YAML or JSON, docs/spec.md)')
      .option('--spec <file>', 'change spec (instead of the argument)')
      .option('-o <file>', 'save the plan, to apply exactly it later with `svcfleet apply FILE`'),
  )
    .addHelpText(
      'after',
      `
Examples:
  svcfleet plan fix.yaml -i inventory/prod.ini
  svcfleet plan fix.yaml -i inventory/prod.ini --limit 'web:!web03' -o plan.json
  svcfleet plan fix.yaml -i inventory/lab.yml --output ndjson | jq -c 'select(.type=="host-diff")'`,
    )
    .action(async (specArg: string | undefined, f: RunFlags) => {
      const spec = specArg ?? f.spec;
      if (!spec) throw new InputError('no change spec given: svcfleet plan SPEC -i INVENTORY', { field: 'SPEC' });
      const result = await plan({ ...runOptions(f), spec, ...(f.o !== undefined ? { out: f.o } : {}) }, cli.app);
      const { out, err } = printer(cli);
      const say = result.view === 'ndjson' ? err : out;
      if (result.view !== 'dashboard') {
        say('');
        say('Plan:');
        for (const l of formatPlanSummary(result.summary)) say(`  ${l}`);
      }
      if (result.planFile && result.planDigest) {
        const short = shortDigest(result.planDigest);
        say(
          `plan saved to ${result.planFile}, plan digest ${short}: apply it with \`svcfleet apply ${f.o}${f.inventory?.length ? '' : ' -i INVENTORY'} --expect-digest ${short}\``,
        );
      }
      cli.setExit(result.exitCode);
    });
}
