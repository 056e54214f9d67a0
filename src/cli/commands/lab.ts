/** `svcfleet lab ...`: emulated Windows hosts on this machine, for tests and the demo. */
import type { Command } from 'commander';
import type { SetExit } from './index.js';
import { registerLabHostCommands } from '../../lab/cli-host.js';
import { registerLabInvokeCommand } from '../../lab/cli-invoke.js';
import { registerLabFleetCommands } from '../../lab/cli-fleet.js';

export function registerLab(program: Command, setExit: SetExit): void {
  const lab = program
    .command('lab')
    .description('Emulated Windows hosts on this machine (tests, demo); never sent to a real host.');
  registerLabHostCommands(lab, setExit); // lab host init
  registerLabInvokeCommand(lab, setExit); // lab invoke
  registerLabFleetCommands(lab, setExit); // lab up, lab down
}
