/**
 * bench/fleet: the controller at fleet scale (not a test). N hosts at concurrency C through the real engine,
 * journal (fsync'd snapshots, batched events), plain reporter (to a null sink) and NDJSON encoder, against the
 * LIGHTWEIGHT IN-PROCESS RESPONDER TRANSPORT (responder.ts): fixed per-host latency, canned framed results.
 *
 * Prints wall time next to the ideal ceil(N/C) × per-host time, controller CPU per host (gross, and net of
 * the responder's own work), peak RSS, and the ratios against the targets:
 *   wall ≤ 1.15 × ideal; ≤ 3 ms controller CPU per host; peak RSS ≤ 300 MB.
 *
 * Run: bash bench/fleet/run.sh [--hosts 1000] [--concurrency 200] [--connect-ms 50] [--plan-ms 250] [--apply-ms 700]
 *      [--no-journal] [--explain]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startRun } from '../../src/engine/run.js';
import { newRunId } from '../../src/engine/run-id.js';
import type { HostTask } from '../../src/engine/types.js';
import { Journal } from '../../src/journal/store.js';
import { attachPlain } from '../../src/report/plain.js';
import { attachNdjson } from '../../src/report/ndjson.js';
import { createEngineIO } from '../../src/engine/io.js';
import { buildInvocation, newNonce } from '../../src/remote/invocation.js';
import { ResponderTransport, responderCpuMsPerOp } from './responder.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '200' },
    'connect-ms': { type: 'string', default: '50' },
    'plan-ms': { type: 'string', default: '250' },
    'apply-ms': { type: 'string', default: '700' },
    'no-journal': { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
  },
});
const N = Number(values.hosts);
const C = Number(values.concurrency);
const latency = { connectMs: Number(values['connect-ms']), planMs: Number(values['plan-ms']), applyMs: Number(values['apply-ms']) };
const perHostMs = latency.connectMs + latency.planMs + latency.applyMs;

/** Peaks of the process's memory, sampled every 20 ms: RSS, and what it is made of (JS heap, Buffers). */
const peak = { rss: 0, heapUsed: 0, external: 0 };
const sample = (): void => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.external = Math.max(peak.external, m.external); // includes arrayBuffers (Buffers)
};
sample();
const sampler = setInterval(sample, 20);
const load0 = loadavg();

const transport = new ResponderTransport(latency);
const root = mkdtempSync(join(tmpdir(), 'svcfleet-bench-'));
const journal = new Journal(root);
const runId = newRunId();
const hosts = Array.from({ length: N }, (_, i) => `web${String(i + 1).padStart(4, '0')}`);
const change = {
  service: 'MyGoService',
  desired: { binaryPath: '"C:\\Program Files\\MyGo\\myapp.exe" --port 8082' },
  restart: 'if-needed' as const,
  verify: { running: true, port: 8082 },
  rollback: 'auto' as const,
};
const tasks: HostTask[] = hosts.map((name, i) => ({
  host: {
    name,
    groups: ['web'],
    vars: { app_port: 18000 + i },
    connection: { transport: 'local', address: '127.0.0.1', local: { stateDir: `/bench/${name}` } },
  },
  changes: [change],
}));

const syncWaits: number[] = [];
const responderPerOp = responderCpuMsPerOp(buildInvocation({ v: 1, op: 'apply', nonce: newNonce(), runId, ...change }));

const cpu0 = process.cpuUsage();
// The probes behind "where the wall goes" are event subscribers of their own, ~1.5% of the wall: only on request.
const explain = values.explain;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
if (explain) loopDelay.enable();
const t0 = performance.now();
const writer = values['no-journal']
  ? undefined
  : await journal.createRun({
      runId,
      mode: 'apply',
      hosts: tasks.map((t) => ({ name: t.host.name, groups: t.host.groups, vars: t.host.vars, connection: { ...t.host.connection }, changes: [change] })),
    });
const handle = startRun({
  runId,
  mode: 'apply',
  tasks,
  io: createEngineIO(() => transport),
  snapshots: writer ?? { saveSnapshots: async () => undefined },
  strategy: { concurrency: C, maxFailures: { kind: 'count', n: 0 } },
});
const tRun = performance.now();
if (writer && explain) timeSnapshotSaves(writer);
writer?.attach(handle);
attachHeapSnapshots(handle);
const hostMs = explain ? hostTimes(handle) : undefined;
let nd = 0;
attachNdjson(handle, { write: (c: string) => (nd += c.length) });
attachPlain(handle, { out: { write: () => true }, progressEveryMs: 0 });
const done = await handle.done;
const tDone = performance.now();
if (writer) await writer.finish(done);
const wallMs = performance.now() - t0;
loopDelay.disable();
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
sample();
const peakRss = peak.rss;
const journalBytes = treeBytes(root);
rmSync(root, { recursive: true, force: true });

const idealMs = Math.ceil(N / C) * perHostMs;
const cpuMs = (cpu.user + cpu.system) / 1000;
const responderMs = responderPerOp * transport.execs;
const netCpuPerHost = (cpuMs - responderMs) / N;
const rssMb = peakRss / 1024 / 1024;
const mb = (n: number): string => (n / 1024 / 1024).toFixed(0);
const fmt = (n: number, d = 2): string => n.toFixed(d);
const ok = (b: boolean): string => (b ? 'OK' : 'OVER TARGET');

process.stdout.write(
  [
    `bench/fleet — controller at scale, LIGHTWEIGHT IN-PROCESS RESPONDER TRANSPORT (fixed latency, canned results)`,
    `hosts ${N}, concurrency ${C}, per-host latency ${perHostMs} ms (connect ${latency.connectMs} + plan ${latency.planMs} + apply ${latency.applyMs}); journal ${writer ? 'on (fsync per snapshot batch)' : 'off'}`,
    `outcome: ${JSON.stringify(done.counts)} exit ${done.exitCode}; ${transport.execs} remote ops; NDJSON ${fmt(nd / 1024 / 1024)} MB`,
    `wall           ${fmt(wallMs / 1000)} s   ideal ceil(N/C)×per-host = ${fmt(idealMs / 1000)} s   ratio ${fmt(wallMs / idealMs, 3)} (target ≤ 1.15: ${ok(wallMs / idealMs <= 1.15)})`,
    `CPU            ${fmt(cpuMs, 0)} ms total; responder's own work ${fmt(responderMs, 0)} ms (${fmt(responderPerOp, 3)} ms/op, calibrated)`,
    `CPU per host   ${fmt(cpuMs / N, 3)} ms gross, ${fmt(netCpuPerHost, 3)} ms net of the responder (target ≤ 3: ${ok(netCpuPerHost <= 3)}; ratio ${fmt(netCpuPerHost / 3, 3)})`,
    `peak RSS       ${fmt(rssMb, 1)} MB (target ≤ 300: ${ok(rssMb <= 300)}; ratio ${fmt(rssMb / 300, 3)}); peaks: JS heap ${mb(peak.heapUsed)} MB, Buffers ${mb(peak.external)} MB`,
    `where the wall goes: create the run's journal ${fmt(tRun - t0, 0)} ms, hosts ${fmt(tDone - tRun, 0)} ms, finish ${fmt(t0 + wallMs - tDone, 0)} ms`,
    ...(hostMs
      ? [
          `  per host, first event → host-done: ${pct(hostMs.done)} (per-host latency ${perHostMs} ms)`,
          `  late against the fixed latencies (mean): ${Object.entries(hostMs.late)
            .map(([k, v]) => `${k} +${fmt(v.reduce((a, b) => a + b, 0) / Math.max(1, v.length), 1)} ms`)
            .join(', ')}`,
          `  per host, waiting for its snapshots to be synced: ${writer ? pct(syncWaits) : 'no journal'}`,
          `  event-loop delay: p50 ${fmt(loopDelay.percentile(50) / 1e6, 1)} ms, p99 ${fmt(loopDelay.percentile(99) / 1e6, 1)} ms, max ${fmt(loopDelay.max / 1e6, 1)} ms`,
        ]
      : ['  (--explain: how late each host was, step by step, its wait for the journal and the event loop delay)']),
    `journal        ${writer ? `${fmt(journalBytes / 1024 / 1024)} MB on disk, ${fmt(journalBytes / N, 0)} bytes per host` : 'off'}`,
    `machine        ${cpus().length} cores; load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    '',
  ].join('\n'),
);

/**
 * SVCFLEET_BENCH_HEAPSNAPSHOT=<dir>[:<fractions>] writes a V8 heap snapshot into <dir> when that fraction of the
 * hosts is done (default 0.5,0.9), to see what the run holds per host (open it in Chrome DevTools → Memory).
 * Writing one pauses the process for seconds: the run's wall and CPU figures are meaningless then.
 */
function attachHeapSnapshots(h: { subscribe: (l: (e: { type: string }) => void) => () => void }): void {
  const spec = process.env.SVCFLEET_BENCH_HEAPSNAPSHOT;
  if (!spec) return;
  const [dir, fractions = '0.5,0.9'] = spec.split(':');
  const at = fractions.split(',').map((f) => Math.round(Number(f) * N));
  let done = 0;
  h.subscribe((e) => {
    if (e.type !== 'host-done' || !at.includes(++done)) return;
    const file = writeHeapSnapshot(join(dir!, `fleet-${N}-${done}.heapsnapshot`));
    process.stderr.write(`heap snapshot at ${done} hosts done: ${file}\n`);
  });
}

/** How long each host waited in saveSnapshots (the journal's group-committed fdatasync before its apply). */
function timeSnapshotSaves(w: { saveSnapshots: (...a: never[]) => Promise<void> }): void {
  const save = w.saveSnapshots.bind(w) as (...a: unknown[]) => Promise<void>;
  (w as { saveSnapshots: unknown }).saveSnapshots = async (...a: unknown[]) => {
    const t = performance.now();
    await save(...a);
    syncWaits.push(performance.now() - t);
  };
}

/**
 * Each host's time from its first event to its host-done, and how late each step of it was against the
 * responder's fixed latencies: connected (first `snapshot` phase), planned (`host-diff`), applied (the remote
 * engine's `backup` phase, the first frame of the apply answer), done.
 */
function hostTimes(h: { subscribe: (l: (e: { type: string; host?: string; state?: string; remotePhase?: string }) => void) => () => void }): {
  done: number[];
  late: Record<'connected' | 'planned' | 'applied' | 'done', number[]>;
} {
  const first = new Map<string, number>();
  const planned = new Map<string, number>();
  const done: number[] = [];
  const late = { connected: [] as number[], planned: [] as number[], applied: [] as number[], done: [] as number[] };
  h.subscribe((e) => {
    if (!e.host) return;
    const now = performance.now();
    const t0 = first.get(e.host);
    if (t0 === undefined) return void first.set(e.host, now);
    if (e.type === 'host-phase' && e.state === 'snapshot' && !e.remotePhase && !planned.has(e.host)) late.connected.push(now - t0 - latency.connectMs);
    else if (e.type === 'host-diff') {
      planned.set(e.host, now);
      late.planned.push(now - t0 - latency.connectMs - latency.planMs);
    } else if (e.type === 'host-phase' && e.remotePhase === 'backup') late.applied.push(now - planned.get(e.host)! - latency.applyMs);
    else if (e.type === 'host-done') {
      done.push(now - t0);
      late.done.push(now - t0 - perHostMs);
      first.delete(e.host);
      planned.delete(e.host);
    }
  });
  return { done, late };
}

/** p50 / p90 / p99 / max / mean of a list of milliseconds. */
function pct(xs: number[]): string {
  if (!xs.length) return 'none';
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): string => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${s[s.length - 1]!.toFixed(1)} ms, mean ${mean.toFixed(1)} ms`;
}

/** Bytes of every file under `dir` (the journal of this run). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? treeBytes(p) : statSync(p).size;
  }
  return total;
}
