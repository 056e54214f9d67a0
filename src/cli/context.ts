/**
 * What every command's action gets: the application context (env, cwd, transports, terminal, prompt, signals)
 * and where to print and report its exit code. Built once per `svcfleet` invocation by the composition root
 * (src/main.ts) or by a test; commands never reach for process globals themselves.
 */
import type { AppContext, TransportSource } from '../app/context.js';
import { installRunSignals } from '../engine/signals.js';
import { runDashboard } from '../ui/index.js';
import type { LineWriter } from '../report/ndjson.js';
import { ttyPrompt } from './prompt.js';

export type SetExit = (code: number) => void;

export interface CliContext {
  app: AppContext;
  stdout: LineWriter & { isTTY?: boolean };
  stderr: LineWriter;
  setExit: SetExit;
}

const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * A closed stdout or stderr (`svcfleet apply … | head -4`, a terminal that went away) must stop output, never
 * the run: without an 'error' listener Node turns EPIPE into an uncaught exception that kills the process
 * mid-apply, leaving hosts without a recorded outcome. After the first error the stream is destroyed and
 * later writes are dropped quietly; the run, its journal and its exit code go on as if nobody was watching.
 */
export function surviveClosedOutput(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', () => {
    // EPIPE, EIO (a hung-up terminal), ECONNRESET: all mean nobody reads any more. Nothing to print it on.
  });
}

/** This process's terminal, environment and working directory; Ctrl-C handling and the password prompt on a TTY. */
export function processAppContext(transports: TransportSource): AppContext {
  surviveClosedOutput(process.stdout);
  surviveClosedOutput(process.stderr);
  // Every warning goes to stderr (never process.emitWarning, which NODE_NO_WARNINGS silences) and into the
  // dashboard's header, where a redraw cannot scroll it away.
  const warnings: string[] = [];
  return {
    warn: (message) => {
      warnings.push(message);
      process.stderr.write(`svcfleet: warning: ${message}\n`);
    },
    dashboard: (handle, groupsOf, requestFor) => runDashboard(handle, { groupsOf, requestFor, warnings: () => warnings }),
    env: process.env,
    cwd: process.cwd(),
    transports,
    terminal: { stdout: process.stdout, stderr: process.stderr },
    // The dashboard owns the screen: a line on stderr would tear it; its header shows the abort instead.
    signals: (handle, view) => installRunSignals(handle, view === 'dashboard' ? { say: () => undefined } : {}),
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
