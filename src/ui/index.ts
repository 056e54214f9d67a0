/**
 * Entry point of the live dashboard. The fleet CLI calls `runDashboard(handle, options)` when stdout is a TTY
 * (and `--ui` does not say otherwise), right after creating the run and before yielding to the event loop,
 * so that no event is missed. It resolves once the run is done AND the user has left the dashboard (or at
 * once after the summary when stdin is not a TTY or `exitOnDone` is set). The final frame on the terminal is
 * the run summary.
 */
import { createElement } from 'react';
import { render } from 'ink';
import type { RunDoneEvent, RunHandle } from '../engine/events.js';
import type { HostFolder, RunLimits } from '../report/run-state.js';
import { RunStore } from './store.js';
import { Dashboard } from './Dashboard.js';
import { colorWanted } from './theme.js';

export interface DashboardOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  /** Colour; default: on unless NO_COLOR is set (https://no-color.org). */
  color?: boolean;
  /** Leave right after drawing the summary instead of waiting for `q` (default: false; forced when stdin is not a TTY). */
  exitOnDone?: boolean;
  /** Render rate cap (default 10 frames per second). */
  fps?: number;
  /** Inventory groups of a host, for the `/` filter (`group:web`). */
  groupsOf?: (host: string) => readonly string[];
  /**
   * The request sent to a host, ALREADY REDACTED by the caller (the remote layer's redaction), shown in host
   * details. Return undefined when unknown.
   */
  requestFor?: (host: string) => unknown;
  /** Host-range folding for grouped errors (default: the report layer's folder). */
  fold?: HostFolder;
  /** Bounds for per-host log tail and timeline. */
  limits?: Partial<RunLimits>;
  /** Clock, for tests. */
  clock?: () => number;
}

export interface DashboardResult {
  done: RunDoneEvent;
  /** True when the run was aborted from the dashboard (`a`, or `q` while running). */
  userAborted: boolean;
}

const noGroups = (): readonly string[] => [];
const noRequest = (): unknown => undefined;

export async function runDashboard(handle: RunHandle, options: DashboardOptions = {}): Promise<DashboardResult> {
  const store = new RunStore(handle, options.limits); // subscribes now, synchronously
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const interactive = Boolean(stdin.isTTY);
  let abortedByUser = false;
  const unwatch = handle.subscribe((e) => {
    if (e.type === 'run-abort' && e.reason === 'user') abortedByUser = true;
  });
  const app = render(
    createElement(Dashboard, {
      store,
      fold: options.fold,
      color: options.color ?? colorWanted(),
      interactive,
      exitOnDone: options.exitOnDone ?? false,
      fps: options.fps ?? 10,
      clock: options.clock ?? Date.now,
      groupsOf: options.groupsOf ?? noGroups,
      requestFor: options.requestFor ?? noRequest,
    }),
    {
      stdout,
      stdin,
      stderr: options.stderr ?? process.stderr,
      exitOnCtrlC: false,
      patchConsole: true,
      maxFps: options.fps ?? 10,
    },
  );
  try {
    const [done] = await Promise.all([handle.done, app.waitUntilExit()]);
    return { done, userAborted: abortedByUser };
  } finally {
    unwatch();
    store.close();
    app.cleanup();
  }
}

export type { RunStore } from './store.js';
