/**
 * Runs one remote operation over any transport session: builds the invocation, streams stdout through the frame
 * parser (events reach `onEvent` as they happen), and returns the one RemoteResult. Every caller (lab invoke, the
 * engine) goes through here, so framing and error reporting are the same everywhere.
 */
import type { Session } from '../transport/types.js';
import { TransportError } from '../transport/types.js';
import { decodeClixml } from './clixml.js';
import { FrameParser } from './frames.js';
import { buildInvocation, type OutgoingRequest } from './invocation.js';
import type { RemoteEvent, RemoteResult } from './protocol.js';

/** Exit codes of the remote process (docs/remote-protocol.md). */
export const RemoteExitCode = {
  ok: 0,
  drifted: 10,
  failed: 11,
  rolledBack: 12,
  rollbackFailed: 13,
  badRequest: 20,
  noPayload: 21,
  engineCrashed: 22,
} as const;

export interface RunRemoteOptions {
  /** Named in errors. */
  host?: string;
  signal?: AbortSignal;
  commandMs: number;
  onEvent?: (event: RemoteEvent) => void;
  /** Raw stderr as it arrives (CLIXML included). */
  onStderr?: (chunk: string) => void;
}

export interface RemoteRun {
  result: RemoteResult;
  exitCode: number | null;
  /** Decoded stderr (CLIXML records), for logs. */
  stderr: string;
  events: RemoteEvent[];
}

export async function runRemote(session: Session, request: OutgoingRequest, options: RunRemoteOptions): Promise<RemoteResult> {
  return (await runRemoteDetailed(session, request, options)).result;
}

export async function runRemoteDetailed(session: Session, request: OutgoingRequest, options: RunRemoteOptions): Promise<RemoteRun> {
  const host = options.host ?? 'remote host';
  const parser = new FrameParser(request.nonce, options.onEvent ? { host, onEvent: options.onEvent } : { host });
  // A protocol error found mid-stream is kept and thrown once the process is done (never leave it running).
  let streamError: unknown;
  let streamed = false;
  const feed = (chunk: string): void => {
    if (streamError) return;
    try {
      parser.push(chunk);
    } catch (err) {
      streamError = err;
    }
  };
  // The invocation (~130 KB: the engine script) is built inline, not held in a local: V8 keeps an async
  // function's locals alive across its awaits, which held one copy per in-flight command (130 MB at 1,000).
  const exec = await session.exec(buildInvocation(request), {
    ...(options.signal ? { signal: options.signal } : {}),
    commandMs: options.commandMs,
    onStdout: (chunk) => {
      streamed = true;
      feed(chunk);
    },
    ...(options.onStderr ? { onStderr: options.onStderr } : {}),
  });
  // A session that does not stream still returns the whole stdout.
  if (!streamed) feed(exec.stdout);
  if (streamError) throw streamError;
  const parsed = parser.finish();
  const stderr = decodeClixml(exec.stderr).text;
  if (!parsed.result) {
    const detail = [stderr && `stderr: ${clip(stderr)}`, parsed.noise.trim() && `stdout: ${clip(parsed.noise.trim())}`].filter(Boolean).join('; ');
    throw new TransportError(
      'protocol',
      'command',
      `${host}: the remote engine ended (exit ${exec.exitCode ?? 'unknown'}) without a result frame${detail ? `; ${detail}` : ''}`,
    );
  }
  return { result: parsed.result, exitCode: exec.exitCode, stderr, events: parsed.events };
}

function clip(text: string, max = 600): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
