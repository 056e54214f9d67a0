/**
 * Every production command registers itself here, one module per command; this list is the only place they
 * meet. The lab commands (`lab`, `demo`) are not here: src/main.ts loads them from src/lab only when asked for.
 */
import type { Command } from 'commander';
import type { CliContext, SetExit } from '../context.js';
import { registerApply } from './apply.js';
import { registerInspect } from './inspect.js';
import { registerInventory } from './inventory.js';
import { registerPing } from './ping.js';
import { registerPlan } from './plan.js';
import { registerRender } from './render.js';
import { registerResume } from './resume.js';
import { registerRetry } from './retry.js';
import { registerRollback } from './rollback.js';
import { registerRuns } from './runs.js';
import { registerSelftest } from './selftest.js';
import { registerSchema } from './schema.js';
import { registerShow } from './show.js';

export type { SetExit };

export function registerCommands(program: Command, cli: CliContext): void {
  registerPlan(program, cli);
  registerApply(program, cli);
  registerRollback(program, cli);
  registerResume(program, cli);
  registerRetry(program, cli);
  registerRuns(program, cli);
  registerShow(program, cli);
  registerInspect(program, cli);
  registerRender(program, cli);
  registerPing(program, cli);
  registerInventory(program, cli);
  registerSelftest(program, cli);
  registerSchema(program, cli);
}
