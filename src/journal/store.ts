/**
 * The run journal: one directory per run under `<root>/runs/<runId>/`:
 *
 *   manifest.json   what the run is and whether it finished (replaced atomically: tmp, fsync, rename, fsync dir)
 *   spec.json       the change spec as loaded (secrets scrubbed)                        (written atomically, once)
 *   hosts.json      the resolved inventory of the run: hosts, groups, connection settings
 *                   without secrets, and each host's rendered change (secrets scrubbed)   (written atomically, once)
 *   inputs.json     what the run applies and how it rolls out (inputs.ts)                 (written atomically, once)
 *   journal.ndjson  append-only, checksummed lines (log.ts): every event of the run, and every before-snapshot,
 *                   synced to disk before the apply request of that host is sent
 *
 * `resume` and `retry` append to the same run (its hosts, its snapshots, one `show`); `rollback` is a run of
 * its own that names its parent. The default root is $XDG_STATE_HOME/svcfleet (~/.local/state/svcfleet),
 * chosen by the configuration (config/journal-root.ts).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitCode, type FleetEvent, type RunDoneEvent, type RunHandle, type TerminalState } from '../engine/events.js';
import { eventJson } from '../engine/event-json.js';
import { exitCodeFor } from '../engine/outcome.js';
import { RUN_ID_RE } from '../engine/run-id.js';
import type { SnapshotStore } from '../engine/types.js';
import type { Snapshot } from '../remote/protocol.js';
import { InputError } from '../util/errors.js';
import { fsyncDir, writeFileAtomic } from '../util/fsutil.js';
import { readRunInputs, writeRunInputs } from './inputs.js';
import { AppendLog, JournalWriteError, readLog } from './log.js';
import { scrubSecrets } from '../engine/scrub.js';
import { MANIFEST_FORMAT, type JournalHost, type JournalRecord, type RunInit, type RunManifest, type RunRecord } from './record.js';
import { replayRun } from './replay.js';

// The record shapes live in record.ts so that replay.ts can read them without importing this module (which
// itself replays a run when it reopens one); they are re-exported here, the journal's front door.
export { MANIFEST_FORMAT, type JournalHost, type JournalRecord, type RunInit, type RunManifest, type RunRecord } from './record.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A run marked running whose controller (on this machine) is gone. Another machine's run cannot be checked. */
export function isInterrupted(m: RunManifest): boolean {
  return m.status === 'running' && m.hostname === hostname() && m.pid !== process.pid && !pidAlive(m.pid);
}

export class Journal {
  readonly runsDir: string;
  constructor(readonly root: string) {
    this.runsDir = join(root, 'runs');
  }

  runDir(runId: string): string {
    if (!RUN_ID_RE.test(runId))
      throw new InputError(`not a run id: ${JSON.stringify(runId)} (expected e.g. 20260125T140312Z-3fa9; see \`svcfleet runs\`)`, { field: 'RUN' });
    return join(this.runsDir, runId);
  }

  /**
   * Create the run's directory, documents and log, durably. A journal that cannot be written (full disk, read-only,
   * no permission) is an InputError naming it: exit 1, before any host is contacted.
   */
  async createRun(init: RunInit): Promise<RunWriter> {
    try {
      return await this.#createRun(init);
    } catch (err) {
      if (err instanceof InputError) throw err;
      const e = err instanceof JournalWriteError ? err : new JournalWriteError(this.root, err);
      throw new InputError(
        `${e.message}; nothing was contacted${e.noSpace ? ' (free space there, or pass --journal PATH)' : ''}`,
        { file: this.root },
        { cause: err },
      );
    }
  }

  async #createRun(init: RunInit): Promise<RunWriter> {
    await mkdir(this.runsDir, { recursive: true, mode: 0o700 });
    const dir = this.runDir(init.runId);
    await mkdir(dir, { mode: 0o700 });
    await fsyncDir(this.runsDir);
    const now = new Date().toISOString();
    const { spec, hosts, inputs, ...origin } = init;
    const manifest: RunManifest = {
      format: MANIFEST_FORMAT,
      version: 1,
      ...origin,
      createdAt: now,
      updatedAt: now,
      status: 'running',
      pid: process.pid,
      hostname: hostname(),
      segments: 1,
      hostCount: hosts.length,
    };
    // Independent files: written (and fsync'ed) side by side, which at 10,000 hosts saves a good part of the
    // run's start-up. The manifest waits for all of them.
    const [opened, ...written] = await Promise.allSettled([
      AppendLog.open(join(dir, 'journal.ndjson')),
      writeFileAtomic(join(dir, 'spec.json'), JSON.stringify(scrubSecrets(spec ?? null), null, 2)),
      writeFileAtomic(join(dir, 'hosts.json'), JSON.stringify(scrubSecrets(hosts), null, 2)),
      inputs ? writeRunInputs(dir, inputs) : undefined,
    ]);
    const failed = [opened, ...written].find((r) => r.status === 'rejected');
    if (failed) {
      if (opened.status === 'fulfilled') await opened.value.close().catch(() => undefined);
      throw failed.reason;
    }
    const log = (opened as PromiseFulfilledResult<AppendLog>).value;
    await fsyncDir(dir);
    // The manifest goes last: a run directory without one is an aborted creation and is not listed.
    await writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    return new RunWriter(dir, manifest, log);
  }

  /** Continue a run (resume / retry): refuses while another live controller owns it. */
  async reopenRun(runId: string): Promise<{ writer: RunWriter; record: RunRecord }> {
    const record = await this.readRun(runId);
    const m = record.manifest;
    if (m.status === 'running' && !record.interrupted) {
      throw new InputError(`run ${runId} is still in progress (pid ${m.pid} on ${m.hostname}); wait for it or stop it first`, { field: 'RUN' });
    }
    const dir = this.runDir(runId);
    const log = await AppendLog.open(join(dir, 'journal.ndjson'));
    // The log may have been created just now (a run whose log was lost): its directory entry must be durable too.
    await fsyncDir(dir);
    const manifest: RunManifest = {
      ...m,
      status: 'running',
      pid: process.pid,
      hostname: hostname(),
      segments: m.segments + 1,
      updatedAt: new Date().toISOString(),
    };
    await writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const earlier = new Map<string, TerminalState>();
    for (const h of replayRun(record).hosts) if (h.outcome) earlier.set(h.name, h.outcome);
    return { writer: new RunWriter(dir, manifest, log, earlier), record };
  }

  async listRuns(): Promise<(RunManifest & { interrupted: boolean })[]> {
    if (!existsSync(this.runsDir)) return [];
    const out: (RunManifest & { interrupted: boolean })[] = [];
    for (const name of await readdir(this.runsDir)) {
      if (!RUN_ID_RE.test(name)) continue;
      const m = await readManifest(join(this.runsDir, name)).catch(() => undefined);
      if (m) out.push({ ...m, interrupted: isInterrupted(m) });
    }
    return out.sort((a, b) => (a.runId < b.runId ? 1 : -1));
  }

  async readRun(runId: string): Promise<RunRecord> {
    const dir = this.runDir(runId);
    if (!existsSync(join(dir, 'manifest.json'))) {
      throw new InputError(`no run ${runId} in journal ${this.root} (see \`svcfleet runs\`, or pass --journal PATH)`, { field: 'RUN' });
    }
    const manifest = await readManifest(dir);
    const spec = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8')) as unknown;
    const hosts = JSON.parse(await readFile(join(dir, 'hosts.json'), 'utf8')) as JournalHost[];
    const { inputs, damaged: inputsDamaged } = await readRunInputs(dir);
    const log = existsSync(join(dir, 'journal.ndjson'))
      ? await readLog<JournalRecord>(join(dir, 'journal.ndjson'))
      : { records: [], damaged: 0, tornTail: false };
    const events: FleetEvent[] = [];
    const snapshots = new Map<string, Map<string, Snapshot>>();
    let lastSeq = 0;
    for (const rec of log.records) {
      if (rec.r === 'event') {
        events.push(rec.e);
        if (rec.e.seq > lastSeq) lastSeq = rec.e.seq;
      } else if (rec.r === 'snapshot') {
        let per = snapshots.get(rec.host);
        if (!per) snapshots.set(rec.host, (per = new Map()));
        if (!per.has(rec.service)) per.set(rec.service, rec.snapshot);
      }
    }
    return {
      manifest,
      interrupted: isInterrupted(manifest),
      spec,
      hosts,
      ...(inputs ? { inputs } : {}),
      ...(inputsDamaged ? { inputsDamaged } : {}),
      events,
      snapshots,
      damaged: log.damaged,
      tornTail: log.tornTail,
      lastSeq,
    };
  }
}

async function readManifest(dir: string): Promise<RunManifest> {
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as RunManifest;
  if (m.format !== MANIFEST_FORMAT || m.version !== 1) throw new Error(`${dir}: not a svcfleet run manifest`);
  return m;
}

/**
 * Writes one run (segment): the engine's SnapshotStore (durable before apply) and the event sink (batched).
 */
export class RunWriter implements SnapshotStore {
  #unsubscribe: (() => void) | undefined;
  #handle: RunHandle | undefined;
  /** The first write failure of this segment: the run was told to stop scheduling. */
  #failed: JournalWriteError | undefined;
  /** Every host's latest outcome in the run: earlier segments', overwritten by this segment's host-done events. */
  readonly #outcomes: Map<string, TerminalState>;

  constructor(
    readonly dir: string,
    private manifest: RunManifest,
    private readonly log: AppendLog,
    earlierOutcomes: ReadonlyMap<string, TerminalState> = new Map(),
  ) {
    this.#outcomes = new Map(earlierOutcomes);
  }

  get runId(): string {
    return this.manifest.runId;
  }

  /** The journal could not be written this segment (the run was stopped because of it). */
  get failure(): JournalWriteError | undefined {
    return this.#failed;
  }

  /**
   * Resolves once the snapshots are durable (an O_DSYNC write, or fdatasync; the log's directory entry was synced
   * when it was created): only then may the engine send the host its apply request. When they cannot be written the host gets nothing (the
   * engine ends it `failed`, nothing changed), and the run stops scheduling: every later host would fail the
   * same way, and hosts already applying finish.
   */
  async saveSnapshots(host: string, snapshots: { service: string; snapshot: Snapshot }[]): Promise<void> {
    const at = new Date().toISOString();
    for (const s of snapshots) this.log.append({ r: 'snapshot', host, service: s.service, at, snapshot: s.snapshot } satisfies JournalRecord);
    try {
      await this.log.sync();
    } catch (err) {
      throw this.#fail(err, 'nothing was sent to this host');
    }
  }

  /** Remember the first failure and, while the run is still going, stop its scheduling (in-flight hosts finish). */
  #fail(err: unknown, what: string, running = true): JournalWriteError {
    const first = this.#failed === undefined;
    const stops = running ? 'the run stops scheduling: ' : '';
    const e = new JournalWriteError(this.log.path, err, `${what}; ${stops}free space for the journal, then run \`svcfleet resume ${this.runId}\``);
    this.#failed ??= e;
    if (first && running) this.#handle?.send({ type: 'abort', inFlight: 'finish', reason: 'journal' });
    return e;
  }

  /** Record every event of the run. Subscribe before the run starts. */
  attach(handle: RunHandle): void {
    this.#handle = handle;
    this.#unsubscribe = handle.subscribe((e) => {
      if (e.type === 'host-done') this.#outcomes.set(e.host, e.outcome);
      // Never throws for a failed write: the record stays buffered for the next sync (log.ts). The line is the
      // JSON of `{ r: 'event', e }` (a JournalRecord), built around the event's text shared with other sinks.
      this.log.appendWrapped('{"r":"event","e":', () => eventJson(e), '}');
    });
  }

  /**
   * After run-done: make everything durable and mark the run finished. The manifest's counts and exit code are
   * the whole run's (every segment: a resume or retry covers only some hosts), so `runs` tells the run's state;
   * the segment's own counts stay in its run-done event.
   */
  async finish(done: RunDoneEvent): Promise<void> {
    this.#unsubscribe?.();
    try {
      await this.log.sync();
    } catch (err) {
      // The events since the failure are lost with this process; the manifest stays `running`, so the run reads
      // back as interrupted and `resume` finishes every host without a recorded outcome.
      await this.log.close().catch(() => undefined);
      throw this.#failed ?? this.#fail(err, 'the outcomes of the last hosts are not recorded', false);
    }
    const counts: Partial<Record<TerminalState, number>> = {};
    for (const o of this.#outcomes.values()) counts[o] = (counts[o] ?? 0) + 1;
    const exitCode = exitCodeFor(counts, done.exitCode === ExitCode.aborted, this.manifest.mode);
    this.manifest = { ...this.manifest, status: 'done', updatedAt: new Date().toISOString(), counts, exitCode };
    try {
      await writeFileAtomic(join(this.dir, 'manifest.json'), JSON.stringify(this.manifest, null, 2));
    } catch (err) {
      await this.log.close().catch(() => undefined);
      throw this.#fail(err, 'every outcome is recorded but the run could not be marked finished', false);
    }
    await this.log.close();
    // Recorded in the end (space came back), but the run was stopped early: report why.
    if (this.#failed) throw this.#failed;
  }

  /** Without a run-done (e.g. an internal error): flush what there is; the run reads back as interrupted. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.log.close();
  }
}
