/**
 * The files a .NET process keeps in its temp dir while it runs, and removes only when it exits normally: the
 * debugger's transport pipes `clr-debug-pipe-<pid>-<start>-in|out` and the diagnostics socket
 * `dotnet-diagnostic-<pid>-<start>-socket`, where <start> is the process's start time in clock ticks since boot
 * (field 22 of /proc/<pid>/stat). A pwsh that svcfleet kills (a deadline, an abort) would leave them behind, several
 * per host and run. docs/reference/powershell.md#what-a-killed-pwsh-leaves-behind
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statFields } from '../../util/proc-stat.js';

/** A process as its runtime files name it; read while it is alive (a pid alone could be reused later). */
export interface RuntimeProcess {
  pid: number;
  startTicks: string;
}

/** The process's identity from /proc, or undefined when it is gone or this is not Linux. */
export function runtimeProcess(pid: number): RuntimeProcess | undefined {
  const startTicks = statFields(pid)?.[22 - 3];
  return startTicks && /^\d+$/.test(startTicks) ? { pid, startTicks } : undefined;
}

/** The runtime files of `processes` in `dir`: exact names, so another process's files are never matched. */
export function runtimeFileNames(processes: readonly RuntimeProcess[], names: readonly string[]): string[] {
  const ours = new Set<string>();
  for (const { pid, startTicks } of processes) {
    const key = `${pid}-${startTicks}`;
    ours.add(`clr-debug-pipe-${key}-in`).add(`clr-debug-pipe-${key}-out`).add(`dotnet-diagnostic-${key}-socket`);
  }
  return names.filter((n) => ours.has(n));
}

/** Removes what the given (already ended) processes left in `dir`; a file that cannot be removed is left alone. */
export function removeRuntimeFiles(processes: readonly RuntimeProcess[], dir: string = tmpdir()): void {
  if (processes.length === 0) return;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of runtimeFileNames(processes, names)) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already, or not ours to remove
    }
  }
}
