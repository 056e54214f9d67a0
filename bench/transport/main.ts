/**
 * Transport benchmark (not a test): controller CPU per host, peak RSS and wall time for the ssh and winrm
 * transports against N lab hosts at a given concurrency, next to a raw ssh2 `echo` fan-out to the same hosts as
 * the floor. The lab runs in a separate process in RESPONDER mode (canned result frames; see lab-server.ts);
 * each phase runs in a fresh process (phase.ts), so its CPU and memory are its own.
 *
 *   bash bench/transport/run.sh [--hosts 200] [--concurrency 50] [--phases floor,ssh,winrm,ssh-hold,winrm-hold]
 *
 * Targets (the transport benchmark's acceptance targets): controller CPU at most 2x the raw floor per host; RSS under 200 MB at 200 open sessions.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PhaseResult } from './phase.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function runNode(script: string, args: string[], onLine?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (onLine && out.includes('\n')) onLine(out.split('\n', 1)[0] as string);
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const hosts = Number(arg('--hosts', '200'));
  const concurrency = Number(arg('--concurrency', '50'));
  const phases = arg('--phases', 'floor,ssh,winrm,ssh-hold,winrm-hold').split(',');
  const work = mkdtempSync(join(tmpdir(), 'svcfleet-bench-transport-'));
  const labFile = join(work, 'lab.json');

  process.stdout.write(`starting ${hosts} lab hosts (separate process, responder mode)...\n`);
  const lab = spawn(process.execPath, [join(here, 'lab-server.js'), '--hosts', String(hosts)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const description = await new Promise<string>((resolve, reject) => {
    let buf = '';
    lab.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    lab.on('exit', (code) => reject(new Error(`lab server exited ${code}`)));
  });
  writeFileSync(labFile, description);

  const results: PhaseResult[] = [];
  try {
    for (const phase of phases) {
      const out = await runNode('phase.js', [phase, String(concurrency), labFile]);
      const r = JSON.parse(out.trim().split('\n').pop() as string) as PhaseResult;
      results.push(r);
      process.stdout.write(
        `${phase.padEnd(11)} ok ${r.ok}/${r.hosts}  cpu ${r.cpuMs.toFixed(0)} ms (${(r.cpuMs / r.hosts).toFixed(2)} ms/host)  ` +
          `wall ${(r.wallMs / 1000).toFixed(1)} s  rss ${r.baselineRssMb.toFixed(0)} -> ${r.peakRssMb.toFixed(0)} MB\n`,
      );
      for (const f of r.failures) process.stdout.write(`            failure: ${f}\n`);
    }
  } finally {
    lab.kill('SIGTERM');
    await new Promise((r) => lab.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }

  const floor = results.find((r) => r.phase === 'floor');
  process.stdout.write(`\n${hosts} hosts, concurrency ${concurrency}; controller CPU per host vs the raw ssh2 echo floor:\n`);
  for (const r of results) {
    const perHost = r.cpuMs / r.hosts;
    const ratio =
      floor && r.phase !== 'floor' && !r.phase.endsWith('-hold') ? ` = ${(perHost / (floor.cpuMs / floor.hosts)).toFixed(2)}x floor (target <= 2x)` : '';
    const rss = r.phase.endsWith('-hold') ? ` (target < 200 MB at ${r.ok} open sessions)` : '';
    process.stdout.write(
      `  ${r.phase.padEnd(11)} ${perHost.toFixed(2)} ms/host${ratio}; peak RSS ${r.peakRssMb.toFixed(0)} MB${rss}; wall ${(r.wallMs / 1000).toFixed(1)} s\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
