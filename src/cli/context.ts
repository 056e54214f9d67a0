/**
 * What every command's action gets: the application context (env, cwd, transports, terminal, prompt, signals)
 * and where to print and report its exit code. Built once per `svcfleet` invocation by the composition root
 * (src/main.ts) or by a test; commands never reach for process globals themselves.
 */
import type { AppContext, TransportSource } from '../app/context.js';
import { installRunSignals } from '../engine/signals.js';
import type { LineWriter } from '../report/ndjson.js';
import { ttyPrompt } from './prompt.js';

export type SetExit = (code: number) => void;

export interface CliContext {
  app: AppContext;
  stdout: LineWriter & { isTTY?: boolean };
  stderr: LineWriter;
  setExit: SetExit;
}

/** This process's terminal, environment and working directory; Ctrl-C handling and the password prompt on a TTY. */
export function processAppContext(transports: TransportSource): AppContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    transports,
    terminal: { stdout: process.stdout, stderr: process.stderr },
    signals: (handle) => installRunSignals(handle),
    ...(process.stdin.isTTY ? { prompt: ttyPrompt } : {}),
  };
}

/** Print helpers bound to a context. */
export function printer(cli: Pick<CliContext, 'stdout' | 'stderr'>): { out: (line?: string) => void; err: (line: string) => void } {
  return {
    out: (line = '') => void cli.stdout.write(`${line}\n`),
    err: (line: string) => void cli.stderr.write(`${line}\n`),
  };
}
