/**
 * Builds the one thing every transport carries: `powershell.exe -EncodedCommand <bootstrap>` plus a single ASCII
 * JSON line `{script, request}` on stdin (docs/reference/winrm.md#the-cmdexe-command-line-limit workaround 1; docs/reference/powershell.md#console-encoding-and-structured-output).
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

/** The wire request: the Secret (if any) revealed at its one permitted place, desired.account.password. */
function toWire(request: OutgoingRequest): RemoteRequest {
  const account = request.desired?.account;
  if (!account || account.password === undefined) return request as RemoteRequest;
  const password = account.password instanceof Secret ? account.password.reveal() : account.password;
  return { ...request, desired: { ...request.desired, account: { ...account, password } } };
}

export function buildPayload(request: OutgoingRequest): Payload {
  const { engine, native } = loadPsScripts();
  return { script: engine, native, request: toWire(request) };
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
  // Byte-identical to asciiJson(buildPayload(request)) and a newline: the same keys in the same order.
  const tail = Buffer.from(`${asciiJson(toWire(request))}}\n`, 'ascii');
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
