/**
 * The plan digest: SHA-256 (lowercase hex) of the plan's canonical JSON — object keys sorted at every level, no
 * whitespace, secret-looking values sealed exactly as in the file — without the plan's own `digest` field.
 * `plan` prints its first 12 hex digits and stores all 64; `apply PLAN --expect-digest D` pins it.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../util/errors.js';
import { SealedValue } from '../util/secret.js';

/** What a digest holds instead of a secret. */
export const SECRET_MARK = '[secret]';

/** JSON with object keys sorted at every level and no whitespace: the same value always gives the same text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
    // The replacer sees toJSON()'s result, so look at the holder's own value for a Secret.
    if (this[k] instanceof SealedValue) return SECRET_MARK;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((key) => [key, (v as Record<string, unknown>)[key]]),
      );
    }
    return v;
  });
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** How many hex digits of the plan digest `plan` prints (and `--expect-digest` accepts besides all 64). */
export const SHORT_DIGEST_LENGTH = 12;

/** The plan digest of a plan whose secret-looking values are already sealed (as written to and read from the file). */
export function digestOfSealed(plan: { digest?: string }): string {
  const { digest: _stored, ...content } = plan;
  return sha256(stableJson(content));
}

export function shortDigest(digest: string): string {
  return digest.slice(0, SHORT_DIGEST_LENGTH);
}

/** Check an `--expect-digest` value's form: the short (12) or full (64) hex digest. */
export function parseExpectedDigest(value: string): string {
  const v = value.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(v) || (v.length !== SHORT_DIGEST_LENGTH && v.length !== 64)) {
    throw new InputError(`expected the plan digest that \`svcfleet plan\` printed (${SHORT_DIGEST_LENGTH} or 64 hex digits), got ${JSON.stringify(value)}`, {
      field: '--expect-digest',
    });
  }
  return v;
}

/** Refuse a plan whose digest is not the pinned one (short or full form). */
export function checkExpectedDigest(actual: string, expected: string, file: string): void {
  const want = parseExpectedDigest(expected);
  if (want.length === SHORT_DIGEST_LENGTH ? shortDigest(actual) !== want : actual !== want) {
    throw new InputError(`the plan's digest is ${shortDigest(actual)}, not the expected ${want}: this is not the plan that was reviewed`, {
      file,
      field: '--expect-digest',
    });
  }
}
