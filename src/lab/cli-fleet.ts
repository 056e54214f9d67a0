/** `svcfleet lab up` and `svcfleet lab down` (owned by the transports work). */
import type { Command } from 'commander';
import type { SetExit } from '../cli/commands/index.js';

export function registerLabFleetCommands(_lab: Command, _setExit: SetExit): void {}
