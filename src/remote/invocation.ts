/**
 * Builds the one thing every transport carries: `powershell.exe -EncodedCommand <bootstrap>` plus the payload on
 * stdin: one ASCII JSON line `{script, native, request}` and, only when the request sets an account password, a
 * second line `hex:<the password's UTF-8 bytes in hex>` (docs/remote-protocol.md "The payload on stdin";
 * docs/reference/winrm.md#the-cmdexe-command-line-limit workaround 1; docs/reference/powershell.md#console-encoding-and-structured-output).
 * The password is never inside the JSON line: the bootstrap parses that line with a cmdlet, and module logging
 * records a cmdlet's parameters (docs/reference/powershell.md "What Windows logs about an svcfleet run").
 */
import { randomBytes } from 'node:crypto';
import type { Invocation } from '../transport/types.js';
import { Secret } from '../util/secret.js';
import type { AccountSetting, DependentsPolicy, DesiredConfig, Payload, RemoteRequest, RestartPolicy, RollbackPolicy, VerifySpec } from './protocol.js';
import { loadPsScripts } from './scripts.js';

/**
 * A request as the controller holds it: the account password stays a `Secret` until the payload is built.
 * (A plain string is accepted too, for requests read from a lab request file.)
 */
export type OutgoingRequest = Omit<RemoteRequest, 'desired'> & {
  desired?: Omit<DesiredConfig, 'account'> & { account?: AccountSetting<string | Secret> };
};

/**
 * One service's wanted change on one host: a rendered request minus the per-call fields (op, runId, nonce).
 * The account password stays a `Secret` here; only the payload builder below reveals it. The spec renders it,
 * plan files keep it and the engine sends it, so it lives here, below all three.
 */
export interface ServiceChange {
  service: string;
  desired?: OutgoingRequest['desired'];
  restart?: RestartPolicy;
  verify?: VerifySpec;
  rollback?: RollbackPolicy;
  dependents?: DependentsPolicy;
  timeouts?: RemoteRequest['timeouts'];
}

const NONCE_BYTES = 24;
/** Random bytes for 256 nonces, drawn at once: one randomBytes call per op was ~2% of the controller's CPU. */
let pool = Buffer.alloc(0);
let poolAt = 0;

/** A fresh per-call nonce: 24 random bytes (CSPRNG, never reused), base64url (32 characters). */
export function newNonce(): string {
  if (poolAt + NONCE_BYTES > pool.length) {
    pool = randomBytes(NONCE_BYTES * 256);
    poolAt = 0;
  }
  const nonce = pool.toString('base64url', poolAt, poolAt + NONCE_BYTES);
  poolAt += NONCE_BYTES;
  return nonce;
}

/** Base64 of the UTF-16LE text, which is what -EncodedCommand takes. */
export function encodeCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/**
 * JSON with every non-ASCII character escaped as \uXXXX, so no console code page on the way can change a byte.
 * JSON.stringify already escapes control characters and lone surrogates, and never emits a raw newline.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The wire request and the password apart: the request without `desired.account.password` (it goes into the JSON
 * line), and the password itself (the Secret revealed at its one permitted place), which gets a line of its own.
 */
function splitPassword(request: OutgoingRequest): { wire: RemoteRequest; password: string | undefined } {
  const account = request.desired?.account;
  if (!account || account.password === undefined) return { wire: request as RemoteRequest, password: undefined };
  const { password, ...rest } = account;
  return {
    wire: { ...request, desired: { ...request.desired, account: rest } } as RemoteRequest,
    password: password instanceof Secret ? password.reveal() : password,
  };
}

/**
 * The password line: `hex:` and the password's UTF-8 bytes as lowercase hex, so it is one ASCII line whatever the
 * password holds (quotes, newlines, any script) and never empty. Hex rather than base64: the bootstrap decodes it
 * with plain .NET calls, and PowerShell logs a script that names the base64 decoder as suspicious (event 4104).
 */
export function passwordLine(password: string): string {
  return `hex:${Buffer.from(password, 'utf8').toString('hex')}\n`;
}

/** The object of the JSON line. It never holds the password (see passwordLine). */
export function buildPayload(request: OutgoingRequest): Payload {
  const { engine, native } = loadPsScripts();
  return { script: engine, native, request: splitPassword(request).wire };
}

/**
 * The same invocation with another engine text in its JSON line, every other byte (the password line too) as it
 * was: selftest proves with it that a broken engine fails.
 */
export function withEngineScript(invocation: Invocation, script: string): Invocation {
  const end = invocation.stdin.indexOf(0x0a);
  const line = JSON.parse(invocation.stdin.subarray(0, end).toString('ascii')) as Payload;
  const head = Buffer.from(`${asciiJson({ ...line, script })}\n`, 'ascii');
  // A new invocation, not a spread: the old one's stdinParts would still hold the old bytes.
  return { encodedCommand: invocation.encodedCommand, stdin: Buffer.concat([head, invocation.stdin.subarray(end + 1)]) };
}

/**
 * The constant parts of every invocation, encoded once per process: escaping the ~80 KB engine script for each
 * host cost about 1.2 ms of controller CPU per host (bench/fleet), and encoding the ~130 KB line to bytes per
 * call another ~0.8 ms, so the line's constant head is kept as bytes and only the request is encoded per call.
 */
let constant: { encodedCommand: string; head: Buffer } | undefined;

export function buildInvocation(request: OutgoingRequest): Invocation {
  if (!constant) {
    const { bootstrap, engine, native } = loadPsScripts();
    constant = {
      encodedCommand: encodeCommand(bootstrap),
      head: Buffer.from(`{"script":${asciiJson(engine)},"native":${asciiJson(native)},"request":`, 'ascii'),
    };
  }
  // Byte-identical to asciiJson(buildPayload(request)) and a newline (the same keys in the same order), then the
  // password line when there is a password.
  const { wire, password } = splitPassword(request);
  const tail = Buffer.from(`${asciiJson(wire)}}\n${password === undefined ? '' : passwordLine(password)}`, 'ascii');
  return fromParts(constant.encodedCommand, [constant.head, tail]);
}

/** An invocation whose stdin is `parts` (kept as they are) and is joined into one Buffer only if it is read. */
function fromParts(encodedCommand: string, parts: readonly Buffer[]): Invocation {
  let joined: Buffer | undefined;
  return {
    encodedCommand,
    stdinParts: parts,
    get stdin(): Buffer {
      joined ??= Buffer.concat(parts);
      return joined;
    },
  };
}
