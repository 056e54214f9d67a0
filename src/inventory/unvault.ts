/**
 * Opening Ansible Vault data inside inventory sources and group_vars/host_vars files:
 *   - a whole file encrypted with `ansible-vault encrypt` is decrypted before it is parsed, and every value
 *     read from it becomes a Secret (the author encrypted all of it);
 *   - a `!vault |` value becomes a Secret holding its plaintext.
 *
 * With no vault password configured, `!vault` values stay sealed (VaultedValue: they print as
 * [VAULT-ENCRYPTED], and using one as a connection setting is an error), as `ansible-inventory` without a
 * password leaves them encrypted. With passwords, every vaulted value is opened when its file is read, so a
 * wrong password, a missing vault id or altered data stops the run at the file and line, before any host is
 * contacted.
 */
import type { ParsedDocument, PathSegment } from '../util/document.js';
import { InputError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { VaultedValue } from './ansible-yaml.js';
import { decryptVault, isVaultText, VaultError, type VaultPassword } from './vault.js';

function vaultInputError(err: unknown, file: string, line: number | undefined, what: string): never {
  if (err instanceof VaultError) {
    throw new InputError(`${what}: ${err.message}`, line === undefined ? { file } : { file, line }, { cause: err });
  }
  throw err;
}

/** The text of a source file, decrypted when it is a whole vault-encrypted file. */
export function openVaultFile(text: string, file: string, passwords: readonly VaultPassword[] | undefined): { text: string; vaulted: boolean } {
  if (!isVaultText(text)) return { text, vaulted: false };
  try {
    return { text: decryptVault(text, passwords ?? []).plaintext.toString('utf8'), vaulted: true };
  } catch (err) {
    return vaultInputError(err, file, 1, 'vault-encrypted file');
  }
}

/** Replace every `!vault` value of a parsed document by a Secret, in place (no-op without passwords). */
export function unsealVaultValues(doc: ParsedDocument, passwords: readonly VaultPassword[] | undefined): void {
  if (!passwords?.length) return;
  const open = (v: VaultedValue, path: PathSegment[]): Secret => {
    try {
      return new Secret(decryptVault(v.ciphertext, passwords).plaintext.toString('utf8'));
    } catch (err) {
      const pos = doc.locate(path, { key: true });
      return vaultInputError(err, doc.file, pos?.line, `!vault value ${path.join('.')}`);
    }
  };
  const walk = (node: unknown, path: PathSegment[]): unknown => {
    if (node instanceof VaultedValue) return open(node, path);
    if (Array.isArray(node)) {
      node.forEach((item, i) => (node[i] = walk(item, [...path, i])));
    } else if (isPlainObject(node)) {
      for (const [k, item] of Object.entries(node)) {
        const replaced = walk(item, [...path, k]);
        if (replaced !== item) Object.defineProperty(node, k, { value: replaced, enumerable: true, writable: true, configurable: true });
      }
    }
    return node;
  };
  (doc as { value: unknown }).value = walk(doc.value, []);
}

/** Every scalar of a value read from a whole vault-encrypted file, as a Secret (structure kept). */
export function sealedScalars(node: unknown): unknown {
  if (node === null || node === undefined || node instanceof Secret) return node;
  if (Array.isArray(node)) return node.map(sealedScalars);
  if (isPlainObject(node)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) Object.defineProperty(out, k, { value: sealedScalars(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean' || typeof node === 'bigint') return new Secret(String(node));
  return node;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
