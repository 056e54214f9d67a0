/**
 * Defence in depth for everything the engine emits and the journal stores: besides `Secret` (which serialises as [REDACTED]), any
 * field whose name says it holds a secret is replaced, wherever it sits (inventory vars, rendered requests,
 * the spec document). References to where a secret lives ({ env: NAME } / { file: PATH } / { prompt: true })
 * are kept: they are not secrets and `show` should say where the value came from.
 */
import { isSecretVarName } from '../inventory/connection.js';
import { PASSWORD_CHANGE_VALUES } from '../remote/protocol.js';
import { Secret } from '../util/secret.js';

/** Inventory-style names (`db_password`, the inventory's own rule) and camelCase fields (`passphrase`, `apiToken`). */
function isSecretKey(key: string): boolean {
  return isSecretVarName(key) || /(pass(word|phrase|wd)|secret|token|credential|privatekey)$/i.test(key);
}

function isReference(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k === 'env' || k === 'file' || k === 'prompt');
}

export function scrubSecrets<T>(value: T): T {
  return walk(value) as T;
}

function walk(value: unknown, key?: string): unknown {
  if (value instanceof Secret) return Secret.redacted;
  if (key !== undefined && isSecretKey(key) && value !== undefined && value !== null && !isReference(value)) {
    return Secret.redacted;
  }
  if (Array.isArray(value)) return value.map((v) => walk(v));
  if (value && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      // Class instances (e.g. Buffer): keep their JSON form only.
      return walk(JSON.parse(JSON.stringify(value)));
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, k);
    return out;
  }
  return value;
}

/**
 * A diff entry for a secret field (`account.password`) keeps the field name, never the values: only null and the
 * engine's fixed words for why a password is written ('(set)', '(rotate)') survive.
 */
export function scrubFieldChanges<C extends { field: string; before: unknown; after: unknown }>(changes: C[]): C[] {
  const marker = (v: unknown): unknown => (v === null || (typeof v === 'string' && PASSWORD_CHANGE_VALUES.includes(v)) ? v : Secret.redacted);
  return changes.map((c) => {
    const last = c.field.split('.').at(-1) ?? c.field;
    if (isSecretKey(last)) return { ...c, before: marker(c.before), after: marker(c.after) };
    return scrubSecrets(c);
  });
}
