/**
 * Ansible YAML inventories (and the YAML of group_vars/host_vars files), read as ansible-core reads them:
 * YAML 1.1 (PyYAML: `yes`/`no` are booleans, `0755` is octal, `<<` merges), dates kept as text, `!unsafe`
 * values are plain text (svcfleet never templates inventory values anyway), `!vault` values are kept sealed
(and opened by unvault.ts when vault passwords are given).
 *
 * Group structure: top-level keys are groups; each group may have `hosts` (name or range → vars), `vars` and
 * `children` (nested groups, same shape). Where Ansible only warns and skips (an unknown key in a group, a
 * group that is not a mapping), svcfleet refuses the file: a typo there silently drops hosts from a rollout.
 */
import type { Tags } from 'yaml';
import { locationOf, parseYamlDocument, type ParsedDocument, type PathSegment } from '../util/document.js';
import { InputError } from '../util/errors.js';
import { SealedValue } from '../util/secret.js';
import { HostPatternError, expandHostEntry } from './hostpattern.js';
import type { InventoryModel, Origin } from './model.js';

const SEALED = '[VAULT-ENCRYPTED]';

/**
 * A `!vault` value as parsed: still encrypted, printing as [VAULT-ENCRYPTED]. With vault passwords it is
 * replaced by a Secret of its plaintext as soon as its file is read (unvault.ts).
 */
export class VaultedValue extends SealedValue {
  protected readonly marker = SEALED;
  readonly #ciphertext: string;
  constructor(ciphertext: string) {
    super();
    this.#ciphertext = ciphertext;
  }
  get ciphertext(): string {
    return this.#ciphertext;
  }
}

const ANSIBLE_TAGS: Tags = [
  { tag: '!vault', resolve: (text: string) => new VaultedValue(text) },
  { tag: '!unsafe', resolve: (text: string) => text },
];

export function parseAnsibleYaml(text: string, file: string): ParsedDocument {
  return parseYamlDocument(text, file, { version: '1.1', customTags: ANSIBLE_TAGS });
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof VaultedValue);
}

export function parseAnsibleYamlInventory(doc: ParsedDocument, model: InventoryModel): void {
  const data = doc.value;
  const at = (path: PathSegment[]): Origin => {
    const w = locationOf(doc, path, { key: true });
    const o: Origin = { file: doc.file };
    if (w.line !== undefined) o.line = w.line;
    if (w.column !== undefined) o.column = w.column;
    return o;
  };
  const fail = (message: string, path: PathSegment[], host?: string): never => {
    const where = locationOf(doc, path, { key: true });
    throw new InputError(message, host ? { ...where, host } : where);
  };

  if (data === null || data === undefined || (isMapping(data) && Object.keys(data).length === 0)) {
    fail('empty YAML inventory', []);
  }
  if (!isMapping(data)) return fail('a YAML inventory must be a mapping of group names', []);
  if ('plugin' in data)
    fail(
      'this is an inventory plugin configuration (dynamic inventory); svcfleet reads static inventories and executable inventory scripts, not inventory plugins',
      ['plugin'],
    );

  const parseGroup = (name: string, body: unknown, path: PathSegment[]): void => {
    if (body !== null && !isMapping(body)) {
      fail(`group ${name} must be a mapping with hosts, vars and children`, path);
    }
    model.addGroup(name, at(path));
    if (body === null) return;
    for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
      const here = [...path, key];
      if (key !== 'hosts' && key !== 'vars' && key !== 'children') {
        fail(`unknown key ${JSON.stringify(key)} in group ${name} (expected hosts, vars or children)`, here);
      }
      // A bare string is allowed for one entry: `hosts: web01`.
      const value = typeof raw === 'string' ? { [raw]: null } : raw;
      if (value === null) continue;
      if (!isMapping(value)) fail(`${key} of group ${name} must be a mapping`, here);
      const entries = Object.entries(value as Record<string, unknown>);
      if (key === 'vars') {
        for (const [k, v] of entries) model.setGroupVar(name, k, v, at([...here, k]));
      } else if (key === 'children') {
        for (const [child, childBody] of entries) {
          parseGroup(child, childBody, [...here, child]);
          model.addChild(name, child, at([...here, child]));
        }
      } else {
        for (const [entry, hostVars] of entries) {
          const hostPath = typeof raw === 'string' ? here : [...here, entry];
          let expanded: { names: string[]; port?: number };
          try {
            expanded = expandHostEntry(entry);
          } catch (err) {
            if (err instanceof HostPatternError) return fail(err.message, hostPath, entry);
            throw err;
          }
          if (hostVars !== null && !isMapping(hostVars)) {
            fail(`variables of host ${entry} must be a mapping`, hostPath, entry);
          }
          for (const host of expanded.names) {
            model.addHost(host, at(hostPath), name, expanded.port);
            for (const [k, v] of Object.entries((hostVars ?? {}) as Record<string, unknown>)) {
              model.setHostVar(host, k, v, at([...hostPath, k]));
            }
          }
        }
      }
    }
  };

  for (const [name, body] of Object.entries(data)) parseGroup(name, body, [name]);
}
