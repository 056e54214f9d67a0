/**
 * How much controller CPU the live dashboard costs, at 1,000 hosts. Run: `bash bench/ui/run.sh` (compiles to
 * node_modules/.cache and runs; `--quick` for a short run). Every variant runs in its own child process, so the
 * measurements do not share a warmed-up JIT or a garbage-collected heap.
 *
 *   replay   A recorded 1,000-host stream (phases, diffs, logs, faults) replayed in real time over --seconds,
 *            folded by the reducer alone vs. reducer + dashboard (Ink rendering to a fake 160x50 TTY).
 *   engine   The real engine (startRun) over the in-memory fake fleet (1,000 hosts, per-op latency) headless
 *            (NDJSON to a null sink) vs. with the dashboard. The fake fleet costs far less CPU per host than a real
 *            transport (pwsh, SSH crypto, WinRM XML), so the overhead figure here is an upper bound.
 */
import { fork } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FleetEvent, RunHandle } from '../../src/engine/events.js';
import { startRun } from '../../src/engine/run.js';
import { attachNdjson } from '../../src/report/ndjson.js';
import { applyEvent, createRunState } from '../../src/report/run-state.js';
import { runDashboard } from '../../src/ui/index.js';
import { CHANGE, FakeFleet, type Faults } from '../../test/engine/fake-fleet.js';
import { FakeRun, fleetScript } from '../../test/ui/fake-run.js';

const HOSTS = 1000;
const LATENCY = Number(process.env['BENCH_LATENCY_MS'] ?? 250);

type Variant = 'replay-reducer' | 'replay-dashboard' | 'engine-headless' | 'engine-dashboard';

interface Measure {
  variant: Variant;
  cpuMs: number;
  wallMs: number;
  events: number;
  bytes: number;
  frames: number;
}

function fakeTty(): { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream; stats: { bytes: number; frames: number } } {
  const stats = { bytes: 0, frames: 0 };
  const out = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      stats.bytes += chunk.length;
      stats.frames++;
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(out, { isTTY: true, columns: 160, rows: 50 });
  const stdin = new Readable({ read() {} }) as unknown as NodeJS.ReadStream;
  Object.assign(stdin, { isTTY: false });
  return { stdout: out, stdin, stats };
}

/** Replays `events` with their recorded spacing compressed into `seconds` of wall time. */
async function replay(run: FakeRun, events: FleetEvent[], seconds: number): Promise<void> {
  const t0 = Date.parse(events[0]!.at);
  const span = Date.parse(events[events.length - 1]!.at) - t0;
  const scale = (seconds * 1000) / span;
  const start = Date.now();
  let i = 0;
  while (i < events.length) {
    const due = start + (Date.parse(events[i]!.at) - t0) * scale;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 10)));
    const now = Date.now();
    while (i < events.length && start + (Date.parse(events[i]!.at) - t0) * scale <= now) run.emit(events[i++]!);
  }
}

function engineRun(): RunHandle {
  const names = Array.from({ length: HOSTS }, (_, i) => `web${String(i + 1).padStart(4, '0')}`);
  const faults: Record<string, Faults> = {};
  for (let i = 0; i < names.length; i++) {
    faults[names[i]!] = { latencyMs: LATENCY };
    if (i % 97 === 5) faults[names[i]!] = { latencyMs: LATENCY, verifyFails: true };
    if (i % 131 === 7) faults[names[i]!] = { latencyMs: LATENCY, authFailed: true };
  }
  const fleet = new FakeFleet(names, ['Svc'], faults);
  return startRun({
    mode: 'apply',
    tasks: names.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })),
    io: fleet.io,
    snapshots: { saveSnapshots: async () => undefined },
    strategy: { concurrency: 50, maxFailures: { kind: 'percent', pct: 100 }, retries: 0 },
    sleep: async () => undefined,
  });
}

async function measure(variant: Variant, seconds: number): Promise<Measure> {
  const tty = fakeTty();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let events = 0;
  if (variant.startsWith('replay')) {
    const script = fleetScript({ hosts: HOSTS, batchSize: 50, logLines: 3, hostMs: 8000, faults: { 5: 'access-denied', 77: 'crash', 300: 'unreachable', 301: 'access-denied' } });
    const run = new FakeRun(script[0]!.runId);
    events = script.length;
    if (variant === 'replay-reducer') {
      const state = createRunState();
      run.subscribe((e) => applyEvent(state, e));
      await replay(run, script, seconds);
    } else {
      const ui = runDashboard(run, { stdout: tty.stdout, stdin: tty.stdin, exitOnDone: true, color: true });
      await replay(run, script, seconds);
      await ui;
    }
  } else {
    const handle = engineRun();
    handle.subscribe(() => events++);
    const off = attachNdjson(handle, { write: () => true });
    if (variant === 'engine-dashboard') await runDashboard(handle, { stdout: tty.stdout, stdin: tty.stdin, exitOnDone: true, color: true });
    await handle.done;
    off();
  }
  const cpu = process.cpuUsage(cpu0);
  return { variant, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wall0, events, bytes: tty.stats.bytes, frames: tty.stats.frames };
}

function child(variant: Variant, seconds: number): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const p = fork(fileURLToPath(import.meta.url), ['--child', variant, String(seconds)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    p.once('message', (m) => resolve(m as Measure));
    p.once('error', reject);
    p.once('exit', (code) => code && reject(new Error(`${variant} exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const m = await measure(argv[1] as Variant, Number(argv[2]));
    process.send!(m);
    return;
  }
  const quick = argv.includes('--quick');
  const seconds = Number(argv[argv.indexOf('--seconds') + 1]) || (quick ? 5 : 20);
  const rounds = quick ? 1 : 3;
  const fmt = (m: Measure) =>
    `${m.variant.padEnd(17)} cpu ${m.cpuMs.toFixed(0).padStart(6)} ms  wall ${(m.wallMs / 1000).toFixed(1).padStart(5)} s  events ${m.events}  ` +
    (m.frames ? `writes ${m.frames} (${(m.frames / (m.wallMs / 1000)).toFixed(1)}/s), ${(m.bytes / 1024).toFixed(0)} KiB` : '');
  const best = async (v: Variant): Promise<Measure> => {
    let b: Measure | undefined;
    for (let i = 0; i < rounds; i++) {
      const m = await child(v, seconds);
      console.log(`  ${fmt(m)}`);
      if (!b || m.cpuMs < b.cpuMs) b = m;
    }
    return b!;
  };
  console.log(`dashboard CPU at ${HOSTS} hosts (best of ${rounds}; 2-core CI box figures in docs/dashboard.md)`);
  console.log(`replay: recorded stream over ${seconds} s`);
  const r0 = await best('replay-reducer');
  const r1 = await best('replay-dashboard');
  console.log(`engine: startRun over the in-memory fake fleet (${LATENCY} ms per op, concurrency 50)`);
  const e0 = await best('engine-headless');
  const e1 = await best('engine-dashboard');
  const perSec = ((r1.cpuMs - r0.cpuMs) / (r1.wallMs / 1000)).toFixed(1);
  console.log('');
  console.log(`replay: reducer+dashboard / reducer-only CPU = ${(r1.cpuMs / r0.cpuMs).toFixed(2)}x; the dashboard adds ${(r1.cpuMs - r0.cpuMs).toFixed(0)} ms CPU over ${(r1.wallMs / 1000).toFixed(1)} s (${perSec} ms CPU per wall second)`);
  const overhead = ((e1.cpuMs - e0.cpuMs) / e0.cpuMs) * 100;
  console.log(`engine: with-dashboard / headless controller CPU = ${(e1.cpuMs / e0.cpuMs).toFixed(3)}x (dashboard overhead ${overhead.toFixed(1)}% of controller CPU; budget 10%)`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
