/**
 * Reading inventory sources into an InventoryModel, and resolving the selected hosts into HostSpecs.
 *
 * A source is a file, a directory (every inventory file in it, like `ansible -i DIR`) or a host list
 * (`web01,web02,`). A file is read by its content and extension:
 *   - `kind: svcfleet-inventory` YAML → native format (native.ts)
 *   - `.yml`, `.yaml`, `.json` → Ansible YAML (ansible-yaml.ts)
 *   - no extension: YAML if it parses as a mapping, else INI (what Ansible's plugin order amounts to)
 *   - an executable file starting with `#!` → a dynamic inventory script, run with --list (dynamic.ts)
 *   - anything else → Ansible INI (ini.ts)
 * group_vars/ and host_vars/ beside each file (or inside a directory source) apply.
 * A whole file encrypted with Ansible Vault is decrypted first, and `!vault` values are opened, when vault
 * passwords are given (unvault.ts); a literal password in an INI inventory is warned about.
 *
 * Where Ansible would only warn that a source could not be parsed and carry on with an empty inventory,
 * svcfleet stops with the parse error: a rollout must not silently target nothing (or half of the fleet).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { ConnectionSettings } from '../transport/types.js';
import { parseYamlDocument } from '../util/document.js';
import { InputError } from '../util/errors.js';
import type { HostSpec, Inventory } from './types.js';
import { isMapping, parseAnsibleYaml, parseAnsibleYamlInventory } from './ansible-yaml.js';
import {
  connectionFromAnsibleVars,
  connectionFromNative,
  sshCredentialProblem,
  PASSWORD_VARS,
  publicHostVars,
  type ConnectionContext,
  type ConnectionDefaults,
} from './connection.js';
import { parseAddress } from './hostpattern.js';
import { mergedHostVars, groupVarsLayer } from './hostvars.js';
import { parseIniInventory } from './ini.js';
import { InventoryModel } from './model.js';
import { NATIVE_KIND, parseNativeInventory, type NativeHostEntry } from './native.js';
import { allHosts, selectHosts } from './pattern.js';
import { VarsFiles } from './vars-files.js';
import { openVaultFile, sealedScalars, unsealVaultValues } from './unvault.js';
import type { VaultPassword } from './vault.js';
import { readInventoryScript, type ScriptOptions } from './dynamic.js';

export interface ReadOptions {
  /** Files, directories or host lists (`a,b,`), like `ansible -i` (repeatable). */
  sources: string | readonly string[];
  cwd?: string;
  /** Vault passwords (vault-passwords.ts); without any, `!vault` values stay sealed and vaulted files are refused. */
  vault?: readonly VaultPassword[];
  /** How executable inventory sources are run (dynamic.ts). */
  scripts?: ScriptOptions;
}

/** What reading one source needs besides the model (passed down the recursive readers). */
interface SourceIO {
  vault: readonly VaultPassword[] | undefined;
  scripts: ScriptOptions;
  warnings: string[];
}

/** Everything read from the sources; the input of listing (list.ts) and of host resolution. */
export interface InventoryData {
  model: InventoryModel;
  native: Map<string, NativeHostEntry>;
  files: VarsFiles;
  depths: Map<string, number>;
  /** Things to tell the user that do not stop the run. */
  warnings: string[];
}

export interface LoadInventoryOptions extends ReadOptions {
  /** Ansible --limit syntax (see pattern.ts). */
  limit?: string | readonly string[];
  /** For { env } password references and `~` in paths (default process.env). */
  env?: Record<string, string | undefined>;
  /** Connection defaults from the configuration. */
  connectionDefaults?: ConnectionDefaults;
  /**
   * Refuse selected ssh hosts that have no credentials at all (sshCredentialProblem): for commands that will
   * contact them, so the run stops before anything is contacted. Off for commands that only read the inventory.
   */
  requireCredentials?: boolean;
}

/** An Inventory whose `hosts` are the selected ones, with connection settings resolved. */
export interface LoadedInventory extends Inventory {
  /** Things the user should see (e.g. TLS validation turned off for a host); the CLI prints them to stderr. */
  warnings: string[];
}

/** Extensions Ansible skips when it reads a directory of inventory files (INVENTORY_IGNORE_EXTS). */
const IGNORED_IN_DIRS = /(\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;
const YAML_EXTENSIONS = ['.yml', '.yaml', '.json'];

export function readInventory(opts: ReadOptions): InventoryData {
  const cwd = opts.cwd ?? process.cwd();
  const model = new InventoryModel();
  const native = new Map<string, NativeHostEntry>();
  const sources = typeof opts.sources === 'string' ? [opts.sources] : opts.sources;
  if (sources.length === 0) throw new InputError('no inventory given (use -i FILE)', { field: 'inventory' });
  const io: SourceIO = { vault: opts.vault, scripts: opts.scripts ?? {}, warnings: [] };
  for (const source of sources) readSource(source, cwd, model, native, true, io);
  model.reconcile();
  const warnings: string[] = io.warnings;
  for (const name of model.hosts.keys()) {
    // Ansible warns too; a pattern naming it means the host.
    if (model.groups.has(name)) warnings.push(`${name} is both a host and a group; a pattern ${JSON.stringify(name)} means the host`);
  }
  return { model, native, files: new VarsFiles(model.varsDirs, opts.vault), depths: model.depths(), warnings };
}

function readSource(source: string, cwd: string, model: InventoryModel, native: Map<string, NativeHostEntry>, top: boolean, io: SourceIO): void {
  const path = resolve(cwd, source);
  let st;
  try {
    st = statSync(path);
  } catch {
    if (top && source.includes(',')) {
      readHostList(source, model);
      return;
    }
    throw new InputError('inventory not found', { file: source });
  }
  if (top) model.sources.push(path);
  if (st.isDirectory()) {
    if (top) model.varsDirs.push(path);
    for (const entry of readdirSync(path).sort()) {
      if (entry.startsWith('.') || ['host_vars', 'group_vars', 'vars_plugins'].includes(entry) || IGNORED_IN_DIRS.test(entry)) continue;
      readSource(join(path, entry), cwd, model, native, false, io);
    }
    return;
  }
  if (top) model.varsDirs.push(dirname(path));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as Error).message}`, { file: path });
  }
  if (text.startsWith('#!') && (st.mode & 0o111) !== 0) {
    readInventoryScript(path, model, { ...io.scripts, ...(io.vault ? { vault: io.vault } : {}) });
    return;
  }
  const opened = openVaultFile(text, path, io.vault);
  readFile(path, opened.text, model, native, io);
  if (opened.vaulted) sealVarsFrom(model, path);
}

function readFile(file: string, text: string, model: InventoryModel, native: Map<string, NativeHostEntry>, io: SourceIO): void {
  const ext = extname(file).toLowerCase();
  if (YAML_EXTENSIONS.includes(ext)) {
    readYaml(file, text, model, native, io);
    return;
  }
  if (ext === '' || basename(file).startsWith('.')) {
    const yaml = tryYaml(file, text);
    if (yaml) {
      readYaml(file, text, model, native, io);
      return;
    }
  }
  parseIniInventory(text, file, model);
  warnLiteralPasswords(model, file, io.warnings);
}

/** Every variable an encrypted inventory file set is a secret: wrap them (host and group names stay text). */
function sealVarsFrom(model: InventoryModel, file: string): void {
  for (const owner of [...model.hosts.values(), ...model.groups.values()]) {
    for (const [k, o] of Object.entries(owner.varOrigins)) {
      if (o.file === file) Object.defineProperty(owner.vars, k, { value: sealedScalars(owner.vars[k]), enumerable: true, writable: true, configurable: true });
    }
  }
}

/**
 * An INI inventory can only hold a password as a literal; a vault-encrypted group_vars/host_vars file holds it
 * safely (docs/inventory.md, "Ansible Vault"). Say so, once per variable and line.
 */
function warnLiteralPasswords(model: InventoryModel, file: string, warnings: string[]): void {
  const seen = new Set<string>();
  for (const owner of [...model.hosts.values(), ...model.groups.values()]) {
    for (const k of PASSWORD_VARS) {
      const o = owner.varOrigins[k];
      const v = owner.vars[k];
      if (!o || o.file !== file || typeof v !== 'string' || v.includes('{{')) continue;
      const at = `${file}${o.line !== undefined ? `:${o.line}` : ''}`;
      if (seen.has(`${at} ${k}`)) continue;
      seen.add(`${at} ${k}`);
      warnings.push(`${at}: ${k} is a literal password in an INI inventory; keep it in a vault-encrypted group_vars/ or host_vars/ file instead`);
    }
  }
}

/** Does this extension-less file read as a YAML mapping? (INI files read as YAML scalars or fail.) */
function tryYaml(file: string, text: string): boolean {
  try {
    return isMapping(parseAnsibleYaml(text, file).value);
  } catch {
    return false;
  }
}

function readYaml(file: string, text: string, model: InventoryModel, native: Map<string, NativeHostEntry>, io: SourceIO): void {
  // Native files are YAML 1.2 (no yes/no booleans); Ansible files are YAML 1.1 like PyYAML. Peek at `kind`.
  const ansible = parseAnsibleYaml(text, file);
  unsealVaultValues(ansible, io.vault);
  const kind = isMapping(ansible.value) ? ansible.value.kind : undefined;
  if (kind === NATIVE_KIND) {
    parseNativeInventory(parseYamlDocument(text, file), model, native);
    return;
  }
  if (typeof kind === 'string') {
    throw new InputError(`unknown kind ${JSON.stringify(kind)} (a native inventory has kind: ${NATIVE_KIND})`, { file, field: 'kind' });
  }
  parseAnsibleYamlInventory(ansible, model);
}

function readHostList(list: string, model: InventoryModel): void {
  const origin = { file: '(host list)' };
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const parsed = parseAddress(entry);
    if (parsed?.host.includes('[')) throw new InputError(`ranges are not allowed in a host list: ${entry}`, { field: 'inventory', host: entry });
    model.addHost(parsed ? parsed.host : entry, origin, 'ungrouped', parsed?.port);
  }
}

/** Inventory.groups: the group tree with each group's own variables (secrets wrapped), in inventory order. */
export function groupTree(data: InventoryData): Inventory['groups'] {
  const out: Inventory['groups'] = {};
  for (const g of data.model.groups.values()) {
    out[g.name] = {
      children: [...g.children],
      hosts: [...g.hosts],
      vars: publicHostVars(groupVarsLayer(data.model, data.files, g.name).vars),
    };
  }
  return out;
}

/** Resolve one host: merged variables and connection settings. */
export function resolveHost(data: InventoryData, name: string, ctx: ConnectionContext): HostSpec {
  const layer = mergedHostVars(data.model, data.files, name, data.depths);
  const entry = data.native.get(name);
  const connection = entry
    ? connectionFromNative(name, entry.defaults, entry.own, entry.origin, { ...ctx, baseDir: entry.baseDir })
    : connectionFromAnsibleVars(name, layer, ctx);
  const groups = new Set<string>();
  for (const g of data.model.hosts.get(name)?.groups ?? []) {
    groups.add(g);
    for (const a of data.model.ancestors(g)) groups.add(a);
  }
  groups.delete('all');
  return { name, groups: [...groups].sort(), vars: publicHostVars(layer.vars), connection };
}

/**
 * Read the inventory, apply the limit, and resolve the selected hosts (only those: a host outside the limit
 * with an unsupported setting does not block a run on the others).
 */
export function loadInventory(opts: LoadInventoryOptions): LoadedInventory {
  const data = readInventory(opts);
  const groups = groupTree(data);
  // An empty limit string is an error (selectHosts); an empty list means no --limit was given.
  const names =
    opts.limit !== undefined && (typeof opts.limit === 'string' || opts.limit.length > 0)
      ? selectHosts(groups, opts.limit, { cwd: opts.cwd ?? process.cwd(), field: '--limit' })
      : allHosts(groups);
  const warnings = [...data.warnings];
  const ctx: ConnectionContext = {
    defaults: opts.connectionDefaults ?? {},
    env: opts.env ?? process.env,
    // Inventory-wide warnings (its defaults) come once per host resolved: keep one of each.
    warn: (m) => {
      if (!warnings.includes(m)) warnings.push(m);
    },
  };
  const cwd = opts.cwd ?? process.cwd();
  const hosts = names.map((n) => keyFilesFrom(resolveHost(data, n, ctx), cwd));
  if (opts.requireCredentials) {
    // The first problem found, with every host that has that same problem.
    const problems = hosts.map((h) => ({ host: h.name, problem: sshCredentialProblem(h.connection, ctx.env) }));
    const first = problems.find((p) => p.problem !== undefined);
    if (first) {
      const names = problems.filter((p) => p.problem === first.problem).map((p) => p.host);
      const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
      throw new InputError(`${first.problem!} (hosts ${shown})`, { host: names[0]! });
    }
  }
  return { source: data.model.sources.join(', ') || String(opts.sources), hosts, groups, warnings };
}

/**
 * A relative key file from an Ansible variable (`ansible_ssh_private_key_file=keys/id`) means what it means to
 * ssh: relative to the directory the command runs in — made absolute here, so the credential check and the
 * transport read the same file whoever's process directory it is (native inventories already resolve theirs
 * against the inventory file).
 */
function keyFilesFrom<T extends { connection: ConnectionSettings }>(host: T, cwd: string): T {
  const c = host.connection;
  const abs = (p: string): string => (isAbsolute(p) || p.startsWith('~') ? p : resolve(cwd, p));
  if (c.ssh?.identityFile && abs(c.ssh.identityFile) !== c.ssh.identityFile) {
    return { ...host, connection: { ...c, ssh: { ...c.ssh, identityFile: abs(c.ssh.identityFile) } } };
  }
  if (c.pwsh?.keyFilePath && abs(c.pwsh.keyFilePath) !== c.pwsh.keyFilePath) {
    return { ...host, connection: { ...c, pwsh: { ...c.pwsh, keyFilePath: abs(c.pwsh.keyFilePath) } } };
  }
  return host;
}
