/** `svcfleet lab invoke <snapshot|plan|apply|rollback>` (owned by the remote-engine work). */
import type { Command } from 'commander';
import type { SetExit } from '../cli/commands/index.js';

export function registerLabInvokeCommand(_lab: Command, _setExit: SetExit): void {}
