/**
 * Every top-level command registers itself here. Each command module owns its own file; this list is the only
 * place they meet. `setExit` lets an action report its documented exit code without calling process.exit.
 */
import type { Command } from 'commander';
import { registerLab } from './lab.js';
import { registerFleet } from './fleet.js';
import { registerDemo } from './demo.js';
import { registerInventory } from './inventory.js';

export type SetExit = (code: number) => void;

export function registerCommands(program: Command, setExit: SetExit): void {
  registerFleet(program, setExit);
  registerInventory(program, setExit);
  registerDemo(program, setExit);
  registerLab(program, setExit);
}
