/**
 * The config hash, computed exactly as ps-scripts/engine/ does (Get-ConfigHash): SHA-256 (lowercase hex) of the
 * UTF-8 bytes of a canonical JSON where object keys are sorted by UTF-16 code unit (ordinal), strings escape only
 * '"', '\' and U+0000-U+001F (as \u00xx), numbers are integers in decimal, and there is no whitespace. The engine
 * cannot use ConvertTo-Json for this because 5.1 and 7 escape and order differently.
 */
import { createHash } from 'node:crypto';
import type { ServiceConfig } from './protocol.js';

function canonicalString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return canonicalString(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`canonical JSON: ${value} is not an integer`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const obj = value as Record<string, unknown>;
    return `{${keys.map((k) => `${canonicalString(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON: unsupported ${typeof value}`);
}

export function configHash(config: ServiceConfig): string {
  return createHash('sha256').update(canonicalJson(config), 'utf8').digest('hex');
}
