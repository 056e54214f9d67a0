/**
 * Maps what ssh2 and the socket report to the transport's error classes. The phase matters to the engine: an
 * error before `command` means nothing ran on the host; in `command` the outcome is unknown until asked again.
 */
import { TransportError, type TransportPhase } from '../types.js';

interface Ssh2Error extends Error {
  level?: string;
  code?: string | number;
  description?: string;
}

/** TCP-level codes that mean "nothing reached the host". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** RFC 4253 §11.1 SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE. */
const DISCONNECT_NO_MORE_AUTH_METHODS = 14;

export function classifySshError(err: unknown, phase: TransportPhase, where: string): TransportError {
  if (err instanceof TransportError) return err;
  const e = (err instanceof Error ? err : new Error(String(err))) as Ssh2Error;
  const code = e.code;
  const msg = `${where}: ${e.message}`;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return new TransportError('unreachable', phase, msg, { cause: e });
  }
  if (e.level === 'client-authentication' || code === DISCONNECT_NO_MORE_AUTH_METHODS) {
    return new TransportError('auth-failed', 'auth', msg, { cause: e });
  }
  if (e.level === 'client-timeout') return new TransportError('timeout', phase, msg, { cause: e });
  if (e.level === 'handshake' || e.level === 'protocol') {
    return new TransportError('protocol', phase, msg, { cause: e });
  }
  if (typeof code === 'string' && (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT')) {
    // The host was reached, then the connection died.
    return phase === 'command'
      ? new TransportError('remote-failed', phase, `${msg} (connection lost mid-command; outcome unknown)`, {
          cause: e,
        })
      : new TransportError('unreachable', phase, msg, { cause: e });
  }
  if (typeof code === 'number') {
    // An SSH DISCONNECT from the server with a reason.
    return new TransportError(phase === 'command' ? 'remote-failed' : 'protocol', phase, msg, { cause: e });
  }
  return new TransportError(phase === 'command' ? 'remote-failed' : 'protocol', phase, msg, { cause: e });
}
