/** plan, apply, rollback, resume, retry, runs, show, inspect, render, ping, inventory (owned by the orchestrator work). */
import type { Command } from 'commander';
import type { SetExit } from './index.js';

export function registerFleet(_program: Command, _setExit: SetExit): void {}
