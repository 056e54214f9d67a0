/** `svcfleet rollback`: restore the hosts of an apply run to their journaled before-snapshots. */
import type { Command } from 'commander';
import { rollback } from '../../app/rollback.js';
import type { CliContext } from '../context.js';
import { addTargetOptions, type RunFlags, runOptions } from '../flags.js';

export function registerRollback(program: Command, cli: CliContext): void {
  addTargetOptions(
    program
      .command('rollback')
      .description('Restore the hosts of an apply run to their journaled before-snapshots (or their own backup of that run).')
      .argument('<run>', 'run id (see `svcfleet runs`)')
      .option('--hosts <pattern>', "only these hosts of the run (Ansible pattern over the run's hosts and groups)"),
  )
    .addHelpText(
      'after',
      `
Examples:
  svcfleet rollback 20260125T140312Z-3fa9
  svcfleet rollback 20260125T140312Z-3fa9 --hosts 'web0[1-5]'
Without --hosts, every host with a journaled before-snapshot is restored (a host already at it stays unchanged).
With --hosts, a selected host without a journaled snapshot is restored from its own backup of that run.
The rollback runs with the run's journaled concurrency, retries and deadlines unless given here.`,
    )
    .action(async (run: string, f: RunFlags) => {
      const result = await rollback({ ...runOptions(f), run, ...(f.hosts !== undefined ? { hosts: f.hosts } : {}) }, cli.app);
      cli.setExit(result.exitCode);
    });
}
