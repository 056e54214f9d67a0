/**
 * `powershell.exe -EncodedCommand` on a lab WinRM host: the invocation runs through the lab runner (pwsh with the
 * emulated SCM) against the host's state dir, with stdout/stderr streamed into Receive responses as they come.
 */
import type { LabRunner } from '../runner/index.js';
import { STATUS_CONTROL_C_EXIT, type PowerShellHandler } from './executor.js';

/** The server's own cap; the client's command deadline (and its Signal) normally ends a command long before. */
const SERVER_COMMAND_CAP_MS = 60 * 60 * 1000;

export function labPowerShell(runner: LabRunner, stateDir: string): PowerShellHandler {
  return async (invocation, io) => {
    try {
      const r = await runner.run(stateDir, invocation, {
        signal: io.signal,
        commandMs: SERVER_COMMAND_CAP_MS,
        onStdout: (chunk) => io.stdout(chunk),
        onStderr: (chunk) => io.stderr(chunk),
      });
      return r.exitCode ?? 1;
    } catch (err) {
      if (io.signal.aborted) return STATUS_CONTROL_C_EXIT;
      throw err;
    }
  };
}
