/**
 * How to reach a host (ConnectionSettings, src/transport/types.ts), from Ansible connection variables or from
 * a native inventory entry, over the defaults of the configuration.
 *
 * Ansible variables understood (docs/inventory.md has the full table):
 *   ansible_connection      ssh | paramiko → ssh;  winrm → winrm;  psrp → winrm (same WinRM listener; svcfleet
 *                           speaks WinRS to it, not a PSRP runspace);  anything else (local, docker…) → error
 *   ansible_host / ansible_port / ansible_user / ansible_password (and the ssh_/winrm_ aliases)
 *   ansible_ssh_private_key_file, ansible_host_key_checking, ansible_shell_type (powershell | cmd)
 *   ansible_winrm_scheme, _transport (ntlm, kerberos, negotiate, basic/plaintext, ssl; credssp/certificate → "not
 *   supported yet"), _server_cert_validation (ignore → certValidation 'ignore', with a warning), _ca_trust_path,
 *   _path, _operation_timeout_sec, _message_encryption (never → allowUnencryptedBasic), Kerberos: _kinit_mode,
 *   _kerberos_delegation, _service, _kerberos_hostname_override
 *   ansible_psrp_protocol, _auth, _cert_validation, _ca_cert, _path, _message_encryption, _negotiate_delegate,
 *   _negotiate_service, _negotiate_hostname_override
 * Values that are Jinja templates (`{{ … }}`) are refused: svcfleet never evaluates templates from inventories.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSettings, PwshSettings, SshSettings, TransportKind, WinrmSettings } from '../transport/types.js';
import { resolveSecretRefSync, type SecretRef } from '../util/secret-ref.js';
import { InputError, type InputLocation } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { VaultedValue } from './ansible-yaml.js';
import { locate, setOwn, type Origin, type Vars } from './model.js';
import type { VarsLayer } from './vars-files.js';

/** Connection defaults from the configuration (flags > env > config file), under every inventory value. */
export interface ConnectionDefaults {
  transport?: TransportKind;
  user?: string;
  ssh?: SshSettings;
  winrm?: Partial<WinrmSettings>;
  pwsh?: Partial<PwshSettings>;
}

export interface ConnectionContext {
  defaults: ConnectionDefaults;
  env: Record<string, string | undefined>;
  warn(message: string): void;
}

/** Variables that hold a connection password: moved into ConnectionSettings.password and out of the host vars. */
export const PASSWORD_VARS = [
  'ansible_password',
  'ansible_ssh_pass',
  'ansible_ssh_password',
  'ansible_winrm_pass',
  'ansible_winrm_password',
  'ansible_psrp_pass',
  'ansible_psrp_password',
] as const;

/**
 * Variable names that look like secrets (become passwords, API tokens, "db_password"…). Their values are
 * wrapped in Secret wherever svcfleet keeps or prints host variables, so they print as [REDACTED].
 */
export function isSecretVarName(name: string): boolean {
  return /(^|_)(pass|passwd|password|passphrase|secret|token|api_?key|private_key)(_|$)/i.test(name) && !/_file$/i.test(name);
}

/** Host variables as svcfleet keeps them: password vars removed, other secret-looking values wrapped in Secret. */
export function publicHostVars(vars: Vars): Vars {
  const out: Vars = {};
  for (const [k, v] of Object.entries(vars)) {
    if ((PASSWORD_VARS as readonly string[]).includes(k)) continue;
    setOwn(out, k, isSecretVarName(k) && typeof v === 'string' ? new Secret(v) : v);
  }
  return out;
}

/** The same variables for display (`inventory --list`): every secret, password vars included, as [REDACTED]. */
export function redactedHostVars(vars: Vars): Vars {
  const out: Vars = {};
  for (const [k, v] of Object.entries(vars)) {
    const secret = (PASSWORD_VARS as readonly string[]).includes(k) || isSecretVarName(k);
    setOwn(out, k, secret && v !== null && v !== undefined && !(v instanceof VaultedValue) ? Secret.redacted : v);
  }
  return out;
}

class VarReader {
  constructor(
    private readonly host: string,
    private readonly layer: VarsLayer,
  ) {}

  where(key: string): InputLocation {
    return { ...locate(this.layer.origins[key] as Origin | undefined), field: key, host: this.host };
  }

  /** The value as written; text decrypted from Ansible Vault is revealed (settings, not printed). */
  raw(key: string): unknown {
    const v = this.layer.vars[key];
    const open = (x: unknown): unknown => (x instanceof Secret ? x.reveal() : x);
    return Array.isArray(v) ? v.map(open) : open(v);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.layer.vars, key) && this.layer.vars[key] !== null;
  }

  first(keys: readonly string[]): string | undefined {
    return keys.find((k) => this.has(k));
  }

  /** A text value (numbers are accepted and written as text, as Ansible does). */
  text(keys: readonly string[]): { key: string; value: string } | undefined {
    const key = this.first(keys);
    if (key === undefined) return undefined;
    const v = this.layer.vars[key];
    if (v instanceof VaultedValue) {
      throw new InputError(
        'this value is encrypted with Ansible Vault and no vault password was given (use --vault-password-file FILE, --vault-id LABEL@SOURCE or ANSIBLE_VAULT_PASSWORD_FILE)',
        this.where(key),
      );
    }
    // A Secret here was decrypted from Ansible Vault (unvault.ts); a password stays wrapped by the caller.
    if (typeof v !== 'string' && typeof v !== 'number' && !(v instanceof Secret)) {
      throw new InputError(`expected text, got ${describe(v)}`, this.where(key));
    }
    const s = v instanceof Secret ? v.reveal() : String(v);
    if (s.includes('{{') || s.includes('{%')) {
      // A password (ansible_password: "{{ vault_pw }}", or one that merely contains {{) is never echoed.
      const shown = (PASSWORD_VARS as readonly string[]).includes(key) || isSecretVarName(key) ? '' : `: ${s}`;
      throw new InputError(`templated values are not supported here (svcfleet does not evaluate Jinja)${shown}`, this.where(key));
    }
    return { key, value: s };
  }

  choice<T extends string>(keys: readonly string[], allowed: readonly T[]): { key: string; value: T } | undefined {
    const t = this.text(keys);
    if (!t) return undefined;
    const v = t.value.toLowerCase();
    if (!(allowed as readonly string[]).includes(v)) {
      throw new InputError(`expected one of ${allowed.join(', ')}, got ${JSON.stringify(t.value)}`, this.where(t.key));
    }
    return { key: t.key, value: v as T };
  }

  integer(keys: readonly string[], min: number, max: number): number | undefined {
    const t = this.text(keys);
    if (!t) return undefined;
    if (!/^\d+$/.test(t.value.trim())) throw new InputError(`expected a whole number, got ${JSON.stringify(t.value)}`, this.where(t.key));
    const n = Number(t.value.trim());
    if (n < min || n > max) throw new InputError(`expected a number from ${min} to ${max}, got ${n}`, this.where(t.key));
    return n;
  }

  bool(keys: readonly string[]): { key: string; value: boolean } | undefined {
    const key = this.first(keys);
    if (key === undefined) return undefined;
    const v = this.layer.vars[key];
    if (typeof v === 'boolean') return { key, value: v };
    const s = (v instanceof Secret ? v.reveal() : String(v)).trim().toLowerCase();
    // Ansible's boolean filter: yes/no, on/off, true/false, 1/0
    if (['yes', 'on', 'true', '1', 'y', 't'].includes(s)) return { key, value: true };
    if (['no', 'off', 'false', '0', 'n', 'f'].includes(s)) return { key, value: false };
    throw new InputError(`expected a boolean, got ${JSON.stringify(v)}`, this.where(key));
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const SSH_CONNECTIONS = ['ssh', 'paramiko', 'paramiko_ssh', 'ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh'];
const WINRM_CONNECTIONS = ['winrm', 'ansible.builtin.winrm'];
const PSRP_CONNECTIONS = ['psrp', 'ansible.builtin.psrp'];

/** ConnectionSettings for a host of an Ansible inventory, from its merged variables. */
export function connectionFromAnsibleVars(host: string, layer: VarsLayer, ctx: ConnectionContext): ConnectionSettings {
  const r = new VarReader(host, layer);
  const d = ctx.defaults;
  let transport: TransportKind = d.transport ?? 'ssh';
  let flavour: 'ssh' | 'winrm' | 'psrp' | 'other' = transport === 'ssh' ? 'ssh' : transport === 'winrm' ? 'winrm' : 'other';
  const conn = r.text(['ansible_connection']);
  if (conn) {
    const c = conn.value.toLowerCase();
    if (SSH_CONNECTIONS.includes(c)) flavour = 'ssh';
    else if (WINRM_CONNECTIONS.includes(c)) flavour = 'winrm';
    else if (PSRP_CONNECTIONS.includes(c)) flavour = 'psrp';
    else {
      throw new InputError(
        `ansible_connection ${JSON.stringify(conn.value)} is not supported: svcfleet reaches Windows hosts over ssh, winrm or psrp (mapped to winrm)`,
        r.where(conn.key),
      );
    }
    transport = flavour === 'ssh' ? 'ssh' : 'winrm';
  }

  const settings: ConnectionSettings = { transport, address: r.text(['ansible_host', 'ansible_ssh_host'])?.value ?? host };
  const user =
    r.text([
      'ansible_user',
      ...(flavour === 'ssh' ? ['ansible_ssh_user'] : []),
      ...(flavour === 'winrm' ? ['ansible_winrm_user'] : []),
      ...(flavour === 'psrp' ? ['ansible_psrp_user'] : []),
    ])?.value ?? d.user;
  if (user !== undefined) settings.user = user;
  const pw = r.text(PASSWORD_VARS);
  if (pw) settings.password = new Secret(pw.value);
  const port = r.integer(['ansible_port', ...(flavour === 'ssh' ? ['ansible_ssh_port'] : [])], 1, 65535);
  if (port !== undefined) settings.port = port;

  if (flavour === 'ssh') {
    settings.ssh = sshFromVars(r, d.ssh ?? {}, ctx, host);
  } else if (flavour === 'winrm' || flavour === 'psrp') {
    settings.winrm = winrmFromVars(r, flavour, settings, d.winrm ?? {}, ctx, host);
  } else if (transport === 'pwsh') {
    settings.pwsh = { mode: d.pwsh?.mode ?? 'hostname', ...(d.pwsh?.keyFilePath ? { keyFilePath: d.pwsh.keyFilePath } : {}) };
  } else if (transport === 'local') {
    throw new InputError('the local transport (lab hosts) needs a native svcfleet inventory with local.stateDir', { host });
  }
  return settings;
}

function sshFromVars(r: VarReader, base: SshSettings, ctx: ConnectionContext, host: string): SshSettings {
  const ssh: SshSettings = { ...base };
  const key = r.text(['ansible_ssh_private_key_file', 'ansible_private_key_file']);
  if (key) ssh.identityFile = expandHome(key.value, ctx.env);
  const shell = r.text(['ansible_shell_type']);
  if (shell && !['powershell', 'cmd'].includes(shell.value.toLowerCase())) {
    throw new InputError(
      `ansible_shell_type ${JSON.stringify(shell.value)} is not supported: svcfleet runs powershell.exe on Windows hosts (use powershell or cmd)`,
      r.where(shell.key),
    );
  }
  const check = r.bool(['ansible_host_key_checking', 'ansible_ssh_host_key_checking']);
  if (check && !check.value) {
    // svcfleet never accepts a CHANGED host key; the closest safe reading of "don't check" is trust-on-first-use.
    ssh.hostKeyPolicy = 'accept-new';
    ctx.warn(`${host}: ${check.key}=false — svcfleet records unknown host keys (accept-new) but still refuses changed ones`);
  }
  return ssh;
}

function winrmFromVars(
  r: VarReader,
  flavour: 'winrm' | 'psrp',
  settings: ConnectionSettings,
  base: Partial<WinrmSettings>,
  ctx: ConnectionContext,
  host: string,
): WinrmSettings {
  const v = (suffix: string): string => `ansible_${flavour}_${suffix}`;
  const schemeVar = r.choice([flavour === 'winrm' ? v('scheme') : v('protocol')], ['http', 'https'] as const);
  let scheme: 'http' | 'https';
  if (schemeVar) scheme = schemeVar.value;
  else if (settings.port === 5985) scheme = 'http';
  else if (settings.port === 5986) scheme = 'https';
  else scheme = base.scheme ?? 'https';

  const auth = authFromVars(r, flavour, base.auth ?? 'ntlm', scheme);
  const w: WinrmSettings = { ...base, scheme, auth };
  const kerberos = kerberosFromVars(r, flavour, base.kerberos, auth, settings);
  if (kerberos) w.kerberos = kerberos;

  const validation = flavour === 'winrm' ? r.choice([v('server_cert_validation')], ['validate', 'ignore'] as const) : psrpValidation(r);
  if (validation) {
    w.certValidation = validation.value;
    if (validation.value === 'ignore') {
      const where = r.where(validation.key);
      ctx.warn(
        `${host}: TLS certificate validation is OFF (${validation.key}=ignore${where.file ? ` at ${where.file}${where.line ? `:${where.line}` : ''}` : ''}); anyone on the path can impersonate this host`,
      );
    }
  }
  const ca = r.text([flavour === 'winrm' ? v('ca_trust_path') : v('ca_cert')]);
  if (ca) w.caFile = expandHome(ca.value, ctx.env);
  const path = r.text([v('path')]);
  if (path) w.path = path.value.startsWith('/') ? path.value : `/${path.value}`;
  const opTimeout = r.integer([flavour === 'winrm' ? v('operation_timeout_sec') : v('operation_timeout')], 1, 3600);
  if (opTimeout !== undefined) w.operationTimeoutSeconds = opTimeout;
  const enc = r.choice([v('message_encryption')], ['auto', 'always', 'never'] as const);
  if (enc) w.allowUnencryptedBasic = enc.value === 'never';
  if (enc?.value === 'never') {
    const where = r.where(enc.key);
    ctx.warn(
      `${host}: ${enc.key}=never${where.file ? ` at ${where.file}${where.line ? `:${where.line}` : ''}` : ''} allows Basic authentication over plain HTTP: the password and every command can travel in clear text`,
    );
  }
  return w;
}

function psrpValidation(r: VarReader): { key: string; value: 'validate' | 'ignore' } | undefined {
  const key = 'ansible_psrp_cert_validation';
  if (!r.has(key)) return undefined;
  const raw = r.raw(key);
  if (raw === false || String(raw).toLowerCase() === 'ignore' || String(raw).toLowerCase() === 'false') return { key, value: 'ignore' };
  if (raw === true || String(raw).toLowerCase() === 'validate' || String(raw).toLowerCase() === 'true') return { key, value: 'validate' };
  throw new InputError(`expected ignore, validate or a boolean, got ${JSON.stringify(raw)}`, r.where(key));
}

const UNSUPPORTED_AUTH = ['credssp', 'certificate'];

/**
 * Kerberos variables as Ansible's winrm plugin (and pywinrm) read them, or psrp's (pypsrp) names:
 *   ansible_winrm_kinit_mode managed|manual — managed: Ansible runs kinit with ansible_password, manual: the
 *     user's ticket cache; unset: managed when a password is given (the plugin's own default) → credentials
 *     password|cache;
 *   ansible_winrm_kerberos_delegation / ansible_psrp_negotiate_delegate (bool) → delegation (kinit -f + GSS
 *     delegation flag);
 *   ansible_winrm_service / ansible_psrp_negotiate_service (default HTTP) → service;
 *   ansible_winrm_kerberos_hostname_override / ansible_psrp_negotiate_hostname_override → hostnameOverride.
 */
function kerberosFromVars(
  r: VarReader,
  flavour: 'winrm' | 'psrp',
  base: WinrmSettings['kerberos'],
  auth: WinrmSettings['auth'],
  settings: ConnectionSettings,
): WinrmSettings['kerberos'] {
  const k: NonNullable<WinrmSettings['kerberos']> = { ...base };
  const names =
    flavour === 'winrm'
      ? { delegation: 'ansible_winrm_kerberos_delegation', service: 'ansible_winrm_service', hostname: 'ansible_winrm_kerberos_hostname_override' }
      : { delegation: 'ansible_psrp_negotiate_delegate', service: 'ansible_psrp_negotiate_service', hostname: 'ansible_psrp_negotiate_hostname_override' };
  if (flavour === 'winrm') {
    const mode = r.choice(['ansible_winrm_kinit_mode'], ['managed', 'manual'] as const);
    if (mode) {
      if (mode.value === 'managed' && !settings.password && (auth === 'kerberos' || auth === 'negotiate')) {
        throw new InputError('ansible_winrm_kinit_mode=managed needs ansible_password (kinit runs with it)', r.where(mode.key));
      }
      k.credentials = mode.value === 'managed' ? 'password' : 'cache';
    }
  }
  const delegation = r.bool([names.delegation]);
  if (delegation) k.delegation = delegation.value;
  const service = r.text([names.service]);
  if (service) k.service = service.value;
  const hostname = r.text([names.hostname]);
  if (hostname) k.hostnameOverride = hostname.value;
  return Object.keys(k).length ? k : undefined;
}

/**
 * ansible_winrm_transport may list several transports that Ansible tries in order; svcfleet takes the first
 * one it supports. `ssl` is Basic over HTTPS; `negotiate` (pypsrp's default) is Kerberos with NTLM fallback.
 * Only unsupported ones (credssp, certificate) → error.
 */
function authFromVars(r: VarReader, flavour: 'winrm' | 'psrp', fallback: WinrmSettings['auth'], scheme: 'http' | 'https'): WinrmSettings['auth'] {
  const key = flavour === 'winrm' ? 'ansible_winrm_transport' : 'ansible_psrp_auth';
  if (!r.has(key)) return fallback;
  const raw = r.raw(key);
  const list = (Array.isArray(raw) ? raw.map(String) : String(raw).split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const t of list) {
    if (t === 'ntlm') return 'ntlm';
    if (t === 'kerberos') return 'kerberos';
    if (t === 'negotiate') return 'negotiate';
    if (t === 'basic' || t === 'plaintext') return 'basic';
    if (t === 'ssl') {
      if (scheme !== 'https') throw new InputError('the ssl transport is Basic over HTTPS, but the scheme is http', r.where(key));
      return 'basic';
    }
    if (!UNSUPPORTED_AUTH.includes(t)) throw new InputError(`unknown WinRM transport ${JSON.stringify(t)}`, r.where(key));
  }
  throw new InputError(
    `${list.join(', ') || 'this'} authentication is not supported yet (svcfleet supports ntlm, kerberos, negotiate and basic over WinRM)`,
    r.where(key),
  );
}

/** Identity files the ssh transport tries when none is configured (transport/ssh/auth.ts). */
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * Why an ssh host cannot authenticate at all, or undefined: no password, no identity file, no agent (ssh.agent,
 * else SSH_AUTH_SOCK) and none of ~/.ssh/id_{ed25519,ecdsa,rsa}. Caught here, such a host is a configuration
 * error before anything is contacted, not an `unreachable [auth-failed]` after a connection.
 */
export function sshCredentialProblem(settings: ConnectionSettings, env: Record<string, string | undefined>): string | undefined {
  // A key file the inventory names but that cannot be read is a typo or a missing deployment step: say so before
  // any host is contacted, not as `auth-failed` after the connection.
  const keyFile = settings.transport === 'ssh' ? settings.ssh?.identityFile : settings.transport === 'pwsh' ? settings.pwsh?.keyFilePath : undefined;
  if (keyFile) {
    const problem = unreadableFile(keyFile);
    if (problem) return `the SSH identity file ${keyFile} ${problem} (ansible_ssh_private_key_file / ssh.identityFile)`;
  }
  if (settings.transport !== 'ssh' || settings.password || settings.ssh?.identityFile) return undefined;
  if (settings.ssh?.agent ?? env.SSH_AUTH_SOCK) return undefined;
  const home = env.HOME ?? env.USERPROFILE ?? homedir();
  if (DEFAULT_IDENTITIES.some((f) => existsSync(join(home, '.ssh', f)))) return undefined;
  return (
    'no SSH credentials: set a password (ansible_password / password: { env: VAR }), an identity file ' +
    '(ansible_ssh_private_key_file / ssh.identityFile), an ssh-agent (SSH_AUTH_SOCK / ssh.agent), or create ~/.ssh/id_ed25519'
  );
}

/** Why `path` cannot be read as a file, or undefined when it can. */
function unreadableFile(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'is not a file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${code ?? String(err)})`;
  }
}

function expandHome(p: string, env: Record<string, string | undefined>): string {
  if (p === '~' || p.startsWith('~/')) {
    const home = env.HOME ?? env.USERPROFILE;
    if (home) return home + p.slice(1);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// Native inventories

export interface NativeConnection {
  transport?: TransportKind;
  address?: string;
  port?: number;
  user?: string;
  password?: SecretRef;
  ssh?: Omit<SshSettings, 'passphrase'> & { passphrase?: SecretRef };
  winrm?: Partial<WinrmSettings>;
  pwsh?: Partial<PwshSettings>;
  local?: { stateDir?: string };
}

/**
 * ConnectionSettings for a native-inventory host: config defaults < inventory defaults < the host's own keys
 * (ssh/winrm/pwsh objects merge key by key). Paths are already absolute (native.ts resolves them).
 */
export function connectionFromNative(
  host: string,
  defaults: NativeConnection,
  own: NativeConnection,
  origin: Origin,
  ctx: ConnectionContext & { baseDir: string },
): ConnectionSettings {
  const d = ctx.defaults;
  const where = (field: string): InputLocation => ({ ...locate(origin), field, host });
  const secrets = { env: ctx.env, baseDir: ctx.baseDir };
  const transport = own.transport ?? defaults.transport ?? d.transport ?? 'ssh';
  const settings: ConnectionSettings = { transport, address: own.address ?? host };
  warnWeakNative(host, transport, defaults, own, origin, ctx);
  const port = own.port ?? defaults.port;
  if (port !== undefined) settings.port = port;
  const user = own.user ?? defaults.user ?? d.user;
  if (user !== undefined) settings.user = user;
  const pw = own.password ?? defaults.password;
  if (pw) settings.password = resolveSecretRefSync(pw, secrets, where(own.password ? `hosts.${host}.password` : 'defaults.password'));

  if (transport === 'ssh' || transport === 'pwsh') {
    // pwsh -HostName is PowerShell remoting over SSH: it needs the same known_hosts, identity and shell settings.
    const ownPassphrase = own.ssh?.passphrase ?? defaults.ssh?.passphrase;
    const ssh: SshSettings = { ...d.ssh, ...withoutPassphrase(defaults.ssh), ...withoutPassphrase(own.ssh) };
    if (ownPassphrase) ssh.passphrase = resolveSecretRefSync(ownPassphrase, secrets, where('ssh.passphrase'));
    settings.ssh = ssh;
  }
  if (transport === 'winrm') {
    const w = { ...d.winrm, ...defaults.winrm, ...own.winrm };
    const kerberos = { ...d.winrm?.kerberos, ...defaults.winrm?.kerberos, ...own.winrm?.kerberos };
    if (Object.keys(kerberos).length) w.kerberos = kerberos;
    settings.winrm = { ...w, scheme: w.scheme ?? 'https', auth: w.auth ?? 'ntlm' };
    if (settings.winrm.certValidation === 'ignore') {
      ctx.warn(`${host}: TLS certificate validation is OFF (winrm.certValidation: ignore in ${origin.file}); anyone on the path can impersonate this host`);
    }
  } else if (transport === 'pwsh') {
    const p = { ...d.pwsh, ...defaults.pwsh, ...own.pwsh };
    settings.pwsh = { ...p, mode: p.mode ?? 'hostname' };
  } else if (transport === 'local') {
    const stateDir = own.local?.stateDir ?? defaults.local?.stateDir;
    if (!stateDir) throw new InputError('the local transport needs local.stateDir', where(`hosts.${host}.local.stateDir`));
    settings.local = { stateDir };
  }
  return settings;
}

/**
 * Security-weakening settings of a native inventory, named with the layer that decides them: the defaults (the
 * same text for every host, so loadInventory keeps one) or the host's own keys. certValidation warns above.
 */
function warnWeakNative(
  host: string,
  transport: TransportKind,
  defaults: NativeConnection,
  own: NativeConnection,
  origin: Origin,
  ctx: ConnectionContext,
): void {
  const from = (layer: NativeConnection): string => (layer === own ? `${host}: in ${origin.file}` : `inventory defaults in ${origin.file}`);
  const keys = own.ssh?.hostKeyPolicy !== undefined ? own : defaults;
  if ((transport === 'ssh' || transport === 'pwsh') && keys.ssh?.hostKeyPolicy === 'accept-new') {
    ctx.warn(`${from(keys)}: ssh.hostKeyPolicy: accept-new: an unknown host key is trusted on first use and recorded (a changed key is still refused)`);
  }
  const basic = own.winrm?.allowUnencryptedBasic !== undefined ? own : defaults;
  if (transport === 'winrm' && basic.winrm?.allowUnencryptedBasic) {
    ctx.warn(`${from(basic)}: winrm.allowUnencryptedBasic: true: Basic authentication over plain HTTP sends the password and every command in clear text`);
  }
}

function withoutPassphrase(ssh: NativeConnection['ssh']): Omit<SshSettings, 'passphrase'> {
  if (!ssh) return {};
  const { passphrase: _ignored, ...rest } = ssh;
  return rest;
}
