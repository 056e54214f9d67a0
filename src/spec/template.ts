/**
 * `{{ var }}` in change-spec values, filled from the host's inventory variables AS DATA.
 *
 * Supported, and nothing else: `{{ name }}` and `{{ name | default('text') }}` (or a number), where name is a
 * host variable, `inventory_hostname` or `inventory_hostname_short`. The variable's value is inserted as it is
 * — a value that itself contains `{{` is never rendered again — so a hostile inventory value stays a string.
 * No expressions, filters, loops or lookups: anything else between braces is an error, and so is a variable
 * the host does not have (unless a default is given), or a value that is not text or a number.
 */
import { inspect } from 'node:util';
import { Secret } from '../util/secret.js';

export type TemplateVars = Readonly<Record<string, unknown>>;

export class TemplateError extends Error {}

const OPEN = /\{\{|\{%|\{#/;
const EXPR = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*default\s*\(\s*(?:'([^'\\]*)'|"([^"\\]*)"|(-?\d+(?:\.\d+)?))\s*\)\s*)?$/;

export function hasTemplate(text: string): boolean {
  return OPEN.test(text);
}

export interface RenderContext {
  host: string;
  vars: TemplateVars;
}

/**
 * Fill every `{{ … }}` of `text`. Throws TemplateError with a message fit for the user. `insert` turns a checked
 * value into the text put in its place (default: the value itself; command lines use it to place markers).
 */
export function renderTemplate(
  text: string,
  ctx: RenderContext,
  check?: (name: string, value: string) => void,
  insert: (value: string, name: string) => string = (value) => value,
): string {
  let out = '';
  let i = 0;
  for (;;) {
    const rest = text.slice(i);
    const m = OPEN.exec(rest);
    if (!m) return out + rest;
    const start = i + m.index;
    out += text.slice(i, start);
    if (m[0] !== '{{') throw new TemplateError(`${m[0]} … blocks are not supported; only {{ variable }} and {{ variable | default('x') }}`);
    const end = text.indexOf('}}', start + 2);
    if (end < 0) throw new TemplateError('a {{ is never closed with }}'); // the text is not echoed: it may be a secret
    const inner = text.slice(start + 2, end);
    const e = EXPR.exec(inner);
    if (!e) {
      throw new TemplateError(
        `unsupported template {{${inner}}}: only {{ variable }} and {{ variable | default('x') }} are allowed (values are data, not code)`,
      );
    }
    const name = e[1]!;
    const fallback = e[2] ?? e[3] ?? e[4];
    const value = lookup(name, fallback, ctx);
    check?.(name, value);
    out += insert(value, name);
    i = end + 2;
  }
}

function lookup(name: string, fallback: string | undefined, ctx: RenderContext): string {
  if (name === 'inventory_hostname') return ctx.host;
  if (name === 'inventory_hostname_short') return ctx.host.split('.')[0] ?? ctx.host;
  const has = Object.hasOwn(ctx.vars, name);
  const v = has ? ctx.vars[name] : undefined;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new TemplateError(has ? `variable ${name} is null for host ${ctx.host}` : `variable ${name} is not defined for host ${ctx.host}`);
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (v instanceof Secret) throw new TemplateError(`variable ${name} holds a secret; secrets cannot be put into service settings this way`);
  const kind = typeof v === 'boolean' ? `a boolean (${String(v)})` : Array.isArray(v) ? 'a list' : typeof v === 'object' ? describeObject(v) : typeof v;
  throw new TemplateError(`variable ${name} of host ${ctx.host} is ${kind}; only text and numbers can be inserted`);
}

function describeObject(v: object): string {
  const shown = inspect(v);
  return shown.startsWith('[') ? `a sealed value ${shown}` : 'a mapping';
}
