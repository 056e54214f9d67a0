/**
 * Defence in depth for everything the engine emits and the journal stores: besides `Secret` (which serialises as [REDACTED]), any
 * field whose name says it holds a secret is replaced, wherever it sits (inventory vars, rendered requests,
 * the spec document). References to where a secret lives ({ env: NAME } / { file: PATH } / { prompt: true })
 * are kept: they are not secrets and `show` should say where the value came from.
 */
import { isSecretVarName } from '../inventory/connection.js';
import { PASSWORD_CHANGE_VALUES, type EvidenceLine, type StartEvidence } from '../remote/protocol.js';
import { Secret } from '../util/secret.js';

/** Inventory-style names (`db_password`, the inventory's own rule) and camelCase fields (`passphrase`, `apiToken`). */
function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = isSecretVarName(key) || /(pass(word|phrase|wd)|secret|token|credential|privatekey)$/i.test(key);
    // The same few dozen names come back for every host: a journal of 10,000 hosts scrubbed ~150,000 keys
    // with two regular expressions each, most of a run's start-up (bench/fleet).
    if (secretKeys.size < MAX_KEYS_REMEMBERED) secretKeys.set(key, secret);
  }
  return secret;
}
const secretKeys = new Map<string, boolean>();
const MAX_KEYS_REMEMBERED = 10_000;

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
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) out[k] = walk(o[k], k);
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

/** `password=…`, `token: …`, `--api-key …`: the value after a secret-looking name, in free text. */
const SECRET_ASSIGNMENT =
  /\b([A-Za-z0-9_.-]*(?:pass(?:word|phrase|wd)?|pwd|secret|token|credential|api[_-]?key|private[_-]?key))(\s*[=:]\s*|\s+)("[^"]*"|'[^']*'|[^\s,;]+)/gi;

/** Free text (a service's log line) with known secret values and `name=value` pairs of secret-looking names replaced. */
export function scrubText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join(Secret.redacted);
  return out.replace(SECRET_ASSIGNMENT, (_m, name: string, sep: string) => `${name}${sep}${Secret.redacted}`);
}

/** The bounds of start-failure evidence (the engine applies them too; a host is never trusted to). */
export const EVIDENCE_LIMITS = { lines: 20, bytes: 4096, lineChars: 512 } as const;

/** Start-failure evidence cut to EVIDENCE_LIMITS (newest lines kept) and scrubbed of secrets. */
export function boundEvidence(ev: StartEvidence, secrets: readonly string[] = []): StartEvidence {
  const lines: EvidenceLine[] = [];
  let bytes = 0;
  for (let i = ev.lines.length - 1; i >= 0 && lines.length < EVIDENCE_LIMITS.lines; i--) {
    const l = ev.lines[i]!;
    let text = scrubText(l.text, secrets);
    if (text.length > EVIDENCE_LIMITS.lineChars) text = `${text.slice(0, EVIDENCE_LIMITS.lineChars - 1)}…`;
    const n = Buffer.byteLength(text, 'utf8');
    if (bytes + n > EVIDENCE_LIMITS.bytes) break;
    bytes += n;
    lines.unshift({ at: l.at, source: scrubText(l.source, secrets), id: l.id, text });
  }
  return {
    service: ev.service,
    win32ExitCode: ev.win32ExitCode,
    serviceExitCode: ev.serviceExitCode,
    lines,
    truncated: ev.truncated || lines.length < ev.lines.length,
  };
}
