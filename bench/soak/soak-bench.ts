/**
 * bench/soak: a long run through the REAL ssh transport (src/transport/ssh: ssh2 client, known_hosts verified,
 * key auth) against lightweight in-process SSH responders in a separate process (soak-server.ts), with a seeded
 * 1% of connection faults (refusals, drops after the request was sent). Not a test.
 *
 * Checks: every host reaches a terminal state (terminal count = N), the hosts that did not end `changed` are
 * exactly the seeded faulty ones, and the controller's RSS, sampled once a second, stays flat: it prints the
 * series and the least-squares slope over the second half of the run (after warm-up), in MB per minute.
 *
 *   bash bench/soak/run.sh [--hosts 2000] [--concurrency 200] [--seed 13] [--plan-ms 50] [--apply-ms 200]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { HostDoneEvent } from '../../src/engine/events.js';
import { createEngineIO } from '../../src/engine/io.js';
import { startRun } from '../../src/engine/run.js';
import { newRunId } from '../../src/engine/run-id.js';
import type { HostTask } from '../../src/engine/types.js';
import { Journal } from '../../src/journal/store.js';
import { attachNdjson } from '../../src/report/ndjson.js';
import { attachPlain } from '../../src/report/plain.js';
import { SshTransport } from '../../src/transport/ssh/transport.js';
import type { SoakFleet } from './soak-server.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '200' },
    seed: { type: 'string', default: '13' },
    'plan-ms': { type: 'string', default: '50' },
    'apply-ms': { type: 'string', default: '200' },
  },
});
const N = Number(values.hosts);
const C = Number(values.concurrency);
const here = dirname(fileURLToPath(import.meta.url));

async function startServer(dir: string): Promise<{ fleet: SoakFleet; stop: () => Promise<void> }> {
  const args = [
    '--hosts',
    String(N),
    '--seed',
    String(values.seed),
    '--dir',
    dir,
    '--plan-ms',
    String(values['plan-ms']),
    '--apply-ms',
    String(values['apply-ms']),
  ];
  const child = spawn(process.execPath, [join(here, 'soak-server.js'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`soak server exited ${code}`)));
  });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    });
  return { fleet: JSON.parse(line) as SoakFleet, stop };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-bench-soak-'));
  process.stdout.write(`starting ${N} in-process ssh responders (separate process)...\n`);
  const server = await startServer(dir);
  try {
    const { fleet } = server;
    const change = {
      service: 'MyGoService',
      desired: { binaryPath: '"C:\\Program Files\\MyGo\\myapp.exe" --port 8082' },
      restart: 'if-needed' as const,
      verify: { running: true, port: 8082 },
      rollback: 'auto' as const,
    };
    const tasks: HostTask[] = fleet.hosts.map((h) => ({
      host: {
        name: h.name,
        groups: ['soak'],
        vars: {},
        connection: {
          transport: 'ssh',
          address: h.address,
          port: h.port,
          user: fleet.user,
          ssh: { knownHostsFile: fleet.knownHostsFile, identityFile: fleet.identityFile, agent: '' },
        },
      },
      changes: [change],
    }));
    const journal = new Journal(join(dir, 'journal'));
    const runId = newRunId();
    const load0 = loadavg();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const series: Array<{ s: number; mb: number }> = [];
    const sample = (): void => {
      series.push({ s: (performance.now() - t0) / 1000, mb: process.memoryUsage().rss / 1024 / 1024 });
    };
    sample();
    const sampler = setInterval(sample, 1000);
    const writer = await journal.createRun({
      runId,
      mode: 'apply',
      hosts: tasks.map((t) => ({ name: t.host.name, groups: t.host.groups, vars: t.host.vars, connection: { ...t.host.connection }, changes: [change] })),
    });
    const transport = new SshTransport();
    const handle = startRun({
      runId,
      mode: 'apply',
      tasks,
      io: createEngineIO(() => transport),
      snapshots: writer,
      // Every host runs: the faults must not stop the rollout.
      strategy: { concurrency: C, maxFailures: { kind: 'count', n: N } },
    });
    writer.attach(handle);
    const outcomes = new Map<string, HostDoneEvent>();
    handle.subscribe((e) => {
      if (e.type === 'host-done') outcomes.set(e.host, e);
    });
    attachNdjson(handle, { write: () => true });
    attachPlain(handle, { out: { write: () => true }, progressEveryMs: 0 });
    const done = await handle.done;
    await writer.finish(done);
    clearInterval(sampler);
    sample();
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);

    const seeded = new Map(fleet.hosts.filter((h) => h.fault).map((h) => [h.name, h.fault!]));
    const notChanged = [...outcomes.values()].filter((o) => o.outcome !== 'changed');
    const unexpected = notChanged.filter((o) => !seeded.has(o.host)).map((o) => `${o.host}: ${o.outcome} ${o.reason.code} ${o.message}`);
    const missed = [...seeded.keys()].filter((name) => outcomes.get(name)?.outcome === 'changed');
    const byFault = new Map<string, Map<string, number>>();
    for (const o of notChanged) {
      const f = seeded.get(o.host) ?? 'none';
      const m = byFault.get(f) ?? new Map<string, number>();
      const k = `${o.outcome}/${o.reason.errorClass ?? o.reason.code}`;
      m.set(k, (m.get(k) ?? 0) + 1);
      byFault.set(f, m);
    }
    const half = series.filter((p) => p.s >= wallS / 2);
    const slopeMbPerMin =
      slope(
        half.map((p) => p.s),
        half.map((p) => p.mb),
      ) * 60;
    const every = Math.max(1, Math.ceil(series.length / 40));
    const f = (n: number, d = 1): string => n.toFixed(d);
    const accounted = outcomes.size === N && Object.values(done.counts).reduce((a, b) => a + (b ?? 0), 0) === N;
    process.stdout.write(
      [
        `bench/soak — ${N} hosts through the REAL ssh transport against IN-PROCESS SSH RESPONDERS (canned results), concurrency ${C}`,
        `outcome: ${JSON.stringify(done.counts)} exit ${done.exitCode}; wall ${f(wallS)} s; controller CPU ${f((cpu.user + cpu.system) / 1000 / N, 2)} ms/host`,
        `accounted: ${outcomes.size} hosts in a terminal state of ${N} (${accounted ? 'OK' : 'MISSING HOSTS'})`,
        `faults: ${seeded.size} seeded (${[...seeded.values()].filter((v) => v === 'refuse').length} refuse, ${[...seeded.values()].filter((v) => v === 'drop').length} drop); not changed: ${notChanged.length}; ` +
          `faulty but changed: ${missed.length}; not changed without a fault: ${unexpected.length} (${missed.length === 0 && unexpected.length === 0 ? 'OK: exactly the seeded set' : 'MISMATCH'})`,
        ...[...byFault].map(([fault, m]) => `  ${fault}: ${[...m].map(([k, n]) => `${k} ×${n}`).join(', ')}`),
        ...unexpected.slice(0, 10).map((u) => `  unexpected: ${u}`),
        `RSS series (MB, every ${every} s): ${series
          .filter((_, i) => i % every === 0)
          .map((p) => f(p.mb, 0))
          .join(' ')}`,
        `RSS peak ${f(Math.max(...series.map((p) => p.mb)))} MB; slope over the second half ${f(slopeMbPerMin, 2)} MB/min (flat: |slope| small next to the peak)`,
        `machine: ${cpus().length} cores; load average before ${load0.map((l) => f(l, 2)).join(' ')}, after ${loadavg()
          .map((l) => f(l, 2))
          .join(' ')}`,
        '',
      ].join('\n'),
    );
    if (!accounted || missed.length || unexpected.length) process.exitCode = 1;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
