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
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
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

const responderPerOp = responderCpuMsPerOp(buildInvocation({ v: 1, op: 'apply', nonce: newNonce(), runId, ...change }));

const cpu0 = process.cpuUsage();
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
writer?.attach(handle);
attachHeapSnapshots(handle);
let nd = 0;
attachNdjson(handle, { write: (c: string) => (nd += c.length) });
attachPlain(handle, { out: { write: () => true }, progressEveryMs: 0 });
const done = await handle.done;
if (writer) await writer.finish(done);
const wallMs = performance.now() - t0;
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

/** Bytes of every file under `dir` (the journal of this run). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? treeBytes(p) : statSync(p).size;
  }
  return total;
}
