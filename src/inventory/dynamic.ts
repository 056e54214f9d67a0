/**
 * Dynamic inventories: an executable inventory source (a file starting with `#!` and with an executable bit)
 * is run as ansible-core's `script` inventory plugin runs it
 * (https://docs.ansible.com/ansible/latest/dev_guide/developing_inventory.html#inventory-script-conventions):
 *
 *   SCRIPT --list        → a JSON object: `{ GROUP: { hosts: [...], vars: {...}, children: [...] } | [hosts...],
 *                          _meta: { hostvars: { HOST: {...} } } }`; a group object without hosts/vars/children
 *                          is Ansible's shorthand for "a host named like the group, with these vars"
 *   SCRIPT --host HOST   → that host's variables, run once per host only when `--list` gave no `_meta`
 *
 * Where Ansible waits forever and, for `--host`, ignores the exit code, svcfleet gives every run a time limit
 * (default 30 s) and refuses a non-zero exit, invalid JSON or a malformed document with an error naming the
 * script: a rollout must not proceed on half an inventory. Values `{"__ansible_vault": "..."}` are vaulted
 * values (opened with the vault passwords given, else kept sealed); `{"__ansible_unsafe": "..."}` is text.
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import { InputError, type InputLocation } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { isMapping, parseAnsibleYaml, VaultedValue } from './ansible-yaml.js';
import type { InventoryModel, Origin } from './model.js';
import { decryptVault, VaultError, type VaultPassword } from './vault.js';

export interface ScriptOptions {
  /** Time limit of each run of the script (default 30 s). */
  timeoutMs?: number;
  /** Vault passwords, for `__ansible_vault` values in the script's output. */
  vault?: readonly VaultPassword[];
  /** Environment of the script (default process.env). */
  env?: Record<string, string | undefined>;
}

export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 64 << 20;

/** Run the script (`--list`, then `--host` per host if needed) and add what it describes to the model. */
export function readInventoryScript(path: string, model: InventoryModel, opts: ScriptOptions = {}): void {
  const origin: Origin = { file: path };
  const listed = runScript(path, ['--list'], opts);
  let doc: unknown;
  try {
    doc = JSON.parse(listed);
  } catch (err) {
    throw new InputError(`inventory script ${path} --list did not print valid JSON: ${(err as Error).message}`, { file: path });
  }
  if (!isMapping(doc)) throw new InputError(`inventory script ${path} --list must print a JSON object of groups, got ${kindOf(doc)}`, { file: path });
  const value = (v: unknown, field: string, host?: string): unknown => decode(v, { file: path, field, ...(host ? { host } : {}) }, opts.vault);

  const hosts: string[] = [];
  const seen = new Set<string>();
  let hostvars: Record<string, unknown> | undefined;
  for (const [group, raw] of Object.entries(doc)) {
    if (group === '_meta') {
      if (isMapping(raw) && 'hostvars' in raw) {
        if (!isMapping(raw.hostvars))
          throw new InputError(`_meta.hostvars must be an object of host names, got ${kindOf(raw.hostvars)}`, { file: path, field: '_meta.hostvars' });
        hostvars = raw.hostvars;
      }
      continue;
    }
    model.addGroup(group, origin);
    let data: Record<string, unknown>;
    if (!isMapping(raw)) data = { hosts: raw };
    else if (!('hosts' in raw) && !('vars' in raw) && !('children' in raw)) data = { hosts: [group], vars: raw };
    else data = raw;
    if ('hosts' in data) {
      if (!Array.isArray(data.hosts))
        throw new InputError(`group ${group}: hosts must be a list, got ${kindOf(data.hosts)}`, { file: path, field: `${group}.hosts` });
      for (const h of data.hosts) {
        if (typeof h !== 'string') throw new InputError(`group ${group}: a host name must be text, got ${kindOf(h)}`, { file: path, field: `${group}.hosts` });
        model.addHost(h, origin, group);
        if (!seen.has(h)) {
          seen.add(h);
          hosts.push(h);
        }
      }
    }
    if ('vars' in data) {
      if (!isMapping(data.vars))
        throw new InputError(`group ${group}: vars must be an object, got ${kindOf(data.vars)}`, { file: path, field: `${group}.vars` });
      for (const [k, v] of Object.entries(data.vars)) model.setGroupVar(group, k, value(v, `${group}.vars.${k}`), origin);
    }
    if ('children' in data) {
      if (!Array.isArray(data.children))
        throw new InputError(`group ${group}: children must be a list, got ${kindOf(data.children)}`, { file: path, field: `${group}.children` });
      for (const child of data.children) {
        if (typeof child !== 'string')
          throw new InputError(`group ${group}: a child group name must be text, got ${kindOf(child)}`, { file: path, field: `${group}.children` });
        model.addGroup(child, origin);
        model.addChild(group, child, origin);
      }
    }
  }

  for (const host of hosts) {
    let vars: unknown;
    if (hostvars) vars = hostvars[host] ?? {};
    else {
      const out = runScript(path, ['--host', host], opts);
      vars = out.trim() === '' ? {} : parseHostOutput(out, path, host);
    }
    if (vars === null) vars = {};
    if (!isMapping(vars)) throw new InputError(`variables of host ${host} must be an object, got ${kindOf(vars)}`, { file: path, host });
    for (const [k, v] of Object.entries(vars)) model.setHostVar(host, k, value(v, k, host), origin);
  }
}

function parseHostOutput(out: string, path: string, host: string): unknown {
  // Ansible reads --host output with its YAML loader (JSON is YAML); so do we.
  try {
    return parseAnsibleYaml(out, path).value;
  } catch (err) {
    throw new InputError(`inventory script ${path} --host ${host} did not print valid JSON: ${(err as Error).message}`, { file: path, host });
  }
}

/** Ansible's JSON decoder extensions: `{"__ansible_vault": ...}` and `{"__ansible_unsafe": ...}`. */
function decode(v: unknown, where: InputLocation & { field: string }, vault: readonly VaultPassword[] | undefined): unknown {
  if (Array.isArray(v)) return v.map((x, i) => decode(x, { ...where, field: `${where.field}[${i}]` }, vault));
  if (!isMapping(v)) return v;
  const keys = Object.keys(v);
  if (keys.length === 1 && typeof v.__ansible_unsafe === 'string') return v.__ansible_unsafe;
  if (keys.length === 1 && typeof v.__ansible_vault === 'string') {
    if (!vault?.length) return new VaultedValue(v.__ansible_vault);
    try {
      return new Secret(decryptVault(v.__ansible_vault, vault).plaintext.toString('utf8'));
    } catch (err) {
      if (err instanceof VaultError) throw new InputError(`vaulted value: ${err.message}`, where, { cause: err });
      throw err;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    Object.defineProperty(out, k, {
      value: decode(x, { ...where, field: `${where.field}.${k}` }, vault),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** Run the script once; its stdout, or an InputError naming the script and what went wrong. */
export function runScript(path: string, args: string[], opts: ScriptOptions): string {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
  const cmd = [path, ...args].join(' ');
  // Its own process group (`detached`: libuv honours it for spawnSync too, @types/node does not list it), so a
  // timeout also ends whatever the script started.
  const spawnOpts: SpawnSyncOptionsWithStringEncoding & { detached: boolean } = {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_OUTPUT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: (opts.env ?? process.env) as NodeJS.ProcessEnv,
  };
  const r = spawnSync(path, args, spawnOpts);
  if (r.pid) {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // the group is gone already: the usual case
    }
  }
  const stderr = (r.stderr ?? '').trim();
  const detail = stderr ? `; stderr: ${stderr.split('\n').slice(-5).join(' / ')}` : '';
  const where = { file: path };
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') throw new InputError(`inventory script ${cmd} did not finish within ${timeoutMs / 1000} s (killed)`, where);
    if (code === 'ENOBUFS') throw new InputError(`inventory script ${cmd} printed more than ${MAX_OUTPUT >> 20} MiB`, where);
    throw new InputError(`cannot run inventory script ${cmd}: ${code ?? r.error.message}`, where);
  }
  if (r.signal) throw new InputError(`inventory script ${cmd} was killed by ${r.signal}${detail}`, where);
  if (r.status !== 0) throw new InputError(`inventory script ${cmd} exited with code ${r.status}${detail}`, where);
  return r.stdout;
}
