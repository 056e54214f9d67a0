/**
 * Vitest global setup/teardown: every suite run gets its own temp dir, and the run fails if it leaves a temp
 * entry or a lab process behind.
 *
 * Setup points TMPDIR (read by os.tmpdir() in node and [IO.Path]::GetTempPath() in pwsh) at a fresh
 * `<tmp>/svcfleet-run-*` dir, inherited by every worker and every process they start, and marks them all with
 * SVCFLEET_TEST_RUN. So two runs on one machine share no temp path (the lab's compiled-DLL cache included), and
 * whatever is left in that dir at the end was left by this run. Ports are shared machine-wide on purpose and
 * claimed under a lock (src/lab/fleet/ports.ts).
 *
 * Teardown fails the run (exit code 1, a list of the leftovers) if the run dir still holds `svcfleet-*` entries,
 * or if a process of this run (pwsh, sshd, a lab service, ...) outlives it: a process counts as this run's when
 * its environment carries this run's marker or its command line names the run dir. Leftovers are then removed,
 * so one leaky run does not leak into the next.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Caches kept on purpose inside the run dir and removed with it: the lab's compiled helpers (src/lab/runner/pool.ts)
 * and the assembled engine file (test/ps-scripts/pwsh.ts).
 */
const EXPECTED = /^svcfleet-(lab-cache-\d+|engine-[0-9a-f]{16})$/;
/** How long processes told to stop at the end of a test file may take to go. */
const GRACE_MS = 10_000;

interface LabProcess {
  pid: number;
  cmd: string;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Processes of this run still alive, except this process and its live descendants (vitest's own workers). */
function runProcesses(marker: string, runDir: string): LabProcess[] {
  const out: LabProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmd: string;
    let env: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      env = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    if (cmd === '') continue; // zombie or kernel thread
    if (!env.split('\0').includes(marker) && !cmd.includes(runDir)) continue;
    let ancestor = parentOf(pid);
    for (let hops = 0; ancestor !== undefined && ancestor > 1 && ancestor !== process.pid && hops < 64; hops++) ancestor = parentOf(ancestor);
    if (ancestor === process.pid) continue;
    out.push({ pid, cmd });
  }
  return out;
}

function leftoverEntries(runDir: string): string[] {
  try {
    return readdirSync(runDir).filter((e) => e.startsWith('svcfleet-') && !EXPECTED.test(e));
  } catch {
    return [];
  }
}

export default function setup(): () => Promise<void> {
  const outerTmp = tmpdir();
  const runDir = mkdtempSync(join(outerTmp, 'svcfleet-run-'));
  const runId = runDir.slice(runDir.lastIndexOf('-') + 1);
  const marker = `SVCFLEET_TEST_RUN=${runId}`;
  process.env['TMPDIR'] = runDir;
  process.env['SVCFLEET_TEST_RUN'] = runId;
  const outerBefore = new Set(readdirSync(outerTmp).filter((e) => e.startsWith('svcfleet-')));

  return async function teardown(): Promise<void> {
    let procs = runProcesses(marker, runDir);
    for (const until = Date.now() + GRACE_MS; procs.length > 0 && Date.now() < until; procs = runProcesses(marker, runDir)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const entries = leftoverEntries(runDir);
    // Entries outside the run dir cannot be told apart from another run's, so they are reported, not failed on.
    const outside = readdirSync(outerTmp).filter((e) => e.startsWith('svcfleet-') && !outerBefore.has(e) && join(outerTmp, e) !== runDir);

    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    rmSync(runDir, { recursive: true, force: true });
    process.env['TMPDIR'] = outerTmp;

    if (outside.length > 0) {
      console.warn(`note: ${outside.length} new svcfleet-* entries in ${outerTmp} (this run's or another's): ${outside.slice(0, 20).join(', ')}`);
    }
    if (procs.length === 0 && entries.length === 0) return;
    const lines = [
      'the test run left things behind (now removed); the test files that create them must clean up:',
      ...entries.map((e) => `  temp entry  ${join(runDir, e)}`),
      ...procs.map((p) => `  process     ${p.pid}  ${p.cmd.slice(0, 300)}`),
    ];
    process.exitCode = 1;
    throw new Error(lines.join('\n'));
  };
}
