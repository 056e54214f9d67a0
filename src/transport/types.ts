/**
 * One interface for every way of reaching a host: open, run one invocation (bootstrap + stdin payload) as a
 * stream of output and an exit status, close. Implementations: ssh/ (ssh2), winrm/ (our WS-Management client),
 * pwsh/ (the controller's PowerShell, Invoke-Command), local/ (lab only: a local pwsh with the emulated SCM).
 */
import type { Secret } from '../util/secret.js';

export type TransportKind = 'ssh' | 'winrm' | 'pwsh' | 'local';

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
  auth: 'ntlm' | 'basic';
  /** 'validate' (default) or 'ignore' (explicit, loudly reported opt-in). */
  certValidation?: 'validate' | 'ignore';
  caFile?: string;
  /** Basic over plain HTTP is refused unless this is set. */
  allowUnencryptedBasic?: boolean;
  /** WS-Man OperationTimeout for Receive long-polls, seconds (default 20). */
  operationTimeoutSeconds?: number;
  path?: string; // default '/wsman'
}

export interface PwshSettings {
  /** -HostName (PowerShell remoting over SSH) or -ComputerName (WinRM, from a Windows controller). */
  mode: 'hostname' | 'computername';
  keyFilePath?: string;
}

export interface LocalSettings {
  /** Emulated host state directory (lab). */
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
}

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
}

export interface Transport {
  readonly kind: TransportKind;
  open(host: string, settings: ConnectionSettings, options: OpenOptions): Promise<Session>;
  /** Release pooled resources (agents, handshake limiters). */
  dispose?(): Promise<void>;
}
