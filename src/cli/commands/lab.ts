/** `svcfleet lab ...`: emulated Windows hosts on this machine, for tests and the demo. */
import type { Command } from 'commander';
import type { SetExit } from './index.js';
import { registerLabHostCommands } from '../../lab/cli/host.js';
import { registerLabInvokeCommand } from '../../lab/cli/invoke.js';
import { registerLabFleetCommands } from '../../lab/cli/fleet.js';

export function registerLab(program: Command, setExit: SetExit): void {
  const lab = program
    .command('lab')
    .description('Emulated Windows hosts on this machine (tests, demo); never sent to a real host.')
    .addHelpText(
      'after',
      `
Examples:
  svcfleet lab up --hosts 10 --inventory lab.yml --detach    # 10 hosts behind real sshd / lab WinRM on loopback
  svcfleet plan fix.yaml -i lab.yml
  svcfleet lab down --inventory lab.yml
  svcfleet lab host init --state /tmp/lab/web01 --service AppSvc --port 18001`,
    );
  registerLabHostCommands(lab, setExit); // lab host init
  registerLabInvokeCommand(lab, setExit); // lab invoke
  registerLabFleetCommands(lab, setExit); // lab up, lab down
}
