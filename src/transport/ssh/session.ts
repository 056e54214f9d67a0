/**
 * One authenticated SSH connection; each `exec` is one channel running the bootstrap with the payload on stdin.
 *
 * Stopping a command (command deadline or AbortSignal) does all three things a peer might honour: a `signal`
 * channel request (OpenSSH delivers it unless the session is forced; Windows sshd ignores it), closing the
 * channel, and ending the connection, which is what makes sshd tear the session down (Win32-OpenSSH ends the
 * session's processes with it). The session is unusable afterwards; the engine opens a new one if needed.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { TransportError, type ExecOptions, type ExecResult, type Invocation, type Session } from '../types.js';
import { powershellCommandLine, type RemoteShell } from './command-line.js';
import { classifySshError } from './errors.js';

/** How long to wait for a polite connection close before destroying the socket. */
const CLOSE_GRACE_MS = 2_000;

export class SshSession implements Session {
  readonly #client: Client;
  readonly #where: string;
  readonly #shell: RemoteShell;
  #closed = false;
  #lost: TransportError | undefined;

  constructor(client: Client, where: string, shell: RemoteShell) {
    this.#client = client;
    this.#where = where;
    this.#shell = shell;
    // After the handshake an error or close is a lost connection: remember it for the next exec, and keep an
    // 'error' listener so an idle session that drops can never crash the controller.
    client.on('error', (err) => {
      this.#lost ??= classifySshError(err, 'command', where);
    });
    client.on('close', () => {
      this.#lost ??= new TransportError('remote-failed', 'command', `${where}: connection lost`);
      this.#closed = true;
    });
  }

  /** Runs a raw command (benchmarks, diagnostics); the transport itself only runs the bootstrap. */
  execRaw(command: string, stdin: Buffer, options: ExecOptions): Promise<ExecResult> {
    return this.#run(command, { parts: [stdin] }, options);
  }

  exec(invocation: Invocation, options: ExecOptions): Promise<ExecResult> {
    let command: string;
    try {
      command = powershellCommandLine(this.#shell, invocation.encodedCommand);
    } catch (err) {
      return Promise.reject(err);
    }
    // The pieces as they are (the shared head is never copied per command), else the one Buffer.
    return this.#run(command, { parts: invocation.stdinParts ?? [invocation.stdin] }, options);
  }

  /**
   * `input` is a box the payload is taken out of once it is written: every closure below shares one scope, so a
   * `stdin` parameter would stay reachable from the channel's listeners until the command ends (the ~130 KB
   * payload once per in-flight command: 130 MB at 1,000 commands that run for minutes).
   */
  #run(command: string, input: { parts?: readonly Buffer[] }, options: ExecOptions): Promise<ExecResult> {
    if (this.#closed || this.#lost) {
      return Promise.reject(this.#lost ?? new TransportError('remote-failed', 'command', `${this.#where}: session is closed`));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new TransportError('aborted', 'command', `${this.#where}: aborted before the command`));
    }
    const client = this.#client;
    const where = this.#where;
    return new Promise<ExecResult>((resolve, reject) => {
      const out = new StringDecoder('utf8');
      const err = new StringDecoder('utf8');
      let stdout = '';
      let stderr = '';
      let exit: { code: number | null; signal?: string } | undefined;
      let channel: ClientChannel | undefined;
      let settled = false;

      const finish = (outcome: { result: ExecResult } | { error: TransportError }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        client.removeListener('close', onLost);
        client.removeListener('error', onError);
        if ('result' in outcome) resolve(outcome.result);
        else reject(outcome.error);
      };
      const stop = (error: TransportError): void => {
        if (settled) return;
        if (channel) {
          try {
            channel.signal('KILL');
          } catch {
            // a closed channel cannot be signalled; the close below still happens
          }
          channel.close();
        }
        this.#lost ??= error;
        void this.close();
        finish({ error });
      };
      const onAbort = (): void => stop(new TransportError('aborted', 'command', `${where}: aborted; remote command stopped`));
      const onLost = (): void => {
        const cause = this.#lost?.cause;
        finish({
          error: new TransportError(
            'remote-failed',
            'command',
            `${where}: connection lost mid-command; outcome unknown${cause instanceof Error ? ` (${cause.message})` : ''}`,
            cause === undefined ? undefined : { cause },
          ),
        });
      };
      const onError = (e: Error): void => finish({ error: classifySshError(e, 'command', where) });
      const timer = setTimeout(
        () => stop(new TransportError('timeout', 'command', `${where}: command deadline of ${options.commandMs} ms passed`)),
        options.commandMs,
      );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      client.once('close', onLost);
      client.once('error', onError);

      client.exec(command, (openErr, ch) => {
        if (openErr) {
          finish({ error: classifySshError(openErr, 'command', `${where}: cannot start the command`) });
          return;
        }
        channel = ch;
        if (settled) {
          ch.close();
          return;
        }
        ch.on('data', (chunk: Buffer) => {
          const s = out.write(chunk);
          stdout += s;
          if (s) options.onStdout?.(s);
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          const s = err.write(chunk);
          stderr += s;
          if (s) options.onStderr?.(s);
        });
        ch.on('exit', (code: number | null, signal?: string) => {
          exit = { code: typeof code === 'number' ? code : null, ...(signal ? { signal } : {}) };
        });
        ch.on('error', () => {
          // Channel-level errors surface as a close without an exit status; handled there.
        });
        ch.on('close', () => {
          const tailOut = out.end();
          const tailErr = err.end();
          if (tailOut) options.onStdout?.(tailOut);
          if (tailErr) options.onStderr?.(tailErr);
          stdout += tailOut;
          stderr += tailErr;
          if (!exit) {
            finish({
              error: new TransportError(
                'remote-failed',
                'command',
                `${where}: the command ended without an exit status (connection or process lost; outcome unknown)`,
              ),
            });
            return;
          }
          if (exit.signal) stderr += `${stderr.endsWith('\n') || stderr === '' ? '' : '\n'}[killed by signal ${exit.signal}]\n`;
          finish({ result: { exitCode: exit.code, stdout, stderr } });
        });
        // The payload is written and the channel half-closed: the bootstrap reads stdin to its end. Remote exit
        // before reading everything is not an error here; the exit status tells.
        ch.on('error', () => undefined);
        const parts = input.parts ?? [];
        input.parts = undefined;
        for (const part of parts.slice(0, -1)) ch.write(part);
        ch.end(parts.at(-1));
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.destroy();
        resolve();
      }, CLOSE_GRACE_MS);
      client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      client.end();
    });
  }
}
