/** Process trees from /proc (Linux). Elsewhere the lists are empty and callers fall back to the one process. */
import { readdirSync, readFileSync } from 'node:fs';

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
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may itself contain spaces or ')'.
      map.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // ended meanwhile
    }
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
