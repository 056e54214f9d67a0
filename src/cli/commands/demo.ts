/** `svcfleet demo` (owned by the dashboard work). */
import type { Command } from 'commander';
import type { SetExit } from './index.js';

export function registerDemo(_program: Command, _setExit: SetExit): void {}
