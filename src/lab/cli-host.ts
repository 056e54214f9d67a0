/** `svcfleet lab host init` and `svcfleet lab invoke` (owned by the remote-engine work). */
import type { Command } from 'commander';
import type { SetExit } from '../cli/commands/index.js';

export function registerLabHostCommands(_lab: Command, _setExit: SetExit): void {}
