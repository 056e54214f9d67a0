/**
 * How much controller CPU the live dashboard costs, at 1,000 hosts (`--hosts 10000 --concurrency 1000` for the 10,000-host run). Run: `bash bench/ui/run.sh` (compiles to
 * node_modules/.cache, bundles the dashboard there as `npm run build` does, and runs; `--quick` for one round and
 * a short replay, `--fleet-only` to skip the replay, `--rounds N`). Every variant runs in its own child process,
 * so measurements do not share a warmed-up JIT, a loaded module or a garbage-collected heap; the two variants of
 * a pair run alternately and the medians are compared.
 *
 *   replay  A recorded 1,000-host stream (phases, diffs, logs, faults) replayed in real time over --seconds,
 *           folded by the reducer alone vs. reducer + dashboard (Ink rendering to a fake 160x50 TTY).
 *   fleet   The 1,000-host benchmark of bench/fleet: the real engine, journal (fsync'd) and remote-op path over
 *           its in-process responder transport (fixed latency, canned results), headless (plain and NDJSON to
 *           null sinks) vs. the dashboard instead of the plain reporter. Per-host latency: connect 50 + plan
 *           250 + --apply-ms (default 700, as bench/fleet; 5000 gives a longer, steadier run).
 * The one-time load of the dashboard bundle (React, Ink, Yoga) is counted in the dashboard's CPU and also shown
 * apart: it happens once per process, whatever the fleet size or run length.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FleetEvent } from '../../src/engine/events.js';
import { startRun } from '../../src/engine/run.js';
import { newRunId } from '../../src/engine/run-id.js';
import type { HostTask } from '../../src/engine/types.js';
import { Journal } from '../../src/journal/store.js';
import { attachNdjson } from '../../src/report/ndjson.js';
import { attachPlain } from '../../src/report/plain.js';
import { applyEvent, createRunState } from '../../src/state/run-state.js';
import { runRemote } from '../../src/remote/run.js';
import { runDashboard } from '../../src/ui/index.js';
import { ResponderTransport } from '../fleet/responder.js';
import { FakeRun, fleetScript } from '../../test/ui/fake-run.js';

/** `--hosts N` (default 1,000), handed to the measuring children through the environment. */
const HOSTS = Number(process.env['SVCFLEET_BENCH_UI_HOSTS'] ?? 1000);
/** `--concurrency N` for the fleet variants (default 200). */
const CONCURRENCY = Number(process.env['SVCFLEET_BENCH_UI_CONCURRENCY'] ?? 200);

type Variant = 'replay-reducer' | 'replay-dashboard' | 'fleet-headless' | 'fleet-dashboard';

interface Measure {
  variant: Variant;
  cpuMs: number;
  /** CPU of loading React, Ink and Yoga (dashboard variants); included in cpuMs. */
  loadMs: number;
  wallMs: number;
  events: number;
  bytes: number;
  frames: number;
}

type Tty = ReturnType<typeof fakeTty>;

function fakeTty() {
  const stats = { bytes: 0, frames: 0 };
  const stdout = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      stats.bytes += chunk.length;
      stats.frames++;
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stdout, { isTTY: true, columns: 160, rows: 50 });
  const stdin = new Readable({ read() {} }) as unknown as NodeJS.ReadStream;
  Object.assign(stdin, { isTTY: false });
  return { stdout, stdin, stats };
}

/** Replays `events` with their recorded spacing compressed into `seconds` of wall time. */
async function replay(run: FakeRun, events: FleetEvent[], seconds: number): Promise<void> {
  const t0 = Date.parse(events[0]!.at);
  const span = Date.parse(events[events.length - 1]!.at) - t0;
  const due = (i: number) => start + (Date.parse(events[i]!.at) - t0) * ((seconds * 1000) / span);
  const start = Date.now();
  let i = 0;
  while (i < events.length) {
    const wait = due(i) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 10)));
    const now = Date.now();
    while (i < events.length && due(i) <= now) run.emit(events[i++]!);
  }
}

async function replayRun(variant: Variant, seconds: number, tty: Tty): Promise<number> {
  const script = fleetScript({
    hosts: HOSTS,
    batchSize: 50,
    logLines: 3,
    hostMs: 8000,
    faults: { 5: 'access-denied', 77: 'crash', 300: 'unreachable', 301: 'access-denied' },
  });
  const run = new FakeRun(script[0]!.runId);
  if (variant === 'replay-reducer') {
    const state = createRunState();
    run.subscribe((e) => applyEvent(state, e));
    await replay(run, script, seconds);
  } else {
    const ui = runDashboard(run, { stdout: tty.stdout, stdin: tty.stdin, exitOnDone: true, color: true });
    await replay(run, script, seconds);
    await ui;
  }
  return script.length;
}

/** bench/fleet's run: 1,000 hosts at concurrency 200 through engine, journal and runRemote over the responder. */
async function fleetRun(variant: Variant, applyMs: number, tty: Tty): Promise<number> {
  const transport = new ResponderTransport({ connectMs: 50, planMs: 250, applyMs });
  const root = mkdtempSync(join(tmpdir(), 'svcfleet-bench-ui-'));
  const runId = newRunId();
  const change = {
    service: 'MyGoService',
    desired: { binaryPath: '"C:\\Program Files\\MyGo\\myapp.exe" --port 8082' },
    restart: 'if-needed' as const,
    verify: { running: true, port: 8082 },
    rollback: 'auto' as const,
  };
  const tasks: HostTask[] = Array.from({ length: HOSTS }, (_, i) => {
    const name = `web${String(i + 1).padStart(4, '0')}`;
    return {
      host: { name, groups: ['web'], vars: {}, connection: { transport: 'local', address: '127.0.0.1', local: { stateDir: `/bench/${name}` } } },
      changes: [change],
    };
  });
  const writer = await new Journal(root).createRun({
    runId,
    mode: 'apply',
    hosts: tasks.map((t) => ({ name: t.host.name, groups: t.host.groups, vars: t.host.vars, connection: { ...t.host.connection }, changes: [change] })),
  });
  const handle = startRun({
    runId,
    mode: 'apply',
    tasks,
    io: {
      openSession: (host, options) => transport.open(host.name, host.connection, options),
      runRemote: (session, request, options) => runRemote(session, request, options),
    },
    snapshots: writer,
    strategy: { concurrency: CONCURRENCY, maxFailures: { kind: 'count', n: 0 } },
  });
  writer.attach(handle);
  let events = 0;
  handle.subscribe(() => events++);
  attachNdjson(handle, { write: () => true });
  const ui = variant === 'fleet-dashboard' ? runDashboard(handle, { stdout: tty.stdout, stdin: tty.stdin, exitOnDone: true, color: true }) : undefined;
  if (!ui) attachPlain(handle, { out: { write: () => true }, progressEveryMs: 0 });
  const done = await handle.done;
  await writer.finish(done);
  await ui;
  rmSync(root, { recursive: true, force: true });
  return events;
}

async function measure(variant: Variant, seconds: number, applyMs: number): Promise<Measure> {
  const tty = fakeTty();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let loadMs = 0;
  if (variant.endsWith('dashboard')) {
    // What runDashboard does first, timed apart (the module is cached afterwards, so it is not paid twice).
    process.env['NODE_ENV'] ??= 'production';
    const c = process.cpuUsage();
    await import('../../src/ui/mount.js');
    const u = process.cpuUsage(c);
    loadMs = (u.user + u.system) / 1000;
  }
  const events = variant.startsWith('replay') ? await replayRun(variant, seconds, tty) : await fleetRun(variant, applyMs, tty);
  const cpu = process.cpuUsage(cpu0);
  return {
    variant,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loadMs,
    wallMs: performance.now() - wall0,
    events,
    bytes: tty.stats.bytes,
    frames: tty.stats.frames,
  };
}

function child(variant: Variant, seconds: number, applyMs: number): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const p = fork(fileURLToPath(import.meta.url), ['--child', variant, String(seconds), String(applyMs)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    p.once('message', (m) => resolve(m as Measure));
    p.once('error', reject);
    p.once('exit', (code) => code && reject(new Error(`${variant} exited ${code}`)));
  });
}

function flag(argv: string[], name: string): number | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : undefined;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const m = await measure(argv[1] as Variant, Number(argv[2]), Number(argv[3]));
    // Run by hand (e.g. under `node --cpu-prof`), there is no parent to tell.
    if (process.send) process.send(m);
    else console.error(JSON.stringify(m));
    return;
  }
  for (const [name, env] of [
    ['--hosts', 'SVCFLEET_BENCH_UI_HOSTS'],
    ['--concurrency', 'SVCFLEET_BENCH_UI_CONCURRENCY'],
  ] as const) {
    const n = flag(argv, name);
    if (n !== undefined) process.env[env] = String(n);
  }
  const hosts = Number(process.env['SVCFLEET_BENCH_UI_HOSTS'] ?? 1000);
  const concurrency = Number(process.env['SVCFLEET_BENCH_UI_CONCURRENCY'] ?? 200);
  const quick = argv.includes('--quick');
  const seconds = flag(argv, '--seconds') ?? (quick ? 5 : 20);
  const applyMs = flag(argv, '--apply-ms') ?? 700;
  const rounds = flag(argv, '--rounds') ?? (quick ? 1 : 3);
  const fleetOnly = argv.includes('--fleet-only');
  const fmt = (m: Measure) =>
    `${m.variant.padEnd(17)} cpu ${m.cpuMs.toFixed(0).padStart(6)} ms${m.loadMs ? ` (UI load ${m.loadMs.toFixed(0)})` : ''}` +
    `  wall ${(m.wallMs / 1000).toFixed(1).padStart(5)} s  events ${m.events}` +
    (m.frames ? `  writes ${m.frames} (${(m.frames / (m.wallMs / 1000)).toFixed(1)}/s, ${(m.bytes / 1024).toFixed(0)} KiB)` : '');
  const mid = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    const k = v.length >> 1;
    return v.length % 2 ? v[k]! : (v[k - 1]! + v[k]!) / 2;
  };
  /**
   * `rounds` runs of each variant, alternating (A B A B ...) so that a change in the machine's load hits both
   * alike; the median of each field (CPU figures on a shared machine are noisy; the median resists outliers).
   */
  const pair = async (a: Variant, b: Variant): Promise<[Measure, Measure]> => {
    const runs: Record<string, Measure[]> = { [a]: [], [b]: [] };
    for (let i = 0; i < rounds; i++) {
      for (const v of [a, b]) {
        const m = await child(v, seconds, applyMs);
        console.log(`  ${fmt(m)}`);
        runs[v]!.push(m);
      }
    }
    const med = (v: Variant): Measure => {
      const ms = runs[v]!;
      return {
        variant: v,
        cpuMs: mid(ms.map((m) => m.cpuMs)),
        loadMs: mid(ms.map((m) => m.loadMs)),
        wallMs: mid(ms.map((m) => m.wallMs)),
        events: ms[0]!.events,
        bytes: mid(ms.map((m) => m.bytes)),
        frames: mid(ms.map((m) => m.frames)),
      };
    };
    return [med(a), med(b)];
  };
  console.log(
    `dashboard CPU at ${hosts} hosts, median of ${rounds} (a 160x50 terminal); machine load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (!fleetOnly) {
    console.log(`replay: recorded stream over ${seconds} s`);
    const [r0, r1] = await pair('replay-reducer', 'replay-dashboard');
    const framesPerSec = (r1.cpuMs - r1.loadMs - r0.cpuMs) / (r1.wallMs / 1000);
    console.log(
      `replay: reducer+dashboard / reducer-only CPU = ${(r1.cpuMs / r0.cpuMs).toFixed(2)}x; frames cost ${framesPerSec.toFixed(1)} ms CPU per wall second, plus ${r1.loadMs.toFixed(0)} ms to load the UI once`,
    );
    console.log(
      `replay: ${r1.frames} frames, ${((r1.cpuMs - r1.loadMs - r0.cpuMs) / Math.max(1, r1.frames)).toFixed(2)} ms CPU per frame (dashboard minus reducer-only, over terminal writes)`,
    );
  }
  console.log(`fleet: bench/fleet's run (concurrency ${concurrency}; connect 50 + plan 250 + apply ${applyMs} ms per host; journal on)`);
  const [f0, f1] = await pair('fleet-headless', 'fleet-dashboard');
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const all = (f1.cpuMs - f0.cpuMs) / f0.cpuMs;
  const steady = (f1.cpuMs - f1.loadMs - f0.cpuMs) / f0.cpuMs;
  console.log(
    `fleet: with-dashboard / headless controller CPU = ${(f1.cpuMs / f0.cpuMs).toFixed(3)}x: ${pct(all)} in all, ` +
      `${pct(steady)} without the one-time UI load (${f1.loadMs.toFixed(0)} ms); wall ${(f0.wallMs / 1000).toFixed(1)} s vs ${(f1.wallMs / 1000).toFixed(1)} s; budget 10%`,
  );
  console.log(
    `fleet: ${f1.frames} frames, ${((f1.cpuMs - f1.loadMs - f0.cpuMs) / Math.max(1, f1.frames)).toFixed(2)} ms CPU per frame; machine load after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
