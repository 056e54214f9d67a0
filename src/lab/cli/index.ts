/**
 * The lab's commands: `svcfleet lab ...` (emulated Windows hosts on this machine, for tests and the demo) and
 * `svcfleet demo`. src/main.ts loads this module with a dynamic import only when one of them is asked for, so
 * no other command loads lab code.
 */
import type { Command } from 'commander';
import type { CliContext } from '../../cli/context.js';
import { LAB_DESCRIPTION } from '../../cli/lab-stubs.js';
import { registerLabHostCommands } from './host.js';
import { registerLabInvokeCommand } from './invoke.js';
import { registerLabFleetCommands } from './fleet.js';
import { registerDemo } from './demo.js';

export function registerLabCommands(program: Command, cli: CliContext): void {
  registerDemo(program, cli);
  const lab = program
    .command('lab')
    .description(LAB_DESCRIPTION)
    .addHelpText(
      'after',
      `
Examples:
  svcfleet lab up --hosts 10 --inventory lab.yml --detach    # 10 hosts behind real sshd / lab WinRM on loopback
  svcfleet plan fix.yaml -i lab.yml
  svcfleet lab down --inventory lab.yml
  svcfleet lab host init --state /tmp/lab/web01 --service AppSvc --port 18001`,
    );
  registerLabHostCommands(lab, cli.setExit); // lab host init
  registerLabInvokeCommand(lab, cli.setExit); // lab invoke
  registerLabFleetCommands(lab, cli.setExit); // lab up, lab down
}
