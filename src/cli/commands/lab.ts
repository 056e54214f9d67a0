/** `svcfleet lab ...`: emulated Windows hosts on this machine, for tests and the demo. */
import type { Command } from 'commander';
import type { SetExit } from './index.js';

export function registerLab(program: Command, _setExit: SetExit): void {
  program
    .command('lab')
    .description('Emulated Windows hosts on this machine (tests, demo); never sent to a real host.');
}
