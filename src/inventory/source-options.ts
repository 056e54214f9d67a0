/**
 * What the inventory-reading commands take besides `-i`: vault passwords (`--vault-id`, `--vault-password-file`,
 * ANSIBLE_VAULT_* variables) and the time limit of inventory and password scripts (`--inventory-timeout`),
 * turned into the `vault` and `scripts` options of readInventory/loadInventory. Plain options in, plain options
 * out, so any front end (CLI, API) can use it.
 */
import { InputError } from '../util/errors.js';
import type { ScriptOptions } from './dynamic.js';
import { loadVaultPasswords } from './vault-passwords.js';
import type { VaultPassword } from './vault.js';

export interface InventoryInputFlags {
  /** --vault-id LABEL@SOURCE (repeatable). */
  vaultId?: readonly string[];
  /** --vault-password-file FILE (repeatable). */
  vaultPasswordFile?: readonly string[];
  /** --inventory-timeout: `30`, `30s`, `500ms`, `2m`. */
  inventoryTimeout?: string;
}

export interface InventoryInputs {
  vault?: VaultPassword[];
  scripts: ScriptOptions;
}

/** `30` (seconds), `30s`, `500ms`, `2m` → milliseconds (from 100 ms to 1 hour). */
export function parseScriptTimeout(text: string, field = '--inventory-timeout'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m) throw new InputError(`expected a duration such as 30s, 500ms or 2m, got ${JSON.stringify(text)}`, { field });
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (ms < 100 || ms > 3_600_000) throw new InputError(`expected a time limit from 100ms to 60m, got ${JSON.stringify(text)}`, { field });
  return ms;
}

export async function inventoryInputs(
  flags: InventoryInputFlags,
  ctx: { env: Record<string, string | undefined>; cwd: string; prompt?: (question: string) => Promise<string> },
): Promise<InventoryInputs> {
  const timeoutMs = flags.inventoryTimeout !== undefined ? parseScriptTimeout(flags.inventoryTimeout) : undefined;
  const vault = await loadVaultPasswords({
    ids: flags.vaultId ?? [],
    passwordFiles: flags.vaultPasswordFile ?? [],
    env: ctx.env,
    cwd: ctx.cwd,
    ...(ctx.prompt ? { prompt: ctx.prompt } : {}),
    ...(timeoutMs !== undefined ? { scriptTimeoutMs: timeoutMs } : {}),
  });
  return {
    ...(vault.length ? { vault } : {}),
    scripts: { env: ctx.env, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
  };
}
