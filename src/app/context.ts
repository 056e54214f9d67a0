/**
 * What a use case needs from the world, passed in explicitly (no module-level state, no process globals):
 * the environment and working directory, where hosts are reached (a transport registry, or a ready-made engine
 * I/O), how to ask for a password, and the optional live-output hooks a terminal door provides.
 */
import type { RunHandle } from '../engine/events.js';
import type { EngineIO } from '../engine/types.js';
import type { LineWriter } from '../report/ndjson.js';
import type { TransportRegistry } from '../transport/registry.js';

/** Settings a registry factory may depend on, known only once the configuration is loaded. */
export interface TransportSettings {
  /** config `handshakeConcurrency`: ssh handshakes in flight at once. */
  handshakeConcurrency: number;
}

/**
 * Where hosts are reached. A registry object is the caller's: the app prepares the kinds it needs and never
 * disposes it. A function builds a fresh registry per command, which the app disposes when the command ends.
 */
export type TransportSource = TransportRegistry | ((settings: TransportSettings) => TransportRegistry);

/** The dashboard entry (ui/index.ts runDashboard), bound by whoever composes the program. */
export type DashboardHook = (handle: RunHandle, groupsOf: (host: string) => readonly string[], requestFor: (host: string) => unknown) => Promise<unknown>;

export interface AppContext {
  env: Record<string, string | undefined>;
  /** Relative paths (inventory, spec, journal, output files) resolve against this directory. */
  cwd: string;
  /** How hosts are reached; required by the use cases that connect (plan, apply, rollback, resume, retry, inspect, ping). */
  transports?: TransportSource;
  /** The engine's whole I/O (an in-memory fleet in tests); wins over `transports`. */
  io?: EngineIO;
  /** Asks the user for a secret (a spec's `password: { prompt: ... }`); without it such a spec is an input error. */
  prompt?: (label: string) => Promise<string>;
  /**
   * A terminal to draw live run output on (plain lines, NDJSON, the dashboard) and to print notes and warnings
   * to. Without it, runs have no live view: follow them through `onEvent` and the returned result.
   */
  terminal?: { stdout: LineWriter & { isTTY?: boolean }; stderr: LineWriter };
  /** The live dashboard; default: ui/index.ts loaded on demand. */
  dashboard?: DashboardHook;
  /**
   * Install Ctrl-C / SIGTERM / SIGHUP handling for a run, in every view (the dashboard reads Ctrl-C as a key, but
   * a signal sent to the process stops the run the same way); returns its uninstaller.
   */
  signals?: (handle: RunHandle, view: 'plain' | 'ndjson' | 'dashboard' | 'none') => () => void;
  /** Every event of every run this context starts, in order. */
  onEvent?: (event: import('../engine/events.js').FleetEvent) => void;
  /** Warnings (things that do not stop a command); default: printed on the terminal's stderr, if any. */
  warn?: (message: string) => void;
}

/** A warning goes to `warn`, else to the terminal, else nowhere. */
export function warn(ctx: AppContext, message: string): void {
  if (ctx.warn) ctx.warn(message);
  else ctx.terminal?.stderr.write(`svcfleet: warning: ${message}\n`);
}

/** A note about the run ("run X, journal Y"): on the terminal's stderr only. */
export function note(ctx: AppContext, line: string): void {
  ctx.terminal?.stderr.write(`${line}\n`);
}
