/**
 * Running the engine for a use case: reaching the hosts (transport registry or a given engine I/O), the live
 * view, the journal writer, signals — the parts plan, apply, rollback, resume and retry share.
 *
 * The live view is chosen here rather than by the command line because it depends on the resolved configuration
 * (`output:` in the config file) and must be validated — the dashboard needs a terminal, `--on-failure ask`
 * needs the dashboard — before any host is contacted, in the same order as every other input check.
 */
import type { ResolvedConfig } from '../config/schema.js';
import { ExitCode, type FleetEvent, type RunDoneEvent, type RunHandle, type RunMode } from '../engine/events.js';
import { createEngineIO } from '../engine/io.js';
import { startRun } from '../engine/run.js';
import type { Strategy } from '../config/strategy.js';
import type { EngineIO, HostTask, ServiceChange } from '../engine/types.js';
import type { HostSpec } from '../inventory/types.js';
import { JournalWriteError } from '../journal/log.js';
import type { RunWriter } from '../journal/store.js';
import { attachOutputs, type LiveView } from '../report/outputs.js';
import type { ChangeSpec } from '../spec/load.js';
import { renderHostRequests, type HostServiceRequest } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { type AppContext, note } from './context.js';
import { journalHost } from './journal.js';
import { deadlinesOf } from './targets.js';

export type { LiveView };

export interface LiveOptions {
  /** The live view on the context's terminal (default: dashboard on a terminal outside CI, plain otherwise). */
  view?: LiveView;
  /** Also write a JUnit XML report here (one testcase per host). */
  junit?: string;
}

/** The view a run draws; 'none' without a terminal in the context. */
export type RunView = LiveView | 'none';

export function selectView(asked: LiveView | undefined, config: ResolvedConfig, ctx: AppContext): RunView {
  if (!ctx.terminal) return 'none';
  const want = asked ?? (config.output === 'auto' ? undefined : config.output);
  if (want === 'plain' || want === 'ndjson' || want === 'dashboard') {
    if (want === 'dashboard' && !ctx.terminal.stdout.isTTY)
      throw new InputError('the dashboard needs a terminal on stdout; use --output plain or ndjson', { field: '--ui' });
    return want;
  }
  return ctx.terminal.stdout.isTTY && !inCi(ctx.env) ? 'dashboard' : 'plain';
}

/**
 * Ink draws no live frames when it believes it runs in CI (the `CI` / `CONTINUOUS_INTEGRATION` variables, unless
 * '0' or 'false'), so a CI job with a pseudo-terminal would show a blank screen until the end: use plain lines.
 */
function inCi(env: Record<string, string | undefined>): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => k in env && env[k] !== '0' && env[k] !== 'false');
}

export function stripRef(r: HostServiceRequest): ServiceChange {
  const { passwordRef: _ref, ...change } = r;
  return change;
}

/** Render every host's requests now: a missing {{ var }} or bad value stops here, before any connection. */
export function renderAll(spec: ChangeSpec, hosts: readonly HostSpec[], secrets?: Parameters<typeof renderHostRequests>[2]): Map<string, HostServiceRequest[]> {
  const out = new Map<string, HostServiceRequest[]>();
  for (const h of hosts) out.set(h.name, renderHostRequests(spec, h, secrets));
  return out;
}

export function groupsLookup(hosts: readonly HostSpec[]): (host: string) => readonly string[] {
  const m = new Map(hosts.map((h) => [h.name, h.groups]));
  return (host) => m.get(host) ?? [];
}

/** What the dashboard's host details show as "the request": the host's changes, redacted like the journal's. */
export function requestLookup(tasks: readonly HostTask[]): (host: string) => unknown {
  const m = new Map(tasks.map((t) => [t.host.name, t]));
  return (host) => {
    const t = m.get(host);
    if (!t) return undefined;
    return t.restores
      ? { restore: t.restores.map((r) => ({ service: r.service, from: r.snapshot ? 'journaled snapshot' : `host backup of run ${r.fromRunId}` })) }
      : journalHost(t.host, t.changes ?? []).changes;
  };
}

export interface EngineIOHandle {
  io: EngineIO;
  dispose(): Promise<void>;
}

/**
 * The engine's I/O for these hosts: the context's engine I/O, or sessions from the transport registry with
 * every kind the hosts use prepared up front (an unregistered kind is an input error before anything connects).
 */
export async function engineIOFor(ctx: AppContext, config: ResolvedConfig, hosts: readonly HostSpec[]): Promise<EngineIOHandle> {
  if (ctx.io) return { io: ctx.io, dispose: async () => undefined };
  const source = ctx.transports;
  if (!source) throw new InputError('no transports: this context cannot reach hosts', { field: 'transport' });
  const owned = typeof source === 'function';
  const registry = owned ? source({ handshakeConcurrency: config.handshakeConcurrency }) : source;
  try {
    await registry.prepare(hosts.map((h) => h.connection.transport));
  } catch (e) {
    if (owned) await registry.dispose();
    throw e;
  }
  return { io: createEngineIO((kind) => registry.get(kind)), dispose: owned ? () => registry.dispose() : async () => undefined };
}

/** `fn` with the engine's I/O for these hosts, disposed (a registry the app built) when it settles. */
export async function usingEngineIO<T>(ctx: AppContext, config: ResolvedConfig, hosts: readonly HostSpec[], fn: (io: EngineIO) => Promise<T>): Promise<T> {
  const handle = await engineIOFor(ctx, config, hosts);
  try {
    return await fn(handle.io);
  } finally {
    await handle.dispose();
  }
}

export interface PreparedRun {
  mode: RunMode;
  runId: string;
  tasks: HostTask[];
  strategy: Partial<Strategy>;
  config: ResolvedConfig;
  view: RunView;
  junit?: string;
  groupsOf: (host: string) => readonly string[];
  /** The request sent to a host, already redacted (dashboard host details). */
  requestFor: (host: string) => unknown;
  writer?: RunWriter;
  specFile?: string;
  /** apply of a saved plan: its digest (run-start). */
  planDigest?: string;
  /** resume/retry append to their run: the next event sequence number. */
  seqStart?: number;
  /** Sees every event (after the context's onEvent). */
  observe?: (e: FleetEvent) => void;
}

/** What a run command (apply, resume, retry, rollback) returns once its run is over. */
export interface RunResult {
  runId: string;
  exitCode: number;
  done: RunDoneEvent;
  view: RunView;
  /** The run's journal directory. */
  journalDir: string;
}

export interface JournaledRun extends Omit<PreparedRun, 'writer' | 'groupsOf' | 'requestFor'> {
  hosts: readonly HostSpec[];
  /** Creates (or reopens) the run in the journal; called once the hosts' transports are ready. */
  openWriter: () => Promise<RunWriter>;
  /** The line said on stderr once the run is journaled (not with NDJSON, whose stdout is the record). */
  announce: (writer: RunWriter) => string;
}

/** apply, resume, retry and rollback: reach the hosts, journal the run, run it with its outputs, return its result. */
export async function runJournaled(p: JournaledRun, ctx: AppContext): Promise<RunResult> {
  const { hosts, openWriter, announce, ...run } = p;
  return usingEngineIO(ctx, p.config, hosts, async (io) => {
    const writer = await openWriter();
    if (p.view !== 'ndjson') note(ctx, announce(writer));
    const { done } = await runPrepared({ ...run, groupsOf: groupsLookup(hosts), requestFor: requestLookup(p.tasks), writer }, io, ctx);
    return { runId: p.runId, exitCode: done.exitCode, done, view: p.view, journalDir: writer.dir };
  });
}

export interface FinishedRun {
  done: RunDoneEvent;
  handle: RunHandle;
}

/** Start the engine with every observer subscribed before its first event, and wait for it to finish. */
export async function runPrepared(p: PreparedRun, io: EngineIO, ctx: AppContext): Promise<FinishedRun> {
  // Loaded before the run starts: the engine emits its first event on the next macrotask, and every view
  // must be subscribed by then.
  const dashboard = p.view === 'dashboard' ? await dashboardEntry(ctx, p.groupsOf, p.requestFor) : undefined;
  const handle = startRun({
    runId: p.runId,
    mode: p.mode,
    tasks: p.tasks,
    io,
    strategy: p.strategy,
    deadlines: deadlinesOf(p.config),
    ...(p.writer ? { snapshots: p.writer } : {}),
    ...(p.specFile ? { specFile: p.specFile } : {}),
    ...(p.planDigest ? { planDigest: p.planDigest } : {}),
    ...(p.seqStart !== undefined ? { seqStart: p.seqStart } : {}),
  });
  p.writer?.attach(handle);
  if (ctx.onEvent) handle.subscribe(ctx.onEvent);
  if (p.observe) handle.subscribe(p.observe);
  const outputs =
    p.view !== 'none' && ctx.terminal
      ? attachOutputs(handle, {
          view: p.view,
          stdout: ctx.terminal.stdout,
          stderr: ctx.terminal.stderr,
          ...(p.junit ? { junitFile: p.junit } : {}),
          ...(dashboard ? { dashboard } : {}),
        })
      : undefined;
  const junitOnly = !outputs && p.junit ? attachJunit(handle, p.junit) : undefined;
  const unsignal = ctx.signals ? ctx.signals(handle, p.view) : () => undefined;
  try {
    let done = await handle.done;
    const journalFailed = p.writer ? await p.writer.finish(done).then(() => undefined, journalWriteFailure) : undefined;
    await outputs?.finish(done);
    await junitOnly?.finish(done);
    if (journalFailed) {
      // The journal could not be written (e.g. its disk filled): the run stopped scheduling. Said last, on
      // stderr, so it is the line a person reads; exit 3 like any run that was stopped (docs/cli.md).
      ctx.terminal?.stderr.write(`svcfleet: ${journalFailed.message}\n`);
      done = { ...done, exitCode: Math.max(done.exitCode, ExitCode.aborted) };
    }
    return { done, handle };
  } finally {
    unsignal();
  }
}

/** Without a terminal, a JUnit report is still written: the NDJSON view's state, to a sink that drops lines. */
function attachJunit(handle: RunHandle, file: string): { finish(done: RunDoneEvent): Promise<void> } {
  const drop = { write: () => true };
  return attachOutputs(handle, { view: 'ndjson', stdout: drop, stderr: drop, junitFile: file });
}

async function dashboardEntry(
  ctx: AppContext,
  groupsOf: (host: string) => readonly string[],
  requestFor: (host: string) => unknown,
): Promise<(h: RunHandle) => Promise<unknown>> {
  if (ctx.dashboard) return (h) => ctx.dashboard!(h, groupsOf, requestFor);
  // Loaded on demand: ink and react are not needed by plain, NDJSON or CI runs.
  const ui = await import('../ui/index.js');
  return (h) => ui.runDashboard(h, { groupsOf, requestFor });
}

/** A journal write failure is reported as the run's outcome; anything else is a bug and propagates. */
function journalWriteFailure(err: unknown): JournalWriteError {
  if (err instanceof JournalWriteError) return err;
  throw err;
}
