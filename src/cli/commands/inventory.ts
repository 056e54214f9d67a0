/** `svcfleet inventory` (owned by the inventory work). */
import type { Command } from 'commander';
import type { SetExit } from './index.js';

export function registerInventory(_program: Command, _setExit: SetExit): void {}
