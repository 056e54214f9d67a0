/**
 * Loopback ports for lab listeners (service processes, sshd, the WinRM server, delay proxies, test servers)
 * that nothing else on the machine hands out.
 *
 * Why not "listen on 0, close, hand the number out": port 0 draws from the kernel's ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`), the same range every outgoing connection on the machine takes its
 * source port from. Between the close and the lab server's bind, any connect() may take the number, and the
 * server fails with "bind: address already in use" — which is what a second test run on a busy machine did.
 *
 * So ports here come from outside the ephemeral range (the kernel never picks them implicitly), and each is
 * claimed with a lock file in one machine-wide directory so two concurrent suites (or a suite and a demo) never
 * pick the same one. A claim is held until `releasePorts` or the claiming process exits; a dead owner's claim is
 * reclaimed by the next allocator. Claiming is race-free without a global mutex: a claimant first creates its own
 * uniquely named file for the port, then lists the port's claims; if it sees any other live claim it withdraws
 * and tries another port. Of two racing claimants at least one sees the other, so at most one keeps the port.
 * See docs/reference for the lab's layout; the ranges are Linux's `ip_local_port_range` semantics
 * (https://www.kernel.org/doc/Documentation/networking/ip-sysctl.txt).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Lowest port handed out: keeps clear of the well-known ports and the usual developer-service ports. */
const POOL_FLOOR = 20_000;
const POOL_CEILING = 65_535;

/** Machine-wide on purpose: every run on the machine must see every other run's claims. */
export function portLockDir(): string {
  return process.env.SVCFLEET_PORT_LOCK_DIR ?? '/tmp/.svcfleet-port-locks';
}

/** The kernel's ephemeral range, [low, high]. */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo as number, hi as number];
  } catch {
    /* not Linux: fall through to the IANA dynamic range, which macOS and Windows use */
  }
  return [49_152, 65_535];
}

/** The ports the lab may use: [POOL_FLOOR, 65535] minus the ephemeral range, as inclusive intervals. */
export function portPool(): Array<[number, number]> {
  const [elo, ehi] = ephemeralRange();
  const pool: Array<[number, number]> = [];
  if (elo - 1 >= POOL_FLOOR) pool.push([POOL_FLOOR, elo - 1]);
  if (ehi + 1 <= POOL_CEILING) pool.push([Math.max(ehi + 1, POOL_FLOOR), POOL_CEILING]);
  if (pool.length === 0) throw new Error(`no lab ports: the ephemeral range ${elo}-${ehi} covers ${POOL_FLOOR}-${POOL_CEILING}`);
  return pool;
}

/** "pid.starttime": starttime tells a live owner from a later process that reuses its pid. */
function processToken(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may hold spaces, so count from the closing paren.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return `${pid}.${start}`;
  } catch {
    try {
      process.kill(pid, 0);
      return `${pid}.0`; // no /proc: the pid alone
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? `${pid}.0` : undefined;
    }
  }
}

const ownToken = processToken(process.pid) ?? `${process.pid}.0`;
const held = new Set<number>();

const claimName = (port: number, token: string): string => `${port}@${token}`;

function ownerAlive(token: string): boolean {
  const [pid, start] = token.split('.');
  const now = processToken(Number(pid));
  // "x.0" on either side: no start time known, so the pid alone decides.
  return now !== undefined && (now === token || start === '0' || now.endsWith('.0'));
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/** Claim `port` for this process, or return false if another live process holds it. Exported for tests. */
export function claim(dir: string, port: number): boolean {
  const mine = join(dir, claimName(port, ownToken));
  try {
    closeSync(openSync(mine, 'wx', 0o644));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false; // this process holds it already
    throw err;
  }
  const prefix = `${port}@`;
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith(prefix) || entry === claimName(port, ownToken)) continue;
    if (ownerAlive(entry.slice(prefix.length))) {
      unlinkQuiet(mine);
      return false;
    }
    unlinkQuiet(join(dir, entry)); // a dead owner's claim: its name is unique to it, so removing it is safe
  }
  return true;
}

/** Whether nothing outside the lab listens on the port already (a fixed-port service on this machine). */
async function bindable(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: address, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Claims die with the process anyway (the next allocator reclaims them); removing them keeps the dir small.
  process.once('exit', () => releasePorts(held));
}

/**
 * `count` distinct loopback ports, outside the ephemeral range, claimed for this process until `releasePorts`
 * or exit. Callers bind them themselves (or hand them to sshd / a service process).
 */
export async function reservePorts(count: number, address = '127.0.0.1'): Promise<number[]> {
  const dir = portLockDir();
  mkdirSync(dir, { recursive: true, mode: 0o1777 });
  installExitHook();
  const pool = portPool();
  const size = pool.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
  const nth = (i: number): number => {
    for (const [lo, hi] of pool) {
      if (i <= hi - lo) return lo + i;
      i -= hi - lo + 1;
    }
    throw new Error('unreachable');
  };
  // A random starting point spreads concurrent runs apart, so they rarely even contend for a claim.
  const start = Math.floor(Math.random() * size);
  const taken = new Set<number>();
  const alive = new Map<string, boolean>();
  for (const e of readdirSync(dir)) {
    const owner = e.slice(e.indexOf('@') + 1);
    if (!alive.has(owner)) alive.set(owner, ownerAlive(owner));
    // Claims of processes that died without releasing (a worker killed by a signal runs no exit hook): removing
    // them keeps the dir small; their names are unique to their owner, so this cannot remove a live claim.
    if (alive.get(owner)) taken.add(Number(e.slice(0, e.indexOf('@'))));
    else unlinkQuiet(join(dir, e));
  }
  const out: number[] = [];
  for (let k = 0; k < size && out.length < count; k++) {
    const port = nth((start + k) % size);
    if (held.has(port) || taken.has(port)) continue;
    if (!claim(dir, port)) continue;
    held.add(port); // before the await: a concurrent call in this process must not pick it too
    if (!(await bindable(port, address))) {
      held.delete(port);
      unlinkQuiet(join(dir, claimName(port, ownToken)));
      continue;
    }
    out.push(port);
  }
  if (out.length < count) {
    releasePorts(out);
    throw new Error(`only ${out.length} of ${count} lab ports free in ${pool.map(([a, b]) => `${a}-${b}`).join(', ')}`);
  }
  return out;
}

/** Give claimed ports back (unknown or already released ports are ignored). */
export function releasePorts(ports: Iterable<number>): void {
  const dir = portLockDir();
  for (const port of [...ports]) {
    if (!held.delete(port)) continue;
    unlinkQuiet(join(dir, claimName(port, ownToken)));
  }
}

/** The old name: every lab caller now gets claimed ports outside the ephemeral range. */
export const freePorts = reservePorts;
