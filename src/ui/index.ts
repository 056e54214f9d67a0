/**
 * Entry point of the live dashboard. The fleet CLI calls `runDashboard(handle, options)` when stdout is a TTY
 * (and `--ui` does not say otherwise), right after creating the run and before yielding to the event loop,
 * so that no event is missed: it subscribes synchronously, then loads React and Ink. It resolves once the run
 * is done AND the user has left the dashboard (or right after the summary when stdin is not a TTY or
 * `exitOnDone` is set). The final frame left on the terminal is the run summary.
 */
import type { RunDoneEvent, RunHandle } from '../engine/events.js';
import type { RunLimits } from '../state/run-state.js';
import type { HostFolder } from '../state/queries.js';
import { RunStore } from './store.js';
import { colorWanted } from './theme.js';

export interface DashboardOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  /** Colour; default: on unless NO_COLOR is set (https://no-color.org). */
  color?: boolean;
  /** Leave right after drawing the summary instead of waiting for `q` (default false; forced when stdin is not a TTY). */
  exitOnDone?: boolean;
  /** Cap on data-driven redraws per second (default 10). */
  fps?: number;
  /** Share of one CPU core data-driven redraws may use (default 0.01; see throttle.ts). */
  cpuShare?: number;
  /** Inventory groups of a host, for the `/` filter (`group:web`). */
  groupsOf?: (host: string) => readonly string[];
  /**
   * The request sent to a host, ALREADY REDACTED (remote/redact.ts `redactRequest`), shown in host details.
   * Return undefined when unknown.
   */
  requestFor?: (host: string) => unknown;
  /** Host-range folding for grouped errors (default: util/hostrange.ts foldHosts). */
  fold?: HostFolder;
  /** Bounds for the per-host log tail and timeline. */
  limits?: Partial<RunLimits>;
  /** Clock, for tests. */
  clock?: () => number;
  /**
   * Warnings of this command (security-weakening settings and the like), read at every frame: shown in the
   * header as well as on stderr, where the dashboard's redraws would hide them.
   */
  warnings?: () => readonly string[];
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
  let userAborted = false;
  const unwatch = handle.subscribe((e) => {
    if (e.type === 'run-abort' && e.reason === 'user') userAborted = true;
  });
  // Imported here, lazily, so commands without a dashboard never load the UI. In dist/ ./mount.js is one bundle
  // of the UI with React, Ink and Yoga, built in production mode (scripts/build-ui.mjs): ~0.1 s of CPU to load,
  // where the ~200 modules cost ~1 s. Run from the sources (tests), it loads React itself, so NODE_ENV must say
  // production before that: React's development build costs several times more CPU per frame, and nothing this
  // file imports statically may load React (a dev `react` with a production `react-reconciler` renders nothing).
  process.env['NODE_ENV'] ??= 'production';
  const { mountDashboard } = await import('./mount.js');
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const fps = options.fps ?? 10;
  const app = mountDashboard(
    {
      store,
      fold: options.fold,
      color: options.color ?? colorWanted(),
      interactive: Boolean(stdin.isTTY),
      exitOnDone: options.exitOnDone ?? false,
      fps,
      cpuShare: options.cpuShare ?? 0.01,
      clock: options.clock ?? Date.now,
      groupsOf: options.groupsOf ?? noGroups,
      requestFor: options.requestFor ?? noRequest,
      ...(options.warnings ? { warnings: options.warnings } : {}),
      onHardExit: () => {
        app.unmount();
        process.exit(130);
      },
    },
    {
      stdout,
      stdin,
      stderr: options.stderr ?? process.stderr,
      exitOnCtrlC: false,
      patchConsole: true,
      maxFps: fps,
      onRender: () => store.frameRendered(),
    },
  );
  try {
    const [done] = await Promise.all([handle.done, app.waitUntilExit()]);
    return { done, userAborted };
  } finally {
    unwatch();
    store.close();
    app.cleanup();
  }
}
