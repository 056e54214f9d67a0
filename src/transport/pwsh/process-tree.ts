/** Process trees from /proc (Linux). Elsewhere the lists are empty and callers fall back to the one process. */
import { readdirSync } from 'node:fs';
import { statFields } from '../../util/proc-stat.js';

/** pid → ppid for every process, read once. */
function parentMap(): Map<number, number> {
  const map = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return map;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const fields = statFields(Number(e));
    if (fields) map.set(Number(e), Number(fields[4 - 3])); // ppid
  }
  return map;
}

export function childPids(pid: number): number[] {
  return [...parentMap()].filter(([, ppid]) => ppid === pid).map(([p]) => p);
}

/**
 * Every descendant of a process, collected BEFORE anything is killed (a killed parent's children are re-parented
 * and could no longer be found). Needed because `pwsh` may be a launcher (the dotnet global tool starts
 * `dotnet pwsh.dll` as its child) and remoting's ssh client is then a grandchild.
 */
export function descendantPids(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [p, ppid] of parentMap()) {
    const list = byParent.get(ppid) ?? [];
    list.push(p);
    byParent.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of byParent.get(queue.shift() as number) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
