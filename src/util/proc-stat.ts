/** Reading a process's /proc/<pid>/stat (Linux); elsewhere, and once the process is gone, there is nothing to read. */
import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat from field 3 (state) on, so field N (numbered as in proc(5)) is at index N - 3.
 * They follow the parenthesised command name, which may itself contain spaces or ')'.
 */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
