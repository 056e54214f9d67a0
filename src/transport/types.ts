/**
 * One interface for every way of reaching a host: open, run one invocation (bootstrap + stdin payload) as a
 * stream of output and an exit status, close. Built-in implementations: ssh/ (ssh2), winrm/ (our WS-Management
 * client), pwsh/ (the controller's PowerShell, Invoke-Command). Others register under a name of their own (the
 * lab's `local` transport, src/lab/transport, is one); transport/ knows nothing about them.
 */
import type { Secret } from '../util/secret.js';

/** The transports that ship with svcfleet and reach real hosts. */
export type BuiltinTransportKind = 'ssh' | 'winrm' | 'pwsh';

/**
 * The name a transport is registered under: a built-in kind or any other registered name (e.g. the lab's
 * `local`). Which names exist is the registry's business at run time, not this type's.
 */
export type TransportKind = BuiltinTransportKind | (string & {});

export type TransportErrorClass =
  | 'unreachable' // TCP refused / no route / DNS: nothing reached the host
  | 'auth-failed'
  | 'hostkey-unknown' // the host has no known key (strict): verify its fingerprint, then trust it
  | 'hostkey-mismatch' // the host presented another key than the known one (changed, revoked): a possible MITM
  | 'tls-untrusted'
  | 'timeout' // a connect, auth or command deadline passed (see `phase`)
  | 'protocol' // the peer spoke garbage or broke the protocol
  | 'remote-failed' // the remote process could not be started or died abnormally
  | 'aborted'; // our AbortSignal fired

/** Which deadline or step an error happened in; the engine uses it to tell "nothing changed" from "unknown". */
export type TransportPhase = 'connect' | 'auth' | 'command';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly errorClass: TransportErrorClass,
    readonly phase: TransportPhase,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * The most specific code for reports: a subclass's own (e.g. `krb-clock-skew`), else the error class. Run
   * reports group and filter on it, so an operator sees *which* Kerberos failure without reading messages.
   */
  get reportCode(): string {
    return this.errorClass;
  }
}

export interface SshSettings {
  /** Remote executable for the bootstrap: 'powershell.exe' (default) or 'pwsh'. */
  shell?: 'powershell.exe' | 'pwsh';
  identityFile?: string;
  passphrase?: Secret;
  /** Use the ssh-agent at this socket (default: $SSH_AUTH_SOCK when set). */
  agent?: string;
  knownHostsFile?: string;
  /** strict (default): unknown or changed keys fail. accept-new: record unknown keys; changed keys still fail. */
  hostKeyPolicy?: 'strict' | 'accept-new';
  keepaliveIntervalMs?: number;
}

export interface WinrmSettings {
  scheme: 'http' | 'https';
  /** negotiate: Kerberos when a ticket can be had, else NTLM (what Windows' Negotiate does). */
  auth: 'ntlm' | 'basic' | 'kerberos' | 'negotiate';
  kerberos?: KerberosSettings;
  /** 'validate' (default) or 'ignore' (explicit, loudly reported opt-in). */
  certValidation?: 'validate' | 'ignore';
  caFile?: string;
  /** Basic over plain HTTP is refused unless this is set. */
  allowUnencryptedBasic?: boolean;
  /** WS-Man OperationTimeout for Receive long-polls, seconds (default 20). */
  operationTimeoutSeconds?: number;
  path?: string; // default '/wsman'
}

/** Where the controller's Kerberos ticket comes from, and what it asks for (docs/transport-winrm.md). */
export interface KerberosSettings {
  /**
   * cache: the user's credential cache (KRB5CCNAME or `ccache`, after their own kinit) — the default without a
   * password; password: kinit with the password into a cache private to the run — the default with one;
   * keytab: kinit from `keytab` into a private cache.
   */
  credentials?: 'cache' | 'password' | 'keytab';
  /** Credential cache name for `cache` (e.g. FILE:/tmp/krb5cc_1000); default: $KRB5CCNAME, then libkrb5's default. */
  ccache?: string;
  keytab?: string;
  /** Ask for a forwardable ticket and delegate it to the host (second hop). */
  delegation?: boolean;
  /** Service class of the host's SPN (default HTTP: HTTP/<host>). */
  service?: string;
  /** Host name for the SPN when the address is not the name the SPN was registered for (e.g. an IP address). */
  hostnameOverride?: string;
  /**
   * krb5.conf for this host's realm (KRB5_CONFIG for kinit and the GSS calls); default: the environment's
   * KRB5_CONFIG, then libkrb5's default (/etc/krb5.conf). Lets one controller reach a realm its system
   * configuration does not know, such as the lab realm of `svcfleet lab up --auth kerberos`.
   */
  krb5Config?: string;
}

export interface PwshSettings {
  /** -HostName (PowerShell remoting over SSH) or -ComputerName (WinRM, from a Windows controller). */
  mode: 'hostname' | 'computername';
  keyFilePath?: string;
}

/**
 * Settings of the lab's `local` transport (src/lab/transport): the emulated host's state directory. Native
 * inventories of lab hosts carry it as data (`local.stateDir`), so the inventory fills it in; only the lab
 * transport reads it. Not a built-in transport's settings.
 */
export interface LocalSettings {
  stateDir: string;
}

/** How to reach one host, resolved from inventory + config + flags. Secrets stay wrapped. */
export interface ConnectionSettings {
  transport: TransportKind;
  address: string;
  port?: number;
  user?: string;
  password?: Secret;
  ssh?: SshSettings;
  winrm?: WinrmSettings;
  pwsh?: PwshSettings;
  /** For `transport: local` (lab hosts); see LocalSettings. */
  local?: LocalSettings;
}

export interface Deadlines {
  connectMs: number;
  authMs: number;
  commandMs: number;
}

export const DEFAULT_DEADLINES: Deadlines = { connectMs: 10_000, authMs: 15_000, commandMs: 300_000 };

/** One remote run: powershell.exe -EncodedCommand <encodedCommand>, with `stdin` written then closed. */
export interface Invocation {
  /** Base64 of the UTF-16LE bootstrap (what -EncodedCommand takes). */
  encodedCommand: string;
  stdin: Buffer;
  /**
   * The same bytes as `stdin`, in pieces, when the invocation was built from them (remote/invocation.ts: the
   * payload's constant ~130 KB head, shared by every invocation, and the request). A transport that can write
   * pieces writes these and never reads `stdin`, which may be joined only when read: a copy of the head per remote
   * op was 2.6 GB of copying and ~50 MB of Buffers at 10,000 hosts (bench/README.md). Code that changes the
   * stdin of an invocation builds a new one rather than spreading it, so the two never disagree.
   */
  stdinParts?: readonly Buffer[];
}

/**
 * The arguments every transport passes to powershell.exe / pwsh before `-EncodedCommand <bootstrap>`:
 * no logo, no profile (profiles print banners and slow start-up), never prompt, and no execution-policy
 * refusal of the bootstrap (docs/reference/ssh.md#default-shell, as Ansible does). They sit beside Invocation, in the transport
 * layer, because the transports build the command line; remote/invocation.ts only fills the Invocation.
 */
export const POWERSHELL_ARGS = ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass'] as const;

export interface ExecOptions {
  signal?: AbortSignal;
  commandMs: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  /** Raw stderr, CLIXML blocks included; see remote/clixml.ts to decode. */
  stderr: string;
}

export interface Session {
  exec(invocation: Invocation, options: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

export interface OpenOptions {
  signal?: AbortSignal;
  deadlines: Deadlines;
  /**
   * Where this host's session reports what weakens its security or a fallback it took (TLS verification off,
   * Kerberos falling back to NTLM, a cleanup that failed). The engine turns it into the host's `host-log` warn
   * event, so every sink shows it and the journal keeps it; without it the transport's own default applies.
   */
  onWarning?: (message: string) => void;
}

export interface Transport {
  readonly kind: TransportKind;
  open(host: string, settings: ConnectionSettings, options: OpenOptions): Promise<Session>;
  /** Release pooled resources (agents, handshake limiters). */
  dispose?(): Promise<void>;
}
