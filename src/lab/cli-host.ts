/** `svcfleet lab host init` (owned by the emulated-SCM work). */
import type { Command } from 'commander';
import type { SetExit } from '../cli/commands/index.js';

export function registerLabHostCommands(_lab: Command, _setExit: SetExit): void {}
