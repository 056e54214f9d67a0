/**
 * `group_vars/` and `host_vars/` beside an inventory, found as ansible-core's host_group_vars plugin finds them:
 * for an entity NAME the first of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that exists is used; when it is
 * a directory, every file in it (sorted, recursively; hidden files, `~` backups and other extensions skipped)
 * is read in order, later files overriding earlier ones. Empty files are ignored; anything but a mapping is an
 * error naming the file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InputError } from '../util/errors.js';
import { isMapping, parseAnsibleYaml } from './ansible-yaml.js';
import { combineVars, setOwn, type Origin, type VarOrigins, type Vars } from './model.js';
import { openVaultFile, sealedScalars, unsealVaultValues } from './unvault.js';
import type { VaultPassword } from './vault.js';

const EXTENSIONS = ['.yml', '.yaml', '.json'];

export interface VarsLayer {
  vars: Vars;
  origins: VarOrigins;
}

export const EMPTY_LAYER: VarsLayer = Object.freeze({ vars: {}, origins: {} }) as VarsLayer;

/** A new layer: `b` over `a` (neither is modified). */
export function mergeLayers(a: VarsLayer, b: VarsLayer): VarsLayer {
  return { vars: combineVars(a.vars, b.vars), origins: { ...a.origins, ...b.origins } };
}

export class VarsFiles {
  private readonly cache = new Map<string, VarsLayer>();
  /** Entries of each group_vars/ or host_vars/ directory (undefined: no such directory), read once. */
  private readonly listings = new Map<string, Set<string> | undefined>();
  constructor(
    private readonly dirs: readonly string[],
    /** Vault passwords for `!vault` values and whole vault-encrypted files (unvault.ts). */
    private readonly vault?: readonly VaultPassword[],
  ) {}

  group(name: string): VarsLayer {
    return this.load('group_vars', name);
  }

  host(name: string): VarsLayer {
    return this.load('host_vars', name);
  }

  private load(subdir: 'group_vars' | 'host_vars', name: string): VarsLayer {
    const key = `${subdir}\0${name}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let layer = EMPTY_LAYER;
    // Names that are paths would read files outside group_vars/host_vars.
    if (!/[/\\]/.test(name) && name !== '.' && name !== '..') {
      for (const dir of this.dirs) {
        const base = join(dir, subdir);
        for (const file of this.find(base, name)) layer = mergeLayers(layer, readVarsFile(file, this.vault));
      }
    }
    this.cache.set(key, layer);
    return layer;
  }

  private find(base: string, name: string): string[] {
    if (!this.listings.has(base)) this.listings.set(base, kind(base) === 'dir' ? new Set(readdirSync(base)) : undefined);
    const entries = this.listings.get(base);
    if (!entries) return [];
    for (const ext of ['', ...EXTENSIONS]) {
      if (!entries.has(name + ext)) continue;
      const candidate = join(base, name + ext);
      const k = kind(candidate);
      if (k === 'dir') return filesIn(candidate);
      if (k === 'file') return [candidate];
    }
    return [];
  }
}

function kind(path: string): 'file' | 'dir' | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

function filesIn(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.') || entry.endsWith('~')) continue;
    const full = join(dir, entry);
    const ext = extname(entry);
    const k = kind(full);
    if (k === 'dir' && !ext) out.push(...filesIn(full));
    else if (k === 'file' && (!ext || EXTENSIONS.includes(ext))) out.push(full);
  }
  return out;
}

function readVarsFile(file: string, vault: readonly VaultPassword[] | undefined): VarsLayer {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as Error).message}`, { file });
  }
  const { text, vaulted } = openVaultFile(raw, file, vault);
  const doc = parseAnsibleYaml(text, file);
  unsealVaultValues(doc, vault);
  // Everything in a vault-encrypted file is secret, whatever its name.
  const value = vaulted ? sealedScalars(doc.value) : doc.value;
  if (value === null || value === undefined || value === '') return EMPTY_LAYER;
  if (!isMapping(value)) throw new InputError('a vars file must be a mapping of variable names to values', { file, line: 1 });
  const origins: VarOrigins = {};
  const vars: Vars = {};
  for (const [k, v] of Object.entries(value)) {
    setOwn(vars, k, v);
    const pos = doc.locate([k], { key: true });
    const o: Origin = { file };
    if (pos) o.line = pos.line;
    setOwn(origins, k, o);
  }
  return { vars, origins };
}
