/**
 * Where a password comes from, in every svcfleet input file (native inventory, change spec, plan file):
 * `{ env: NAME }`, `{ file: PATH }` or (change specs only) `{ prompt: true }`. A literal password is refused:
 * files get committed, printed and copied; a reference does not leak the secret.
 *
 * The reference is what files, plans and journals keep; `resolveSecretRef` turns it into a Secret at the last
 * moment, once per run.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { InputError, type InputLocation } from './errors.js';
import { Secret } from './secret.js';

export type SecretRef = { env: string } | { file: string } | { prompt: true };

const LITERAL_REFUSED = 'a literal password is not accepted here; use { env: VARIABLE } or { file: PATH } (or { prompt: true } in a change spec)';

/** A schema for a password reference; `prompt` allows `{ prompt: true }`. One clear message per mistake. */
export function secretRefSchema(opts: { prompt: boolean }): z.ZodType<SecretRef> {
  const forms = opts.prompt ? '{ env: VARIABLE }, { file: PATH } or { prompt: true }' : '{ env: VARIABLE } or { file: PATH }';
  return (
    z
      .unknown()
      .transform((v, ctx): SecretRef => {
        const fail = (message: string, path: PropertyKey[] = []): never => {
          ctx.issues.push({ code: 'custom', message, input: v, path });
          return z.NEVER as never;
        };
        if (typeof v === 'string' || typeof v === 'number') return fail(LITERAL_REFUSED);
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`expected ${forms}`);
        const keys = Object.keys(v);
        const [key] = keys;
        if (keys.length !== 1 || key === undefined) return fail(`expected exactly one of ${forms}`);
        const value = (v as Record<string, unknown>)[key];
        if (key === 'env') {
          if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return fail('expected an environment variable name', ['env']);
          return { env: value };
        }
        if (key === 'file') {
          if (typeof value !== 'string' || value === '') return fail('expected a file path', ['file']);
          return { file: value };
        }
        if (key === 'prompt' && opts.prompt) {
          if (value !== true) return fail('expected prompt: true', ['prompt']);
          return { prompt: true };
        }
        return fail(`unknown key ${JSON.stringify(key)}: expected ${forms}`, [key]);
      })
      // The transform above has no JSON Schema of its own; this is its shape for editors (svcfleet schema …).
      .meta({
        description: `A password reference: ${forms}; a literal password is refused.`,
        anyOf: secretRefJsonSchema(opts.prompt),
      }) as unknown as z.ZodType<SecretRef>
  );
}

function secretRefJsonSchema(prompt: boolean): object[] {
  const one = (key: string, value: object): object => ({ type: 'object', properties: { [key]: value }, required: [key], additionalProperties: false });
  return [
    one('env', { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    one('file', { type: 'string', minLength: 1 }),
    ...(prompt ? [one('prompt', { const: true })] : []),
  ];
}

export interface SecretContext {
  env: Record<string, string | undefined>;
  /** Relative `file` references are relative to this directory (the directory of the file that holds them). */
  baseDir: string;
  /** Asks the user; only `{ prompt: true }` uses it. */
  prompt?: (label: string) => Promise<string>;
}

/** Resolve `{env}` or `{file}` now. `{prompt}` needs resolveSecretRef. */
export function resolveSecretRefSync(ref: SecretRef, ctx: SecretContext, where: InputLocation): Secret {
  if ('env' in ref) {
    const v = ctx.env[ref.env];
    if (v === undefined) throw new InputError(`environment variable ${ref.env} is not set`, where);
    return new Secret(v);
  }
  if ('file' in ref) {
    const path = isAbsolute(ref.file) ? ref.file : resolve(ctx.baseDir, ref.file);
    try {
      // One trailing newline is what `echo secret > file` adds; it is not part of the password.
      return new Secret(readFileSync(path, 'utf8').replace(/\r?\n$/, ''));
    } catch (err) {
      throw new InputError(`cannot read the password file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, where);
    }
  }
  throw new InputError('a password prompt cannot be answered here', where);
}

export async function resolveSecretRef(ref: SecretRef, ctx: SecretContext, where: InputLocation, label: string): Promise<Secret> {
  if ('prompt' in ref) {
    if (!ctx.prompt) throw new InputError('the password is { prompt: true }, but there is no terminal to ask on', where);
    return new Secret(await ctx.prompt(label));
  }
  return resolveSecretRefSync(ref, ctx, where);
}

export function isSecretRef(v: unknown): v is SecretRef {
  return typeof v === 'object' && v !== null && ('env' in v || 'file' in v || 'prompt' in v);
}
