/**
 * Where vault passwords come from, as ansible-core's CLI reads them (lib/ansible/cli/__init__.py,
 * lib/ansible/parsing/vault/__init__.py; https://docs.ansible.com/ansible/latest/vault_guide/vault_managing_passwords.html):
 *
 *   order         ANSIBLE_VAULT_IDENTITY_LIST, then each --vault-id, then each --vault-password-file, then
 *                 ANSIBLE_VAULT_PASSWORD_FILE
 *   --vault-id    `label@source` (or `source`, label `default`); source `prompt` asks on the terminal, anything
 *                 else is a password file
 *   a file        its content with surrounding whitespace removed; empty is an error
 *   an executable file is run instead, and its stdout (without trailing CR/LF) is the password; a "client"
 *                 script (name ending in `-client`, any extension) is given `--vault-id LABEL`, and its exit
 *                 code 2 means "no secret for this id"
 *
 * Where Ansible only warns about an unreadable password file and carries on without it, svcfleet stops:
 * a missing password would surface later as a confusing "cannot decrypt".
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, extname, resolve } from 'node:path';
import { InputError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { DEFAULT_VAULT_ID, type VaultPassword } from './vault.js';

export interface VaultPasswordOptions {
  /** --vault-id values, `label@source` or `source` (repeatable). */
  ids?: readonly string[];
  /** --vault-password-file values (repeatable). */
  passwordFiles?: readonly string[];
  /** For ANSIBLE_VAULT_PASSWORD_FILE and ANSIBLE_VAULT_IDENTITY_LIST (default process.env). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Asks on the terminal; undefined when there is none (then `@prompt` is an error). */
  prompt?: (question: string) => Promise<string>;
  /** Time limit for a password script (default 30 s). */
  scriptTimeoutMs?: number;
}

const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;

/** Split `label@source` like Ansible (at the first `@`; no `@` → the default label). */
export function splitVaultId(id: string): { label: string; source: string } {
  const at = id.indexOf('@');
  if (at < 0) return { label: DEFAULT_VAULT_ID, source: id };
  return { label: id.slice(0, at) || DEFAULT_VAULT_ID, source: id.slice(at + 1) };
}

/** Every configured vault id, in Ansible's order, as `{ label, source, field }` (field: where it was given). */
export function vaultIdSlugs(opts: VaultPasswordOptions): Array<{ label: string; source: string; field: string }> {
  const env = opts.env ?? process.env;
  const out: Array<{ label: string; source: string; field: string }> = [];
  for (const id of (env.ANSIBLE_VAULT_IDENTITY_LIST ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    out.push({ ...splitVaultId(id), field: 'ANSIBLE_VAULT_IDENTITY_LIST' });
  }
  for (const id of opts.ids ?? []) out.push({ ...splitVaultId(id), field: '--vault-id' });
  for (const file of opts.passwordFiles ?? []) out.push({ label: DEFAULT_VAULT_ID, source: file, field: '--vault-password-file' });
  const envFile = env.ANSIBLE_VAULT_PASSWORD_FILE;
  if (envFile) out.push({ label: DEFAULT_VAULT_ID, source: envFile, field: 'ANSIBLE_VAULT_PASSWORD_FILE' });
  for (const s of out) {
    if (s.source === '') throw new InputError(`empty vault password source in ${JSON.stringify(`${s.label}@`)}`, { field: s.field });
  }
  return out;
}

/** Read every configured vault password (asking on the terminal for `@prompt` ids). */
export async function loadVaultPasswords(opts: VaultPasswordOptions): Promise<VaultPassword[]> {
  const out: VaultPassword[] = [];
  for (const { label, source, field } of vaultIdSlugs(opts)) {
    if (source === 'prompt' || source === 'prompt_ask_vault_pass') {
      if (!opts.prompt) throw new InputError(`vault id ${label}@prompt needs a terminal to ask on; use a password file instead`, { field });
      const answer = await opts.prompt(`Vault password (${label})`);
      if (answer === '') throw new InputError(`empty vault password for vault id ${label}`, { field });
      out.push({ label, password: new Secret(answer), source: 'prompt' });
      continue;
    }
    out.push(readVaultPasswordFile(label, source, { ...opts, field }));
  }
  return out;
}

/** One password file or script (synchronous: no prompt involved). */
export function readVaultPasswordFile(label: string, source: string, opts: { cwd?: string; scriptTimeoutMs?: number; field?: string }): VaultPassword {
  const path = resolve(opts.cwd ?? process.cwd(), source.startsWith('~/') ? `${process.env.HOME ?? '~'}${source.slice(1)}` : source);
  const where = { file: path, ...(opts.field ? { field: opts.field } : {}) };
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    throw new InputError(`cannot read the vault password file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, where);
  }
  if (!isFile) throw new InputError('the vault password file is not a regular file', where);
  if (executable(path)) return { label, password: runPasswordScript(path, label, opts.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS, where), source: path };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the vault password file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, where);
  }
  // Python's bytes.strip(): ASCII whitespace on both ends.
  const password = text.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');
  if (password === '') throw new InputError('the vault password file is empty', where);
  return { label, password: new Secret(password), source: path };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Ansible's script_is_client: the file name, without its extension, ends in `-client`. */
export function isClientScript(path: string): boolean {
  const name = basename(path);
  return name.slice(0, name.length - extname(name).length).endsWith('-client');
}

function runPasswordScript(path: string, label: string, timeoutMs: number, where: { file: string }): Secret {
  const client = isClientScript(path);
  const args = client ? ['--vault-id', label] : [];
  const r = spawnSync(path, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = (r.stderr ?? '').trim();
  const detail = stderr ? `: ${stderr.split('\n').slice(-3).join(' / ')}` : '';
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') throw new InputError(`the vault password script did not answer within ${timeoutMs / 1000} s`, where);
    throw new InputError(`cannot run the vault password script (${code ?? r.error.message}); if it is not a script, remove its executable bit`, where);
  }
  if (r.signal) throw new InputError(`the vault password script was killed by ${r.signal}${detail}`, where);
  if (client && r.status === 2) throw new InputError(`the vault password client script has no secret for vault id ${label}${detail}`, where);
  if (r.status !== 0) throw new InputError(`the vault password script exited with code ${r.status}${detail}`, where);
  const password = r.stdout.replace(/^[\r\n]+|[\r\n]+$/g, '');
  if (password === '') throw new InputError('the vault password script printed an empty password', where);
  return new Secret(password);
}
