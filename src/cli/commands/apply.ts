/** `svcfleet apply`: a change spec or a saved plan across the fleet, with canaries, batches and a failure budget. */
import type { Command } from 'commander';
import { apply } from '../../app/apply.js';
import { InputError } from '../../util/errors.js';
import type { CliContext } from '../context.js';
import { addTargetOptions, type RunFlags, runOptions } from '../flags.js';

export function registerApply(program: Command, cli: CliContext): void {
  addTargetOptions(
    program
      .command('apply')
      .description('Apply a change spec (or a saved plan, with its drift guard) across the fleet, with canaries, batches and a failure budget.')
      .argument('[spec-or-plan]', 'change spec, or a plan saved by `svcfleet plan -o`')
      .option('--spec <file>', 'change spec (instead of the argument)')
      .option('--expect-digest <digest>', 'with a plan: refuse unless its digest is this (the 12 hex digits `svcfleet plan -o` printed, or all 64)'),
    { run: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  svcfleet apply fix.yaml -i inventory/prod.ini --canary 1 --batches 5,25%,100% --max-failures 2
  svcfleet apply plan.json --expect-digest 3f1c0a9b2e7d   # exactly the reviewed plan; hosts changed since are left 'drifted'
  svcfleet apply fix.yaml -i prod.ini --limit web --canary web01 --deadline 10m --output ndjson --junit report.xml
A plan is applied only if its spec and inventory still give exactly its requests and hosts (docs/cli.md).
Ctrl-C once: no new host starts, in-flight hosts finish. Twice: in-flight hosts are cancelled and restored.
Exit codes: 0 ok/unchanged, 1 input error (nothing contacted), 2 some hosts failed or rolled back, 3 aborted, 4 a rollback failed.`,
    )
    .action(async (arg: string | undefined, f: RunFlags) => {
      const input = arg ?? f.spec;
      if (!input) throw new InputError('nothing to apply: svcfleet apply SPEC|PLAN.json -i INVENTORY', { field: 'SPEC' });
      const result = await apply({ ...runOptions(f), input, ...(f.expectDigest !== undefined ? { expectDigest: f.expectDigest } : {}) }, cli.app);
      cli.setExit(result.exitCode);
    });
}
