/**
 * The fleet commands: plan, apply, rollback, resume, retry, runs, show, inspect, render, ping (docs/cli.md).
 *
 * Every command validates ALL of its input — flags, configuration, inventory, spec or plan, the rendering of
 * every selected host, the journal location — before the first connection is opened: a bad input exits 1 with
 * nothing contacted (InputError, mapped by cli/main.ts).
 */
import { createInterface } from 'node:readline';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { SetExit } from './index.js';
import { loadConfig } from '../../config/load.js';
import type { ConfigInput, ResolvedConfig } from '../../config/schema.js';
import { ExitCode, type FleetEvent, type RunDoneEvent, type RunHandle, type RunMode } from '../../engine/events.js';
import { createEngineIO } from '../../engine/io.js';
import { probeHosts, type ProbeResult } from '../../engine/probe.js';
import { startRun } from '../../engine/run.js';
import { newRunId } from '../../engine/run-id.js';
import { installRunSignals } from '../../engine/signals.js';
import { parseDuration, parseSize, parseSizeList, resolveSize, type Strategy } from '../../config/strategy.js';
import type { EngineIO, HostTask, ServiceChange } from '../../engine/types.js';
import { loadInventory, type LoadedInventory } from '../../inventory/load.js';
import { matchPattern, type GroupTree } from '../../inventory/pattern.js';
import type { HostSpec } from '../../inventory/types.js';
import { hostsToResume, hostsToRetry, replayRun, rollbackTargets } from '../../journal/replay.js';
import { Journal, type JournalHost, type RunRecord, type RunWriter } from '../../journal/store.js';
import { groupPlan, formatPlanSummary, type PlanEntry } from '../../plan/group.js';
import { loadPlanFile, planHostTask, resolvePlanSecrets, serializePlan, toPlanService, unsealPlanHost, PLAN_KIND, PLAN_VERSION, type PlanFile } from '../../plan/planfile.js';
import { buildInvocation, asciiJson, type OutgoingRequest } from '../../remote/invocation.js';
import { redactRequest } from '../../remote/redact.js';
import { loadPsScripts } from '../../remote/scripts.js';
import type { FieldChange } from '../../remote/protocol.js';
import { PROTOCOL_VERSION } from '../../remote/protocol.js';
import { foldHosts } from '../../util/hostrange.js';
import { formatInspect, inspectReport } from '../../report/inspect.js';
import { attachOutputs, type LiveView } from '../../report/outputs.js';
import { formatRuns, formatShow, showRun } from '../../report/show.js';
import { loadSpec, type ChangeSpec } from '../../spec/load.js';
import { renderHostRequests, resolveSpecSecrets, type HostServiceRequest } from '../../spec/render.js';
import { createTransportRegistry } from '../../transport/registry.js';
import type { Transport, TransportKind } from '../../transport/types.js';
import { InputError } from '../../util/errors.js';
import { Secret } from '../../util/secret.js';
import { writeFileAtomic } from '../../util/fsutil.js';

// ---------------------------------------------------------------------------------------------------------
// Dependencies (a test seam: in-process CLI tests swap the transports and the streams)

export interface FleetDeps {
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown };
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: () => string;
  /** Transports by kind; the default builds them on first use and disposes them after the command. */
  transports?: (kind: TransportKind) => Transport;
  /** The engine's whole I/O (tests with an in-memory fleet); wins over `transports`. */
  io?: EngineIO;
  /** The live dashboard (ui/index.ts runDashboard); default: loaded on demand. */
  dashboard?: (handle: RunHandle, groupsOf: (host: string) => readonly string[]) => Promise<unknown>;
  /** Install Ctrl-C / SIGTERM handling for runs (off in in-process tests). */
  signals: boolean;
  prompt?: (label: string) => Promise<string>;
}

const defaultDeps = (): FleetDeps => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: Boolean(process.stdin.isTTY),
  env: process.env,
  cwd: () => process.cwd(),
  signals: true,
});

let deps: FleetDeps = defaultDeps();

/** Replace dependencies (tests); returns a function that restores the previous ones. */
export function setFleetDeps(partial: Partial<FleetDeps>): () => void {
  const before = deps;
  deps = { ...defaultDeps(), ...partial };
  return () => {
    deps = before;
  };
}

const out = (line = ''): void => void deps.stdout.write(`${line}\n`);
const err = (line: string): void => void deps.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------------------
// Flags

interface TargetFlags {
  inventory?: string[];
  limit?: string[];
  config?: string;
  concurrency?: string;
  deadline?: string;
  retries?: string;
  journal?: string;
  output?: string;
  ui?: string;
  junit?: string;
}

interface RunFlags extends TargetFlags {
  spec?: string;
  canary?: string[];
  batches?: string;
  maxFailures?: string;
  countUnreachable?: boolean;
  rollbackBatch?: boolean;
  onFailure?: string;
  o?: string;
  hosts?: string;
  failed?: boolean;
}

const collect = (value: string, prev: string[] | undefined): string[] => [...(prev ?? []), value];

function addTargetOptions(cmd: Command, opts: { run?: boolean; journal?: boolean; live?: boolean } = {}): Command {
  cmd
    .option('-i, --inventory <source>', 'inventory file, directory or host list (repeatable)', collect)
    .option('-l, --limit <pattern>', 'only hosts matching an Ansible pattern, e.g. "web:&prod:!web03", "~web0[1-3]", @file (repeatable)', collect)
    .option('--config <file>', 'config file (default: searched from the current directory; see docs/config.md)')
    .option('-c, --concurrency <n>', 'hosts in flight at once (default 20)')
    .option('--deadline <duration>', 'per-host deadline for the whole host (e.g. 10m, 90s; default none)')
    .option('--retries <n>', 'connection retries before anything changed (default 2)');
  if (opts.journal !== false) cmd.option('--journal <dir>', 'journal directory (default $XDG_STATE_HOME/svcfleet or ~/.local/state/svcfleet)');
  if (opts.live !== false) {
    cmd
      .addOption(new Option('--output <format>', 'output on stdout when not a terminal dashboard').choices(['plain', 'ndjson']))
      .addOption(new Option('--ui <view>', 'live view (default: dashboard on a terminal, plain otherwise)').choices(['plain', 'ndjson', 'dashboard']))
      .option('--junit <file>', 'also write a JUnit XML report (one testcase per host)');
  }
  if (opts.run) {
    cmd
      .option('--canary <hosts>', 'run these first, as their own batch: a count (1), a percentage (5%) or a host pattern (repeatable)', collect)
      .option('--batches <sizes>', 'batch sizes after the canary, the last repeats: e.g. 1,5,25%,100% (default 100%)')
      .option('--max-failures <n>', 'failure budget: counted failures tolerated, a count or a percentage (default 0)')
      .option('--count-unreachable', 'count unreachable hosts against the failure budget (default: counted apart)')
      .option('--rollback-batch', 'when the budget is exceeded, also roll back the current batch\'s changed hosts')
      .addOption(new Option('--on-failure <mode>', 'continue, or ask (dashboard only): a failed host pauses the run').choices(['continue', 'ask']));
  }
  return cmd;
}

/** Read-only commands print plain text or one JSON document. */
function jsonOutput(cmd: Command, examples: string): Command {
  return cmd.addOption(new Option('--output <format>', 'plain or json').choices(['plain', 'json'])).addHelpText('after', `\nExamples:\n${examples}`);
}

/** Flags validated with their own names (docs say `--max-failures`, not the config key), then merged by loadConfig. */
function configFlags(f: RunFlags): ConfigInput {
  const flags: ConfigInput = {};
  if (f.concurrency !== undefined) {
    if (!/^\d+$/.test(f.concurrency) || Number(f.concurrency) < 1 || Number(f.concurrency) > 100_000) {
      throw new InputError(`expected a whole number from 1 to 100000, got ${JSON.stringify(f.concurrency)}`, { field: '--concurrency' });
    }
    flags.concurrency = Number(f.concurrency);
  }
  if (f.deadline !== undefined) flags.deadlines = { host: parseDuration(f.deadline, '--deadline') };
  if (f.retries !== undefined) {
    if (!/^\d+$/.test(f.retries) || Number(f.retries) > 20) throw new InputError(`expected a whole number from 0 to 20, got ${JSON.stringify(f.retries)}`, { field: '--retries' });
    flags.retries = { count: Number(f.retries) };
  }
  if (f.journal !== undefined) flags.journal = f.journal;
  if (f.maxFailures !== undefined) {
    parseSize(f.maxFailures, '--max-failures', { allowZero: true });
    flags.failureBudget = f.maxFailures;
  }
  if (f.batches !== undefined) {
    parseSizeList(f.batches, '--batches');
    flags.batches = f.batches;
  }
  if (f.canary !== undefined) flags.canary = f.canary;
  if (f.countUnreachable) flags.unreachableCountsAsFailure = true;
  if (f.rollbackBatch) flags.rollbackBatchOnBudget = true;
  if (f.onFailure !== undefined) flags.onFailure = f.onFailure as 'continue' | 'ask';
  return flags;
}

async function loadFleetConfig(f: RunFlags): Promise<ResolvedConfig> {
  const config = await loadConfig({ cwd: deps.cwd(), env: deps.env, flags: configFlags(f), ...(f.config ? { file: f.config } : {}) });
  for (const w of config.warnings) err(`svcfleet: warning: ${w}`);
  return config;
}

function loadHosts(f: TargetFlags, config: ResolvedConfig, fallbackSources?: string[], fallbackLimit?: string): LoadedInventory {
  const sources = f.inventory?.length ? f.inventory : fallbackSources;
  if (!sources?.length) throw new InputError('no inventory given: use -i FILE (an inventory file, a directory or a host list)', { field: '--inventory' });
  const limit = f.limit?.length ? f.limit : fallbackLimit;
  const inv = loadInventory({
    sources,
    cwd: deps.cwd(),
    ...(limit ? { limit } : {}),
    env: deps.env,
    connectionDefaults: config.connection,
    requireCredentials: true,
  });
  for (const w of inv.warnings) err(`svcfleet: warning: ${w}`);
  if (inv.hosts.length === 0) throw new InputError('the inventory has no hosts', { file: inv.source });
  return inv;
}

function liveView(f: TargetFlags, config: ResolvedConfig): LiveView {
  const asked = f.ui ?? f.output ?? (config.output === 'auto' ? undefined : config.output);
  if (asked === 'plain' || asked === 'ndjson' || asked === 'dashboard') {
    if (asked === 'dashboard' && !deps.stdout.isTTY) throw new InputError('the dashboard needs a terminal on stdout; use --output plain or ndjson', { field: '--ui' });
    return asked;
  }
  return deps.stdout.isTTY && !inCi(process.env) ? 'dashboard' : 'plain';
}

/**
 * Ink draws no live frames when it believes it runs in CI (the `CI` / `CONTINUOUS_INTEGRATION` variables, unless
 * '0' or 'false'), so a CI job with a pseudo-terminal would show a blank screen until the end: use plain lines.
 */
function inCi(env: NodeJS.ProcessEnv): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => k in env && env[k] !== '0' && env[k] !== 'false');
}

function checkWritableFile(file: string | undefined, field: string): string | undefined {
  if (file === undefined) return undefined;
  const abs = resolve(deps.cwd(), file);
  try {
    if (!statSync(dirname(abs)).isDirectory()) throw new Error('not a directory');
    accessSync(dirname(abs), fsConstants.W_OK);
  } catch {
    throw new InputError(`cannot write ${abs}: its directory does not exist or is not writable`, { field });
  }
  return abs;
}

function openJournal(config: ResolvedConfig): Journal {
  const root = resolve(deps.cwd(), config.journal);
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    accessSync(root, fsConstants.W_OK);
  } catch (e) {
    throw new InputError(`cannot use the journal directory ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { field: '--journal' });
  }
  return new Journal(root);
}

/** Strategy from the resolved configuration; canary entries are counts/percentages or host patterns. */
function strategyFor(config: ResolvedConfig, hosts: readonly string[], groups: GroupTree): Partial<Strategy> {
  const canary = new Set<string>();
  const inRun = new Set(hosts);
  for (const entry of config.canary) {
    if (/^\d+%?$/.test(entry)) {
      const n = resolveSize(parseSize(entry, '--canary'), hosts.length);
      hosts.slice(0, n).forEach((h) => canary.add(h));
      continue;
    }
    const matched = matchPattern(groups, entry, '--canary').filter((h) => inRun.has(h));
    if (matched.length === 0) throw new InputError(`the canary pattern ${JSON.stringify(entry)} selects no host of this run`, { field: '--canary' });
    matched.forEach((h) => canary.add(h));
  }
  return {
    concurrency: config.concurrency,
    canary: hosts.filter((h) => canary.has(h)),
    batches: config.batches,
    maxFailures: config.failureBudget,
    countUnreachable: config.unreachableCountsAsFailure,
    rollbackBatchOnBudget: config.rollbackBatchOnBudget,
    retries: config.retries.count,
    retryBaseMs: config.retries.backoffMs,
    hostDeadlineMs: config.deadlines.hostMs,
    onFailure: config.onFailure,
  };
}

/** plan and rollback runs: every host, no canary, no batches, no failure budget. */
function everyHostStrategy(config: ResolvedConfig): Partial<Strategy> {
  return {
    concurrency: config.concurrency,
    retries: config.retries.count,
    retryBaseMs: config.retries.backoffMs,
    hostDeadlineMs: config.deadlines.hostMs,
    maxFailures: { kind: 'percent', pct: 100 },
  };
}

function deadlinesOf(config: ResolvedConfig): { connectMs: number; authMs: number; commandMs: number } {
  return { connectMs: config.deadlines.connectMs, authMs: config.deadlines.authMs, commandMs: config.deadlines.commandMs };
}

// ---------------------------------------------------------------------------------------------------------
// Transports and the engine's I/O

interface IOHandle {
  io: EngineIO;
  dispose(): Promise<void>;
}

function engineIO(config?: ResolvedConfig): IOHandle {
  if (deps.io) return { io: deps.io, dispose: async () => undefined };
  if (deps.transports) return { io: createEngineIO(deps.transports), dispose: async () => undefined };
  // The lab's `local` hosts: SVCFLEET_LAB_RUNNER=pool keeps warm pwsh workers (tests, demo); the default spawns
  // a fresh pwsh per call, as a real host does.
  const pool = deps.env.SVCFLEET_LAB_RUNNER === 'pool';
  const registry = createTransportRegistry({
    ssh: { maxConcurrentHandshakes: config?.handshakeConcurrency ?? 10 },
    local: { runner: pool ? { mode: 'pool', size: Number(deps.env.SVCFLEET_LAB_POOL_SIZE ?? 2) || 2 } : { mode: 'spawn' } },
  });
  return { io: createEngineIO((kind) => registry.get(kind)), dispose: () => registry.dispose() };
}

// ---------------------------------------------------------------------------------------------------------
// Running: journal, outputs, signals

interface Prepared {
  mode: RunMode;
  tasks: HostTask[];
  strategy: Partial<Strategy>;
  config: ResolvedConfig;
  view: LiveView;
  junit?: string;
  groupsOf: (host: string) => readonly string[];
  /** The request sent to a host, already redacted (dashboard host details). */
  requestFor: (host: string) => unknown;
}

async function runWithOutputs(
  p: Prepared,
  writer: RunWriter | undefined,
  runId: string,
  extra: { specFile?: string; seqStart?: number } = {},
  observe?: (e: FleetEvent) => void,
): Promise<{ done: RunDoneEvent; handle: RunHandle }> {
  const io = engineIO(p.config);
  try {
    // Loaded before the run starts: the engine emits its first event on the next macrotask, and every view
    // must be subscribed by then.
    const dashboard = p.view === 'dashboard' ? await dashboardEntry(p.groupsOf, p.requestFor) : undefined;
    const handle = startRun({
      runId,
      mode: p.mode,
      tasks: p.tasks,
      io: io.io,
      strategy: p.strategy,
      deadlines: deadlinesOf(p.config),
      ...(writer ? { snapshots: writer } : {}),
      ...(extra.specFile ? { specFile: extra.specFile } : {}),
      ...(extra.seqStart !== undefined ? { seqStart: extra.seqStart } : {}),
    });
    writer?.attach(handle);
    if (observe) handle.subscribe(observe);
    const outputs = attachOutputs(handle, {
      view: p.view,
      stdout: deps.stdout,
      stderr: deps.stderr,
      ...(p.junit ? { junitFile: p.junit } : {}),
      ...(dashboard ? { dashboard } : {}),
    });
    const unsignal = deps.signals && p.view !== 'dashboard' ? installRunSignals(handle) : () => undefined;
    try {
      const done = await handle.done;
      if (writer) await writer.finish(done);
      await outputs.finish(done);
      return { done, handle };
    } finally {
      unsignal();
    }
  } finally {
    await io.dispose();
  }
}

async function dashboardEntry(groupsOf: (host: string) => readonly string[], requestFor: (host: string) => unknown): Promise<(h: RunHandle) => Promise<unknown>> {
  if (deps.dashboard) return (h) => deps.dashboard!(h, groupsOf);
  // Loaded on demand: ink and react are not needed by plain, NDJSON or CI runs.
  const ui = await import('../../ui/index.js');
  return (h) => ui.runDashboard(h, { groupsOf, requestFor });
}

function journalHost(h: HostSpec, changes?: readonly ServiceChange[], plannedHashes?: Record<string, string>): JournalHost {
  return {
    name: h.name,
    groups: h.groups,
    vars: h.vars,
    connection: { ...h.connection } as unknown as Record<string, unknown>,
    ...(changes ? { changes: changes.map((c) => redactRequest({ v: PROTOCOL_VERSION, op: 'apply', nonce: '', runId: '', ...c } as OutgoingRequest)).map(({ v: _v, op: _op, nonce: _n, runId: _r, ...rest }) => rest) } : {}),
    ...(plannedHashes ? { plannedHashes } : {}),
  };
}

function groupsLookup(hosts: readonly HostSpec[]): (host: string) => readonly string[] {
  const m = new Map(hosts.map((h) => [h.name, h.groups]));
  return (host) => m.get(host) ?? [];
}

/** What the dashboard's host details show as "the request": the host's changes, redacted like the journal's. */
function requestLookup(tasks: readonly HostTask[]): (host: string) => unknown {
  const m = new Map(tasks.map((t) => [t.host.name, t]));
  return (host) => {
    const t = m.get(host);
    if (!t) return undefined;
    return t.restores ? { restore: t.restores.map((r) => ({ service: r.service, from: r.snapshot ? 'journaled snapshot' : `host backup of run ${r.fromRunId}` })) } : journalHost(t.host, t.changes ?? []).changes;
  };
}

function stripRef(r: HostServiceRequest): ServiceChange {
  const { passwordRef: _ref, ...change } = r;
  return change;
}

/** Render every host's requests now: a missing {{ var }} or bad value stops here, before any connection. */
function renderAll(spec: ChangeSpec, hosts: readonly HostSpec[], secrets?: Parameters<typeof renderHostRequests>[2]): Map<string, HostServiceRequest[]> {
  const out = new Map<string, HostServiceRequest[]>();
  for (const h of hosts) out.set(h.name, renderHostRequests(spec, h, secrets));
  return out;
}

async function passwordPrompt(label: string): Promise<string> {
  if (deps.prompt) return deps.prompt(label);
  if (!deps.stdinIsTTY) throw new InputError(`${label}: a password prompt needs a terminal`, { field: 'password' });
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo nothing while the password is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  process.stderr.write(`${label}: `);
  try {
    return await new Promise<string>((res) => rl.question('', res));
  } finally {
    process.stderr.write('\n');
    rl.close();
  }
}

function secretContext(baseDir: string): { env: NodeJS.ProcessEnv; baseDir: string; prompt: (label: string) => Promise<string> } {
  return { env: deps.env, baseDir, prompt: passwordPrompt };
}

// ---------------------------------------------------------------------------------------------------------
// plan

async function planCommand(specArg: string | undefined, f: RunFlags, setExit: SetExit): Promise<void> {
  const specFile = specArg ?? f.spec;
  if (!specFile) throw new InputError('no change spec given: svcfleet plan SPEC -i INVENTORY', { field: 'SPEC' });
  const config = await loadFleetConfig(f);
  const inv = loadHosts(f, config);
  const spec = loadSpec(resolve(deps.cwd(), specFile));
  const rendered = renderAll(spec, inv.hosts); // plan never needs a password: references only
  const view = liveView(f, config);
  const junit = checkWritableFile(f.junit, '--junit');
  const planOut = checkWritableFile(f.o, '-o');
  const journal = openJournal(config);
  const runId = newRunId();
  const tasks = inv.hosts.map((h) => ({ host: h, changes: rendered.get(h.name)!.map(stripRef) }));
  const writer = await journal.createRun({
    runId,
    mode: 'plan',
    spec: spec.doc.value,
    specFile: spec.file,
    inventorySource: inv.source,
    inventorySources: absoluteSources(f.inventory),
    ...(f.limit?.length ? { limit: f.limit.join(',') } : {}),
    hosts: tasks.map((t) => journalHost(t.host, t.changes)),
  });
  // Read-only: no canary, no batches, no budget (a failure to read one host must not hide the others).
  const strategy = everyHostStrategy(config);
  const seen = new Map<string, Map<string, { configHash: string; diff: FieldChange[] }>>();
  const ended = new Map<string, { outcome: string; message: string; code: string }>();
  const prepared: Prepared = { mode: 'plan', tasks, strategy, config, view, ...(junit ? { junit } : {}), groupsOf: groupsLookup(inv.hosts), requestFor: requestLookup(tasks) };
  const { done } = await runWithOutputs(prepared, writer, runId, { specFile: spec.file }, (e) => {
    if (e.type === 'host-diff') {
      let m = seen.get(e.host);
      if (!m) seen.set(e.host, (m = new Map()));
      m.set(e.service, { configHash: e.configHash, diff: e.changes });
    } else if (e.type === 'host-done') ended.set(e.host, { outcome: e.outcome, message: e.message, code: e.reason.code });
  });

  const entries: PlanEntry[] = [];
  for (const h of inv.hosts) {
    const end = ended.get(h.name);
    const per = seen.get(h.name);
    if (end?.outcome === 'unreachable') entries.push({ host: h.name, status: 'unreachable', message: end.message });
    else if (end && end.outcome !== 'changed' && end.outcome !== 'unchanged') entries.push({ host: h.name, status: 'error', message: end.message, code: end.code });
    for (const [service, s] of per ?? []) entries.push({ host: h.name, service, status: 'planned', diff: s.diff, configHash: s.configHash });
  }
  const summary = groupPlan(entries);
  const say = view === 'ndjson' ? err : out;
  if (view !== 'dashboard') {
    say('');
    say('Plan:');
    for (const l of formatPlanSummary(summary)) say(`  ${l}`);
  }
  if (planOut) {
    const plan: PlanFile = {
      kind: PLAN_KIND,
      version: PLAN_VERSION,
      createdAt: new Date().toISOString(),
      runId,
      spec: { file: spec.file, digest: spec.digest },
      inventory: { sources: absoluteSources(f.inventory), ...(f.limit?.length ? { limit: f.limit.join(',') } : {}) },
      hosts: inv.hosts.map((h) => {
        const end = ended.get(h.name);
        const per = seen.get(h.name);
        const status: PlanFile['hosts'][number]['status'] =
          end?.outcome === 'changed' ? 'change' : end?.outcome === 'unchanged' ? 'unchanged' : end?.outcome === 'unreachable' ? 'unreachable' : 'error';
        return {
          host: h.name,
          status,
          ...(status === 'unreachable' || status === 'error' ? { message: end?.message ?? 'no result' } : {}),
          services: rendered.get(h.name)!.map((req) => toPlanService(req, per?.get(req.service) ?? {})),
        };
      }),
    };
    await writeFileAtomic(planOut, serializePlan(plan));
    say(`plan saved to ${planOut}: apply it with \`svcfleet apply ${f.o}${f.inventory?.length ? '' : ' -i INVENTORY'}\``);
  }
  setExit(done.exitCode);
}

// ---------------------------------------------------------------------------------------------------------
// apply

/** A saved plan is JSON with kind svcfleet-plan; anything else is read as a change spec. */
function isPlanFile(file: string): boolean {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { kind?: unknown } | null;
    return v !== null && typeof v === 'object' && v.kind === PLAN_KIND;
  } catch {
    return false;
  }
}

/** Inventory sources as given, with paths made absolute so a later resume/rollback/apply finds them anywhere. */
function absoluteSources(sources: readonly string[] | undefined): string[] {
  return (sources ?? []).map((s) => {
    const abs = resolve(deps.cwd(), s);
    return existsSync(abs) ? abs : s;
  });
}

async function applyCommand(arg: string | undefined, f: RunFlags, setExit: SetExit): Promise<void> {
  const input = arg ?? f.spec;
  if (!input) throw new InputError('nothing to apply: svcfleet apply SPEC|PLAN.json -i INVENTORY', { field: 'SPEC' });
  const file = resolve(deps.cwd(), input);
  const config = await loadFleetConfig(f);
  const view = liveView(f, config);
  if (config.onFailure === 'ask' && view !== 'dashboard') throw new InputError('--on-failure ask needs the dashboard (a terminal); use continue with --output plain/ndjson', { field: '--on-failure' });
  const junit = checkWritableFile(f.junit, '--junit');

  let tasks: HostTask[];
  let hosts: HostSpec[];
  let specDoc: unknown;
  let specFile: string | undefined;
  let planFile: string | undefined;
  let inventorySource: string;
  let inventorySources: string[];
  let groups: GroupTree;
  if (isPlanFile(file)) {
    const plan = loadPlanFile(file);
    planFile = file;
    specFile = plan.spec.file;
    const inv = loadHosts(f, config, plan.inventory.sources, plan.inventory.limit);
    inventorySource = inv.source;
    inventorySources = f.inventory?.length ? absoluteSources(f.inventory) : plan.inventory.sources;
    groups = inv.groups;
    const byName = new Map(inv.hosts.map((h) => [h.name, h]));
    const planned = plan.hosts.filter((h) => h.status === 'change');
    const missing = planned.filter((h) => !byName.has(h.host)).map((h) => h.host);
    if (missing.length) throw new InputError(`the plan names hosts that are not in the inventory: ${foldHosts(missing)}`, { file, host: missing[0]! });
    if (planned.length === 0) throw new InputError('the plan has no host to change (every host was unchanged, unreachable or in error)', { file });
    const secrets = await resolvePlanSecrets(plan, secretContext(dirname(file)));
    hosts = planned.map((h) => byName.get(h.host)!);
    tasks = planned.map((h) => ({ host: byName.get(h.host)!, ...planHostTask(unsealPlanHost(plan, h, byName.get(h.host)!), secrets) }));
    specDoc = { plan: file, spec: plan.spec };
  } else {
    const inv = loadHosts(f, config);
    inventorySource = inv.source;
    inventorySources = absoluteSources(f.inventory);
    groups = inv.groups;
    const spec = loadSpec(file);
    renderAll(spec, inv.hosts); // every host renders before a password is asked for or a host contacted
    const secrets = await resolveSpecSecrets(spec, { env: deps.env, prompt: passwordPrompt });
    const rendered = renderAll(spec, inv.hosts, secrets);
    hosts = inv.hosts;
    tasks = inv.hosts.map((h) => ({ host: h, changes: rendered.get(h.name)!.map(stripRef) }));
    specDoc = spec.doc.value;
    specFile = spec.file;
  }
  const strategy = strategyFor(config, hosts.map((h) => h.name), groups);
  const journal = openJournal(config);
  const runId = newRunId();
  const writer = await journal.createRun({
    runId,
    mode: 'apply',
    spec: specDoc,
    ...(specFile ? { specFile } : {}),
    ...(planFile ? { planFile } : {}),
    inventorySource,
    inventorySources,
    ...(f.limit?.length ? { limit: f.limit.join(',') } : {}),
    hosts: tasks.map((t) => journalHost(t.host, t.changes, t.plannedHashes)),
  });
  if (view !== 'ndjson') err(`svcfleet: run ${runId}, journal ${writer.dir}`);
  const { done } = await runWithOutputs({ mode: 'apply', tasks, strategy, config, view, ...(junit ? { junit } : {}), groupsOf: groupsLookup(hosts), requestFor: requestLookup(tasks) }, writer, runId, specFile ? { specFile } : {});
  setExit(done.exitCode);
}

// ---------------------------------------------------------------------------------------------------------
// resume / retry (append to the same run) and rollback (a run of its own)

/** The run's hosts as a group tree, for --hosts patterns. */
function journalGroups(record: RunRecord): GroupTree {
  const tree: GroupTree = { all: { children: ['ungrouped'], hosts: [] }, ungrouped: { children: [], hosts: [] } };
  for (const h of record.hosts) {
    if (h.groups.length === 0) tree.ungrouped!.hosts.push(h.name);
    for (const g of h.groups) {
      if (!tree[g]) {
        tree[g] = { children: [], hosts: [] };
        tree.all!.children.push(g);
      }
      tree[g]!.hosts.push(h.name);
    }
  }
  return tree;
}

function selectRunHosts(record: RunRecord, pattern: string | undefined): string[] | undefined {
  if (pattern === undefined) return undefined;
  const inRun = new Set(record.hosts.map((h) => h.name));
  const chosen = matchPattern(journalGroups(record), pattern, '--hosts').filter((h) => inRun.has(h));
  if (chosen.length === 0) throw new InputError(`--hosts ${JSON.stringify(pattern)} matches no host of run ${record.manifest.runId}`, { field: '--hosts' });
  return chosen;
}

/** Connection settings for journaled hosts: from the inventory (re-read, so secrets resolve again). */
function hostsFromInventory(f: TargetFlags, config: ResolvedConfig, record: RunRecord, names: readonly string[]): HostSpec[] {
  const sources = f.inventory?.length ? f.inventory : record.manifest.inventorySources;
  const inv = loadHosts(f, config, sources);
  const byName = new Map(inv.hosts.map((h) => [h.name, h]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new InputError(`hosts of run ${record.manifest.runId} are not in the inventory ${inv.source}: ${foldHosts(missing)} (pass the run's inventory with -i)`, { field: '--inventory', host: missing[0]! });
  }
  return names.map((n) => byName.get(n)!);
}

async function continueRun(runId: string, f: RunFlags, setExit: SetExit, pick: 'resume' | 'retry'): Promise<void> {
  const config = await loadFleetConfig(f);
  const view = liveView(f, config);
  if (config.onFailure === 'ask' && view !== 'dashboard') throw new InputError('--on-failure ask needs the dashboard (a terminal)', { field: '--on-failure' });
  const junit = checkWritableFile(f.junit, '--junit');
  const journal = openJournal(config);
  const record = await journal.readRun(runId);
  if (record.manifest.mode !== 'apply') throw new InputError(`run ${runId} is a ${record.manifest.mode} run; only apply runs can be ${pick}d`, { field: 'RUN' });
  const replay = replayRun(record);
  const only = selectRunHosts(record, f.hosts);
  let names: string[];
  if (pick === 'resume') {
    const picked = hostsToResume(replay, only);
    names = picked.hosts;
    if (picked.held.length) {
      const why = [...new Set(picked.held.map((h) => h.reason))].join(', ');
      err(`svcfleet: not resuming ${foldHosts(picked.held.map((h) => h.name))} (skipped: ${why}); name them with --hosts to resume them too`);
    }
  } else {
    names = hostsToRetry(replay);
    if (only) names = names.filter((n) => only.includes(n));
  }
  if (names.length === 0) {
    err(`svcfleet: nothing to ${pick} in run ${runId}: ${pick === 'resume' ? 'every host has a recorded outcome' : 'no host ended failed, rolled-back, unreachable or unknown'}`);
    setExit(ExitCode.ok);
    return;
  }
  const hosts = hostsFromInventory(f, config, record, names);
  let changesFor: (h: HostSpec) => { changes: ServiceChange[]; plannedHashes?: Record<string, string> };
  if (record.manifest.planFile) {
    const plan = loadPlanFile(record.manifest.planFile);
    const secrets = await resolvePlanSecrets(plan, secretContext(dirname(record.manifest.planFile)));
    const byHost = new Map(plan.hosts.map((h) => [h.host, h]));
    changesFor = (h) => planHostTask(unsealPlanHost(plan, byHost.get(h.name)!, h), secrets);
  } else {
    const specFile = f.spec ? resolve(deps.cwd(), f.spec) : record.manifest.specFile;
    if (!specFile) throw new InputError(`run ${runId} has no spec file recorded; pass --spec FILE`, { field: '--spec' });
    const spec = loadSpec(specFile);
    renderAll(spec, hosts);
    const secrets = await resolveSpecSecrets(spec, { env: deps.env, prompt: passwordPrompt });
    const rendered = renderAll(spec, hosts, secrets);
    changesFor = (h) => ({ changes: rendered.get(h.name)!.map(stripRef) });
  }
  const tasks: HostTask[] = hosts.map((h) => {
    const prior = record.snapshots.get(h.name);
    return { host: h, ...changesFor(h), ...(prior ? { priorSnapshots: Object.fromEntries(prior) } : {}) };
  });
  const strategy = strategyFor(config, names, journalGroups(record));
  const { writer } = await journal.reopenRun(runId);
  if (view !== 'ndjson') err(`svcfleet: ${pick} of run ${runId}: ${foldHosts(names)} (${names.length} host${names.length === 1 ? '' : 's'})`);
  const { done } = await runWithOutputs(
    { mode: 'apply', tasks, strategy, config, view, ...(junit ? { junit } : {}), groupsOf: groupsLookup(hosts), requestFor: requestLookup(tasks) },
    writer,
    runId,
    { ...(record.manifest.specFile ? { specFile: record.manifest.specFile } : {}), seqStart: record.lastSeq + 1 },
  );
  setExit(done.exitCode);
}

async function rollbackCommand(parentId: string, f: RunFlags, setExit: SetExit): Promise<void> {
  const config = await loadFleetConfig(f);
  const view = liveView(f, config);
  const junit = checkWritableFile(f.junit, '--junit');
  const journal = openJournal(config);
  const record = await journal.readRun(parentId);
  if (record.manifest.mode !== 'apply') throw new InputError(`run ${parentId} is a ${record.manifest.mode} run: nothing it did can be rolled back`, { field: 'RUN' });
  if (record.manifest.status === 'running' && !record.interrupted) {
    throw new InputError(`run ${parentId} is still in progress (pid ${record.manifest.pid}); stop it first`, { field: 'RUN' });
  }
  const selected = selectRunHosts(record, f.hosts);
  const { targets, untouched } = rollbackTargets(record, selected);
  if (untouched.length) {
    err(`svcfleet: not rolling back ${foldHosts(untouched)}: run ${parentId} ended there without sending a change (nothing to restore)`);
  }
  if (targets.size === 0) {
    err(`svcfleet: nothing to roll back in run ${parentId}: no host has a journaled before-snapshot (no apply request was sent)`);
    setExit(ExitCode.ok);
    return;
  }
  const names = [...targets.keys()];
  const hosts = hostsFromInventory(f, config, record, names);
  const tasks: HostTask[] = hosts.map((h) => ({ host: h, restores: targets.get(h.name)! }));
  // A rollback does not stop at the first host it cannot restore: every other host still deserves it.
  const strategy = everyHostStrategy(config);
  const runId = newRunId();
  const writer = await journal.createRun({
    runId,
    mode: 'rollback',
    parentRunId: parentId,
    spec: { rollbackOf: parentId },
    ...(record.manifest.inventorySource ? { inventorySource: record.manifest.inventorySource } : {}),
    inventorySources: f.inventory?.length ? absoluteSources(f.inventory) : (record.manifest.inventorySources ?? []),
    hosts: hosts.map((h) => journalHost(h)),
  });
  if (view !== 'ndjson') err(`svcfleet: rollback of run ${parentId} as run ${runId}: ${foldHosts(names)}`);
  const { done } = await runWithOutputs({ mode: 'rollback', tasks, strategy, config, view, ...(junit ? { junit } : {}), groupsOf: groupsLookup(hosts), requestFor: requestLookup(tasks) }, writer, runId);
  setExit(done.exitCode);
}

// ---------------------------------------------------------------------------------------------------------
// runs / show

async function runsCommand(f: RunFlags): Promise<void> {
  const config = await loadFleetConfig(f);
  const journal = openJournal(config);
  const runs = await journal.listRuns();
  if (f.output === 'json') out(JSON.stringify(runs, null, 2));
  else for (const l of formatRuns(runs)) out(l);
}

async function showCommand(runId: string, f: RunFlags): Promise<void> {
  const config = await loadFleetConfig(f);
  const journal = openJournal(config);
  const record = await journal.readRun(runId);
  if (f.output === 'ndjson') {
    for (const e of record.events) out(JSON.stringify(e));
    return;
  }
  const shown = showRun(record);
  if (f.output === 'json') out(JSON.stringify(shown, null, 2));
  else for (const l of formatShow(shown)) out(l);
}

// ---------------------------------------------------------------------------------------------------------
// inspect / ping / render

async function probeCommand(kind: 'inspect' | 'ping', service: string | undefined, f: RunFlags & { service?: string }, setExit: SetExit): Promise<void> {
  const config = await loadFleetConfig(f);
  const inv = loadHosts(f, config);
  const io = engineIO(config);
  const json = f.output === 'json';
  let results: ProbeResult[];
  try {
    results = await probeHosts(inv.hosts, {
      io: io.io,
      concurrency: config.concurrency,
      runId: newRunId(),
      ...(service ? { service } : {}),
      deadlines: deadlinesOf(config),
      onResult: (r) => {
        if (kind === 'ping' && !json) {
          out(r.reachable && !r.error ? `${r.host} ok ${r.ms} ms` : `${r.host} ${r.reachable ? 'reached, but' : 'unreachable:'} ${r.error?.code ?? ''}: ${r.error?.message ?? ''}`);
        }
      },
    });
  } finally {
    await io.dispose();
  }
  const bad = results.filter((r) => !r.reachable || r.error);
  if (kind === 'inspect') {
    const report = inspectReport(service!, results);
    if (json) out(JSON.stringify(report, null, 2));
    else for (const l of formatInspect(report)) out(l);
  } else if (json) {
    out(JSON.stringify(results, null, 2));
  } else {
    const ok = results.length - bad.length;
    out(`${ok}/${results.length} hosts answered${bad.length ? `; not ok: ${foldHosts(bad.map((b) => b.host))}` : ''}`);
  }
  setExit(bad.length ? ExitCode.hostsFailed : ExitCode.ok);
}

async function renderCommand(specArg: string | undefined, f: RunFlags & { host?: string; full?: boolean }): Promise<void> {
  const specFile = specArg ?? f.spec;
  if (!specFile) throw new InputError('no change spec given: svcfleet render SPEC --host HOST -i INVENTORY', { field: 'SPEC' });
  if (!f.host) throw new InputError('which host? use --host HOST', { field: '--host' });
  const config = await loadFleetConfig(f);
  const inv = loadHosts(f, config);
  const host = inv.hosts.find((h) => h.name === f.host);
  if (!host) throw new InputError(`host ${f.host} is not in the inventory (or not selected by --limit)`, { field: '--host', host: f.host });
  const spec = loadSpec(resolve(deps.cwd(), specFile));
  const requests = renderHostRequests(spec, host);
  const scripts = loadPsScripts();
  const rendered = requests.map((r) => {
    const request: OutgoingRequest = { v: PROTOCOL_VERSION, op: 'apply', nonce: '<per-call random nonce>', runId: '<run id>', expectedHash: '<configHash of the journaled before-snapshot>', ...stripRef(r) };
    // The password is never resolved for render; show where it goes (and where it comes from).
    if (r.passwordRef && request.desired?.account) request.desired = { ...request.desired, account: { ...request.desired.account, password: new Secret('') } };
    const invocation = buildInvocation(request);
    const shown = redactRequest(request);
    const payload = f.full ? { script: scripts.engine, request: shown } : { script: `<ps-scripts/engine.ps1: ${scripts.engine.length} characters; --full prints it>`, request: shown };
    return { service: r.service, passwordFrom: r.passwordRef, encodedCommand: invocation.encodedCommand, bootstrap: scripts.bootstrap, payload };
  });
  if (f.output === 'json') {
    out(JSON.stringify({ host: host.name, transport: host.connection.transport, address: host.connection.address, requests: rendered }, null, 2));
    return;
  }
  out(`# host ${host.name}: transport ${host.connection.transport}, ${host.connection.address}${host.connection.port ? `:${host.connection.port}` : ''}`);
  for (const r of rendered) {
    out(`# service ${r.service}${r.passwordFrom ? ` (account password from ${JSON.stringify(r.passwordFrom)}, shown as [REDACTED])` : ''}`);
    out('# command line:');
    out(`powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${r.encodedCommand}`);
    out('# bootstrap (the -EncodedCommand, decoded; the same for every host and call):');
    out(r.bootstrap.trimEnd());
    out('# stdin: one JSON line (non-ASCII escaped as \\uXXXX on the wire):');
    out(asciiJson(r.payload));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Registration

export function registerFleet(program: Command, setExit: SetExit): void {
  addTargetOptions(
    program
      .command('plan')
      .description('Connect read-only and show what would change on each host, grouped by identical change.')
      .argument('[spec]', 'change spec (YAML or JSON, docs/spec.md)')
      .option('--spec <file>', 'change spec (instead of the argument)')
      .option('-o <file>', 'save the plan, to apply exactly it later with `svcfleet apply FILE`'),
  )
    .addHelpText('after', `
Examples:
  svcfleet plan fix.yaml -i inventory/prod.ini
  svcfleet plan fix.yaml -i inventory/prod.ini --limit 'web:!web03' -o plan.json
  svcfleet plan fix.yaml -i inventory/lab.yml --output ndjson | jq -c 'select(.type=="host-diff")'`)
    .action((spec: string | undefined, f: RunFlags) => planCommand(spec, f, setExit));

  addTargetOptions(
    program
      .command('apply')
      .description('Apply a change spec (or a saved plan, with its drift guard) across the fleet, with canaries, batches and a failure budget.')
      .argument('[spec-or-plan]', 'change spec, or a plan saved by `svcfleet plan -o`')
      .option('--spec <file>', 'change spec (instead of the argument)'),
    { run: true },
  )
    .addHelpText('after', `
Examples:
  svcfleet apply fix.yaml -i inventory/prod.ini --canary 1 --batches 5,25%,100% --max-failures 2
  svcfleet apply plan.json                    # exactly the saved plan; hosts changed since are left 'drifted'
  svcfleet apply fix.yaml -i prod.ini --limit web --canary web01 --deadline 10m --output ndjson --junit report.xml
Ctrl-C once: no new host starts, in-flight hosts finish. Twice: in-flight hosts are cancelled and restored.
Exit codes: 0 ok/unchanged, 1 input error (nothing contacted), 2 some hosts failed or rolled back, 3 aborted, 4 a rollback failed.`)
    .action((arg: string | undefined, f: RunFlags) => applyCommand(arg, f, setExit));

  addTargetOptions(
    program
      .command('rollback')
      .description('Restore the hosts of an apply run to their journaled before-snapshots (or their own backup of that run).')
      .argument('<run>', 'run id (see `svcfleet runs`)')
      .option('--hosts <pattern>', 'only these hosts of the run (Ansible pattern over the run\'s hosts and groups)'),
  )
    .addHelpText('after', `
Examples:
  svcfleet rollback 20260125T140312Z-3fa9
  svcfleet rollback 20260125T140312Z-3fa9 --hosts 'web0[1-5]'
Without --hosts, every host with a journaled before-snapshot is restored (a host already at it stays unchanged).
With --hosts, a selected host without a journaled snapshot is restored from its own backup of that run.`)
    .action((run: string, f: RunFlags) => rollbackCommand(run, f, setExit));

  addTargetOptions(
    program
      .command('resume')
      .description('Finish an interrupted apply run: hosts without an outcome, hosts left unknown, and hosts a Ctrl-C or abort left skipped.')
      .argument('<run>', 'run id')
      .option('--spec <file>', 'the change spec, if it moved since the run')
      .option('--hosts <pattern>', 'only these hosts of the run'),
    { run: true },
  )
    .addHelpText('after', `
Examples:
  svcfleet resume 20260125T140312Z-3fa9
  svcfleet resume 20260125T140312Z-3fa9 --hosts 'web1*'    # also hosts a budget/canary stop left skipped
Hosts skipped because the failure budget was exceeded or a canary failed are resumed only when --hosts names them.
The run keeps its id: \`svcfleet show RUN\` and \`svcfleet rollback RUN\` cover every host, whichever session changed it.`)
    .action((run: string, f: RunFlags) => continueRun(run, f, setExit, 'resume'));

  addTargetOptions(
    program
      .command('retry')
      .description('Run an apply run again on its hosts that ended failed, rolled-back, unreachable or unknown.')
      .argument('<run>', 'run id')
      .option('--failed', 'the hosts that did not make it (the default and only selection; kept for readability)')
      .option('--spec <file>', 'the change spec, if it moved since the run')
      .option('--hosts <pattern>', 'only these hosts among them'),
    { run: true },
  )
    .addHelpText('after', `
Examples:
  svcfleet retry 20260125T140312Z-3fa9 --failed
  svcfleet retry 20260125T140312Z-3fa9 --failed --hosts 'web1*' --concurrency 5`)
    .action((run: string, f: RunFlags) => continueRun(run, f, setExit, 'retry'));

  program
    .command('runs')
    .description('List the runs in the journal, newest first.')
    .option('--journal <dir>', 'journal directory')
    .option('--config <file>', 'config file')
    .addOption(new Option('--output <format>', 'plain or json').choices(['plain', 'json']))
    .addHelpText('after', `
Examples:
  svcfleet runs
  svcfleet runs --output json | jq -r '.[] | select(.interrupted) | .runId'`)
    .action((f: RunFlags) => runsCommand(f));

  program
    .command('show')
    .description('Show every host of a run: outcome, reason and per-service diff (including hosts a crash left unfinished).')
    .argument('<run>', 'run id')
    .option('--journal <dir>', 'journal directory')
    .option('--config <file>', 'config file')
    .addOption(new Option('--output <format>', 'plain, json, or ndjson (the run\'s events again)').choices(['plain', 'json', 'ndjson']))
    .addHelpText('after', `
Examples:
  svcfleet show 20260125T140312Z-3fa9
  svcfleet show 20260125T140312Z-3fa9 --output json | jq '.hosts[] | select(.outcome != "changed")'`)
    .action((run: string, f: RunFlags) => showCommand(run, f));

  const inspect = addTargetOptions(
    program
      .command('inspect')
      .description('Read-only drift report: one service across the fleet, grouped by identical configuration, outliers first.')
      .argument('<service>', 'service name'),
    { journal: false, live: false },
  );
  jsonOutput(inspect, `  svcfleet inspect MyGoService -i inventory/prod.ini
  svcfleet inspect MyGoService -i inventory/prod.ini --limit web --output json`).action((service: string, f: RunFlags) => probeCommand('inspect', service, f, setExit));

  const render = addTargetOptions(
    program
      .command('render')
      .description('Print the exact bootstrap and stdin payload that would go to one host (secrets redacted). Contacts nothing.')
      .argument('[spec]', 'change spec')
      .option('--spec <file>', 'change spec (instead of the argument)')
      .option('--host <host>', 'the host to render for')
      .option('--full', 'include the whole remote engine script in the payload'),
    { journal: false, live: false },
  );
  jsonOutput(render, `  svcfleet render fix.yaml --host web01 -i inventory/prod.ini
  svcfleet render fix.yaml --host web01 -i inventory/prod.ini --output json | jq '.requests[0].payload.request'`).action((spec: string | undefined, f: RunFlags & { host?: string; full?: boolean }) => renderCommand(spec, f));

  const ping = addTargetOptions(
    program
      .command('ping')
      .description('Connect to every host (and, with --service, take that service\'s snapshot). Changes nothing.')
      .option('--service <name>', 'also read this service\'s configuration through the remote engine'),
    { journal: false, live: false },
  );
  jsonOutput(ping, `  svcfleet ping -i inventory/prod.ini
  svcfleet ping -i inventory/prod.ini --limit web --service MyGoService
Exit codes: 0 every host answered, 1 input error, 2 some hosts did not.`).action((f: RunFlags & { service?: string }) => probeCommand('ping', f.service, f, setExit));
}
