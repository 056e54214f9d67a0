/**
 * Ansible Vault's format (`$ANSIBLE_VAULT;1.1;AES256` and `$ANSIBLE_VAULT;1.2;AES256;<label>`), written from
 * its public description (https://docs.ansible.com/ansible/latest/vault_guide/vault_using_encrypted_content.html,
 * "Format of files encrypted with Ansible Vault") with node:crypto:
 *
 *   header line   `$ANSIBLE_VAULT;<version>;AES256[;<vault id label>]`
 *   body          hexlify( hex(salt) "\n" hex(hmac) "\n" hex(ciphertext) ), in lines of 80 characters
 *   keys          PBKDF2-HMAC-SHA256(password, salt[32 bytes], 10000 iterations, 80 bytes)
 *                 → AES key (32) | HMAC key (32) | counter IV (16)
 *   ciphertext    AES-256-CTR(PKCS#7-padded plaintext), HMAC-SHA256 over the ciphertext
 *
 * The HMAC is checked (in constant time) before anything is decrypted: a wrong password and altered data look
 * the same, and neither yields a plaintext. The vault id label is not authenticated (Ansible's own warning):
 * it only orders the passwords tried.
 */
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../util/secret.js';

export const VAULT_HEADER = '$ANSIBLE_VAULT';
const ITERATIONS = 10_000;
const KEY_LENGTH = 32;
const IV_LENGTH = 16;
const SALT_LENGTH = 32;
const LINE_WIDTH = 80;
/** Ansible's default vault id label (--vault-password-file and a --vault-id without `label@`). */
export const DEFAULT_VAULT_ID = 'default';

/** A vault password and the vault id label it was given under. */
export interface VaultPassword {
  label: string;
  password: Secret;
  /** Where it came from, for messages (a file path, `prompt`, an environment variable). */
  source: string;
}

/** Why a vault could not be opened; the callers add the file and line. */
export class VaultError extends Error {
  override readonly name = 'VaultError';
  constructor(
    message: string,
    readonly reason: 'format' | 'no-password' | 'no-match' | 'padding',
  ) {
    super(message);
  }
}

export interface VaultEnvelope {
  version: '1.1' | '1.2';
  cipher: 'AES256';
  /** The vault id label of a 1.2 envelope. */
  label?: string;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

/** Does this text start like vault data (a `!vault` value or a whole encrypted file)? */
export function isVaultText(text: string): boolean {
  return text.trimStart().startsWith(`${VAULT_HEADER};`);
}

function unhex(text: string, what: string): Buffer {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new VaultError(`the ${what} is not hexadecimal`, 'format');
  return Buffer.from(text, 'hex');
}

export function parseVaultEnvelope(text: string): VaultEnvelope {
  const lines = text.trim().split(/\r?\n/);
  const header = (lines[0] ?? '')
    .trim()
    .split(';')
    .map((s) => s.trim());
  if (header[0] !== VAULT_HEADER) throw new VaultError(`not vault data (expected a ${VAULT_HEADER};… header)`, 'format');
  const version = header[1];
  if (version !== '1.1' && version !== '1.2')
    throw new VaultError(`unsupported vault format version ${JSON.stringify(version ?? '')} (1.1 and 1.2 are known)`, 'format');
  const cipher = header[2];
  if (cipher !== 'AES256') throw new VaultError(`unsupported vault cipher ${JSON.stringify(cipher ?? '')} (only AES256 exists)`, 'format');
  const label = version === '1.2' ? header[3] : undefined;
  if (version === '1.2' && !label) throw new VaultError('a 1.2 vault header needs a vault id label', 'format');
  const body = unhex(
    lines
      .slice(1)
      .map((l) => l.trim())
      .join(''),
    'vault body',
  ).toString('latin1');
  const parts = body.split('\n');
  if (parts.length !== 3) throw new VaultError('the vault body is damaged (expected salt, HMAC and ciphertext)', 'format');
  const [salt, hmac, ciphertext] = parts as [string, string, string];
  const env: VaultEnvelope = {
    version,
    cipher,
    salt: unhex(salt, 'salt'),
    hmac: unhex(hmac, 'HMAC'),
    ciphertext: unhex(ciphertext, 'ciphertext'),
  };
  if (label !== undefined) env.label = label;
  if (env.hmac.length !== 32) throw new VaultError('the vault HMAC is damaged (not 32 bytes)', 'format');
  return env;
}

interface Keys {
  aes: Buffer;
  mac: Buffer;
  iv: Buffer;
}

// PBKDF2 with 10000 rounds costs milliseconds; every `!vault` value has its own salt, but a file re-read (or
// the same value seen twice) should not pay again.
const keyCache = new WeakMap<Secret, Map<string, Keys>>();

function deriveKeys(password: Secret, salt: Buffer): Keys {
  let perSalt = keyCache.get(password);
  if (!perSalt) keyCache.set(password, (perSalt = new Map()));
  const id = salt.toString('hex');
  const hit = perSalt.get(id);
  if (hit) return hit;
  const derived = pbkdf2Sync(Buffer.from(password.reveal(), 'utf8'), salt, ITERATIONS, 2 * KEY_LENGTH + IV_LENGTH, 'sha256');
  const keys = { aes: derived.subarray(0, KEY_LENGTH), mac: derived.subarray(KEY_LENGTH, 2 * KEY_LENGTH), iv: derived.subarray(2 * KEY_LENGTH) };
  perSalt.set(id, keys);
  return keys;
}

/** The plaintext if this password's HMAC matches, else undefined. */
function tryPassword(env: VaultEnvelope, password: Secret): Buffer | undefined {
  const keys = deriveKeys(password, env.salt);
  const mac = createHmac('sha256', keys.mac).update(env.ciphertext).digest();
  if (!timingSafeEqual(mac, env.hmac)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', keys.aes, keys.iv);
  const padded = Buffer.concat([decipher.update(env.ciphertext), decipher.final()]);
  const pad = padded.length ? padded[padded.length - 1]! : 0;
  if (pad < 1 || pad > 16 || pad > padded.length || !padded.subarray(padded.length - pad).every((b) => b === pad)) {
    throw new VaultError('the vault data decrypts to invalid padding', 'padding');
  }
  return padded.subarray(0, padded.length - pad);
}

/**
 * Decrypt vault data with the first password that fits: those given under the envelope's label first, then the
 * others in order (Ansible's default, vault_id_match=False).
 */
export function decryptVault(text: string, passwords: readonly VaultPassword[]): { plaintext: Buffer; label: string } {
  const env = parseVaultEnvelope(text);
  if (passwords.length === 0) {
    throw new VaultError(
      'this is vault-encrypted, and no vault password was given (use --vault-password-file FILE, --vault-id LABEL@SOURCE or ANSIBLE_VAULT_PASSWORD_FILE)',
      'no-password',
    );
  }
  const ordered = env.label ? [...passwords.filter((p) => p.label === env.label), ...passwords.filter((p) => p.label !== env.label)] : passwords;
  for (const p of ordered) {
    const plaintext = tryPassword(env, p.password);
    if (plaintext) return { plaintext, label: p.label };
  }
  const tried = [...new Set(passwords.map((p) => p.label))].join(', ');
  const missing =
    env.label && !passwords.some((p) => p.label === env.label)
      ? ` It is encrypted for vault id ${JSON.stringify(env.label)}, which was not given (--vault-id ${env.label}@SOURCE).`
      : '';
  throw new VaultError(
    `cannot decrypt: no vault password given fits (tried vault ids: ${tried}); the HMAC check failed, so the password is wrong or the data was altered.${missing}`,
    'no-match',
  );
}

/** Encrypt like `ansible-vault encrypt` (format 1.1, or 1.2 with a label other than `default`). */
export function encryptVault(plaintext: string | Buffer, password: Secret, opts: { label?: string; salt?: Buffer } = {}): string {
  const salt = opts.salt ?? randomBytes(SALT_LENGTH);
  const keys = deriveKeys(password, salt);
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const pad = 16 - (data.length % 16);
  const cipher = createCipheriv('aes-256-ctr', keys.aes, keys.iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.concat([data, Buffer.alloc(pad, pad)])), cipher.final()]);
  const hmac = createHmac('sha256', keys.mac).update(ciphertext).digest('hex');
  const body = Buffer.from([salt.toString('hex'), hmac, ciphertext.toString('hex')].join('\n'), 'latin1').toString('hex');
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += LINE_WIDTH) lines.push(body.slice(i, i + LINE_WIDTH));
  const label = opts.label && opts.label !== DEFAULT_VAULT_ID ? opts.label : undefined;
  const header = label ? `${VAULT_HEADER};1.2;AES256;${label}` : `${VAULT_HEADER};1.1;AES256`;
  return `${[header, ...lines].join('\n')}\n`;
}
