/**
 * The native svcfleet inventory (`kind: svcfleet-inventory`, format in docs/inventory.md): connection defaults,
 * vars for every host, groups (hosts may be Ansible-style ranges, children must be declared groups) and hosts
 * with their own connection keys and vars. Unknown keys are errors (with a "did you mean"); passwords are
 * only references ({ env } or { file }); relative paths are relative to the inventory file.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { locationOf, validateDocument, type ParsedDocument } from '../util/document.js';
import { secretRefSchema } from '../util/secret-ref.js';
import { InputError } from '../util/errors.js';
import { PASSWORD_VARS, type NativeConnection } from './connection.js';
import { HostPatternError, expandHostEntry } from './hostpattern.js';
import type { InventoryModel, Origin } from './model.js';

export const NATIVE_KIND = 'svcfleet-inventory';

const password = secretRefSchema({ prompt: false });
const path = z.string().min(1);

const sshSchema = z.strictObject({
  shell: z.enum(['powershell.exe', 'pwsh']).optional(),
  identityFile: path.optional(),
  passphrase: password.optional(),
  agent: path.optional(),
  knownHostsFile: path.optional(),
  hostKeyPolicy: z.enum(['strict', 'accept-new']).optional(),
  keepaliveIntervalMs: z.number().int().nonnegative().optional(),
});
const kerberosSchema = z.strictObject({
  credentials: z.enum(['cache', 'password', 'keytab']).optional(),
  ccache: z.string().min(1).optional(),
  keytab: path.optional(),
  delegation: z.boolean().optional(),
  service: z.string().min(1).optional(),
  hostnameOverride: z.string().min(1).optional(),
  krb5Config: path.optional(),
});
const winrmSchema = z.strictObject({
  scheme: z.enum(['http', 'https']).optional(),
  auth: z.enum(['ntlm', 'basic', 'kerberos', 'negotiate']).optional(),
  kerberos: kerberosSchema.optional(),
  certValidation: z.enum(['validate', 'ignore']).optional(),
  caFile: path.optional(),
  allowUnencryptedBasic: z.boolean().optional(),
  operationTimeoutSeconds: z.number().int().positive().max(3600).optional(),
  path: z.string().startsWith('/').optional(),
});
const pwshSchema = z.strictObject({
  mode: z.enum(['hostname', 'computername']).optional(),
  keyFilePath: path.optional(),
});
const localSchema = z.strictObject({ stateDir: path });

const connectionFields = {
  // The built-in kinds, and `local`: the lab's transport (src/lab/transport), registered by the CLI at run time;
  // only its name is known here, so lab inventories validate without loading lab code.
  transport: z.enum(['ssh', 'winrm', 'pwsh', 'local']).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  password: password.optional(),
  ssh: sshSchema.optional(),
  winrm: winrmSchema.optional(),
  pwsh: pwshSchema.optional(),
  local: localSchema.optional(),
};
const varsSchema = z.record(z.string(), z.unknown()).nullable().optional();

/** The native inventory file (also its JSON Schema: spec/json-schema.ts). */
export const nativeSchema = z.strictObject({
  kind: z.literal(NATIVE_KIND),
  version: z.literal(1),
  defaults: z.strictObject(connectionFields).nullable().optional(),
  vars: varsSchema,
  groups: z
    .record(
      z.string(),
      z
        .strictObject({
          hosts: z.array(z.string()).nullable().optional(),
          children: z.array(z.string()).nullable().optional(),
          vars: varsSchema,
        })
        .nullable(),
    )
    .nullable()
    .optional(),
  hosts: z
    .record(z.string(), z.strictObject({ address: z.string().min(1).optional(), ...connectionFields, vars: varsSchema }).nullable())
    .nullable()
    .optional(),
});

type NativeDoc = z.output<typeof nativeSchema>;

export interface NativeHostEntry {
  own: NativeConnection;
  defaults: NativeConnection;
  origin: Origin;
  /** Directory of the inventory file (relative password files resolve against it). */
  baseDir: string;
}

export function parseNativeInventory(doc: ParsedDocument, model: InventoryModel, into: Map<string, NativeHostEntry>): void {
  const data: NativeDoc = validateDocument(nativeSchema, doc);
  const baseDir = dirname(doc.file);
  const at = (p: Array<string | number>): Origin => {
    const w = locationOf(doc, p, { key: true });
    return { file: doc.file, ...(w.line !== undefined ? { line: w.line } : {}), ...(w.column !== undefined ? { column: w.column } : {}) };
  };
  const refuseLiteralPasswords = (vars: Record<string, unknown> | null | undefined, p: Array<string | number>): void => {
    for (const k of Object.keys(vars ?? {})) {
      if ((PASSWORD_VARS as readonly string[]).includes(k)) {
        throw new InputError(
          `${k} in a native inventory is a literal password; use password: { env: NAME } or { file: PATH }`,
          locationOf(doc, [...p, k], { key: true }),
        );
      }
    }
  };

  const defaults = absolutePaths(data.defaults ?? {}, baseDir);
  refuseLiteralPasswords(data.vars, ['vars']);
  for (const [k, v] of Object.entries(data.vars ?? {})) model.setGroupVar('all', k, v, at(['vars', k]));

  const declare = (name: string, own: NativeConnection, origin: Origin): void => {
    if (!into.has(name)) into.set(name, { own, defaults, origin, baseDir });
  };

  for (const [name, body] of Object.entries(data.hosts ?? {})) {
    const origin = at(['hosts', name]);
    model.addHost(name, origin);
    const { vars, ...conn } = body ?? {};
    refuseLiteralPasswords(vars, ['hosts', name, 'vars']);
    for (const [k, v] of Object.entries(vars ?? {})) model.setHostVar(name, k, v, at(['hosts', name, 'vars', k]));
    into.set(name, { own: absolutePaths(conn, baseDir), defaults, origin, baseDir });
  }

  const groups = Object.entries(data.groups ?? {});
  for (const [name] of groups) model.addGroup(name, at(['groups', name]));
  for (const [name, body] of groups) {
    refuseLiteralPasswords(body?.vars, ['groups', name, 'vars']);
    for (const [k, v] of Object.entries(body?.vars ?? {})) model.setGroupVar(name, k, v, at(['groups', name, 'vars', k]));
    (body?.hosts ?? []).forEach((entry, i) => {
      const origin = at(['groups', name, 'hosts', i]);
      let expanded: { names: string[]; port?: number };
      try {
        expanded = expandHostEntry(entry);
      } catch (err) {
        if (err instanceof HostPatternError) throw new InputError(err.message, { ...locationOf(doc, ['groups', name, 'hosts', i]), host: entry });
        throw err;
      }
      if (expanded.port !== undefined) {
        throw new InputError(`a port in a group's host list is not allowed; set hosts.${expanded.names[0]}.port`, {
          ...locationOf(doc, ['groups', name, 'hosts', i]),
          host: entry,
        });
      }
      for (const host of expanded.names) {
        model.addHost(host, origin, name);
        declare(host, {}, origin);
      }
    });
    (body?.children ?? []).forEach((child, i) => {
      if (!Object.hasOwn(data.groups ?? {}, child)) {
        throw new InputError(`group ${name} lists child group ${child}, which is not declared under groups`, locationOf(doc, ['groups', name, 'children', i]));
      }
      model.addChild(name, child, at(['groups', name, 'children', i]));
    });
  }
}

/** Relative paths in connection settings, made absolute against the inventory's directory. */
function absolutePaths<T extends NativeConnection>(c: T, baseDir: string): T {
  const abs = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  const out: NativeConnection = { ...c };
  if (c.ssh) {
    out.ssh = { ...c.ssh };
    if (c.ssh.identityFile) out.ssh.identityFile = abs(c.ssh.identityFile)!;
    if (c.ssh.knownHostsFile) out.ssh.knownHostsFile = abs(c.ssh.knownHostsFile)!;
  }
  if (c.winrm?.caFile) out.winrm = { ...c.winrm, caFile: abs(c.winrm.caFile)! };
  if (c.winrm?.kerberos?.keytab || c.winrm?.kerberos?.krb5Config) {
    const k = c.winrm.kerberos;
    out.winrm = {
      ...(out.winrm ?? c.winrm),
      kerberos: { ...k, ...(k.keytab ? { keytab: abs(k.keytab)! } : {}), ...(k.krb5Config ? { krb5Config: abs(k.krb5Config)! } : {}) },
    };
  }
  if (c.pwsh?.keyFilePath) out.pwsh = { ...c.pwsh, keyFilePath: abs(c.pwsh.keyFilePath)! };
  if (c.local?.stateDir) out.local = { stateDir: abs(c.local.stateDir)! };
  return out as T;
}
