/**
 * One WinRS command run over an authenticated channel: Create shell → Command → Send stdin (chunked, End=true) →
 * Receive until CommandState Done → Signal terminate → Delete. Signal and Delete run in `finally` with their
 * own small budget, after success, failure, deadline or abort alike, so no shell is left behind on the host.
 */
import { StringDecoder } from 'node:string_decoder';
import { TransportError } from '../types.js';
import type { ExecResult } from '../types.js';
import type { WinrmChannel } from './http-channel.js';
import {
  Action,
  buildEnvelope,
  commandBody,
  createShellBody,
  describeFault,
  isOperationTimeout,
  type ParsedEnvelope,
  parseCommandId,
  parseEnvelope,
  parseReceive,
  parseShellId,
  receiveBody,
  sendBody,
  Signal,
  signalBody,
  WsmanProtocolError,
} from './wsman.js';

export interface WinrsOptions {
  /** The endpoint URL, for a:To. */
  endpoint: string;
  operationTimeoutSeconds: number;
  /** Largest response envelope we accept (w:MaxEnvelopeSize), bytes. */
  maxEnvelopeSize: number;
  /** Extra time on top of OperationTimeout before a Receive read times out (docs/reference/winrm.md#winrs-command-flow: +10 s). */
  readMarginMs: number;
  /** Budget for Signal + Delete after the command, ms. */
  cleanupMs: number;
  onWarning?: (message: string) => void;
}

export interface WinrsRun {
  command: string;
  args: readonly string[];
  stdin: Buffer;
  commandMs: number;
  signal?: AbortSignal;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

/** Raw stdin bytes per Send envelope: 96 KiB becomes 128 KiB of base64, under the ~150 KB clients send by default. */
export const STDIN_CHUNK_BYTES = 96 * 1024;

/** WSManFault code for "Access is denied". */
const ACCESS_DENIED = 5;

export class WinrsClient {
  readonly #channel: WinrmChannel;
  readonly #o: WinrsOptions;

  constructor(channel: WinrmChannel, options: WinrsOptions) {
    this.#channel = channel;
    this.#o = options;
  }

  async run(run: WinrsRun): Promise<ExecResult> {
    const ctl = new AbortController();
    const onOuterAbort = (): void => ctl.abort('aborted');
    if (run.signal?.aborted) throw new TransportError('aborted', 'command', 'aborted before the command started');
    run.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const deadline = setTimeout(() => ctl.abort('deadline'), run.commandMs);
    let shellId: string | undefined;
    let commandId: string | undefined;
    let finished = false;
    try {
      shellId = await this.#create(ctl.signal);
      commandId = await this.#command(shellId, run, ctl.signal);
      await this.#sendStdin(shellId, commandId, run.stdin, ctl.signal);
      const result = await this.#receiveAll(shellId, commandId, run, ctl.signal);
      finished = true;
      return result;
    } catch (err) {
      if (ctl.signal.aborted) {
        if (ctl.signal.reason === 'deadline') {
          throw new TransportError('timeout', 'command', `command did not finish within ${run.commandMs} ms`, { cause: err });
        }
        throw new TransportError('aborted', 'command', 'command aborted', { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(deadline);
      run.signal?.removeEventListener('abort', onOuterAbort);
      if (shellId) await this.#cleanup(shellId, commandId, finished);
    }
  }

  async #call(
    action: string,
    body: string,
    o: { shellId?: string; options?: Record<string, string>; signal: AbortSignal; replayable?: boolean },
  ): Promise<ParsedEnvelope> {
    const operation = action.slice(action.lastIndexOf('/') + 1);
    const { xml, messageId } = buildEnvelope(
      {
        to: this.#o.endpoint,
        action,
        operationTimeoutSeconds: this.#o.operationTimeoutSeconds,
        maxEnvelopeSize: this.#o.maxEnvelopeSize,
        ...(o.shellId ? { shellId: o.shellId } : {}),
        ...(o.options ? { options: o.options } : {}),
      },
      body,
    );
    const res = await this.#channel.post(xml, {
      signal: o.signal,
      readTimeoutMs: this.#o.operationTimeoutSeconds * 1000 + this.#o.readMarginMs,
      operation,
      replayable: o.replayable ?? false,
    });
    let env: ParsedEnvelope;
    try {
      env = parseEnvelope(res.text);
    } catch (err) {
      const preview = res.text.slice(0, 80).replace(/\s+/g, ' ');
      throw new TransportError(
        'protocol',
        'command',
        `${operation}: HTTP ${res.status} with an unreadable body (${(err as Error).message}): ${JSON.stringify(preview)}`,
        { cause: err },
      );
    }
    if (env.relatesTo !== undefined && env.relatesTo.toUpperCase() !== messageId.toUpperCase()) {
      throw new TransportError('protocol', 'command', `${operation}: response RelatesTo ${env.relatesTo} does not match request ${messageId}`);
    }
    if (env.fault) {
      if (res.status !== 500 && res.status !== 400) throw new TransportError('protocol', 'command', `${operation}: SOAP fault with HTTP ${res.status}`);
      return env; // callers decide; Receive retries operation timeouts
    }
    if (res.status !== 200) throw new TransportError('protocol', 'command', `${operation}: unexpected HTTP ${res.status} without a SOAP fault`);
    return env;
  }

  #faultError(operation: string, env: ParsedEnvelope): TransportError {
    const fault = env.fault!;
    if (fault.wsmanCode === ACCESS_DENIED) return new TransportError('auth-failed', 'auth', `${operation}: ${describeFault(fault)}`);
    return new TransportError('remote-failed', 'command', `${operation} failed: ${describeFault(fault)}`);
  }

  async #create(signal: AbortSignal): Promise<string> {
    const env = await this.#call(Action.Create, createShellBody(), {
      signal,
      // Create is the first request after an idle gap, when a server-closed keep-alive connection shows up.
      replayable: true,
      options: { WINRS_NOPROFILE: 'TRUE', WINRS_CODEPAGE: '65001' },
    });
    if (env.fault) throw this.#faultError('Create shell', env);
    return guard(() => parseShellId(env));
  }

  async #command(shellId: string, run: WinrsRun, signal: AbortSignal): Promise<string> {
    const env = await this.#call(Action.Command, commandBody(run.command, run.args), {
      shellId,
      signal,
      // Stdin is a pipe we feed (not a console), and no cmd.exe in between: no 8191-character line, no quoting.
      options: { WINRS_CONSOLEMODE_STDIN: 'FALSE', WINRS_SKIP_CMD_SHELL: 'TRUE' },
    });
    if (env.fault) throw this.#faultError('Command', env);
    return guard(() => parseCommandId(env));
  }

  async #sendStdin(shellId: string, commandId: string, stdin: Buffer, signal: AbortSignal): Promise<void> {
    let offset = 0;
    do {
      const chunk = stdin.subarray(offset, offset + STDIN_CHUNK_BYTES);
      offset += chunk.length;
      const end = offset >= stdin.length;
      const env = await this.#call(Action.Send, sendBody(commandId, chunk, end), { shellId, signal });
      if (env.fault) throw this.#faultError('Send', env);
    } while (offset < stdin.length);
  }

  async #receiveAll(shellId: string, commandId: string, run: WinrsRun, signal: AbortSignal): Promise<ExecResult> {
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const out = { stdout: '', stderr: '' };
    const emit = (stream: 'stdout' | 'stderr', text: string): void => {
      if (!text) return;
      out[stream] += text;
      (stream === 'stdout' ? run.onStdout : run.onStderr)?.(text);
    };
    while (true) {
      const env = await this.#call(Action.Receive, receiveBody(commandId), { shellId, signal });
      if (env.fault) {
        if (isOperationTimeout(env.fault)) continue; // the long-poll expired with nothing to say: ask again
        throw this.#faultError('Receive', env);
      }
      const r = guard(() => parseReceive(env, commandId));
      for (const c of r.chunks) emit(c.stream, decoders[c.stream].write(c.data));
      if (r.done) {
        emit('stdout', decoders.stdout.end());
        emit('stderr', decoders.stderr.end());
        return { exitCode: r.exitCode, stdout: out.stdout, stderr: out.stderr };
      }
    }
  }

  /** Signal (ctrl_c first if the command did not finish, then terminate) and Delete, whatever happened before. */
  async #cleanup(shellId: string, commandId: string | undefined, finished: boolean): Promise<void> {
    const budget = AbortSignal.timeout(this.#o.cleanupMs);
    const attempt = async (what: string, fn: () => Promise<ParsedEnvelope>): Promise<void> => {
      try {
        const env = await fn();
        if (env.fault) this.#o.onWarning?.(`${what}: ${describeFault(env.fault)}`);
      } catch (err) {
        this.#o.onWarning?.(`${what} failed: ${(err as Error).message}`);
      }
    };
    if (commandId) {
      if (!finished) {
        await attempt('Signal ctrl_c', () => this.#call(Action.Signal, signalBody(commandId, Signal.ctrlC), { shellId, signal: budget, replayable: true }));
      }
      await attempt('Signal terminate', () =>
        this.#call(Action.Signal, signalBody(commandId, Signal.terminate), { shellId, signal: budget, replayable: true }),
      );
    }
    await attempt('Delete shell', () => this.#call(Action.Delete, '', { shellId, signal: budget, replayable: true }));
  }
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WsmanProtocolError) throw new TransportError('protocol', 'command', err.message, { cause: err });
    throw err;
  }
}
