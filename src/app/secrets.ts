/** Secrets a run needs (spec/plan password references), resolved through the context: env and prompt. */
import { InputError } from '../util/errors.js';
import type { AppContext } from './context.js';

export interface SecretContext {
  env: Record<string, string | undefined>;
  baseDir: string;
  prompt: (label: string) => Promise<string>;
}

/** The context's prompt; without one (no terminal), asking is an input error. */
export function promptOf(ctx: AppContext): (label: string) => Promise<string> {
  return (label) => {
    if (ctx.prompt) return ctx.prompt(label);
    return Promise.reject(new InputError(`${label}: a password prompt needs a terminal`, { field: 'password' }));
  };
}

export function secretContext(ctx: AppContext, baseDir: string): SecretContext {
  return { env: ctx.env, baseDir, prompt: promptOf(ctx) };
}
