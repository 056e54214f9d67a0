/**
 * Lab ports (src/lab/fleet/ports.ts): outside the kernel's ephemeral range, so no outgoing connection can take one
 * between allocation and bind, and claimed under a lock dir so two runs on one machine never hand out the same.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claim, ephemeralRange, releasePorts, reservePorts } from '../../../src/lab/fleet/ports.js';

let dir: string;
const saved = process.env['SVCFLEET_PORT_LOCK_DIR'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-portlocks-'));
  process.env['SVCFLEET_PORT_LOCK_DIR'] = dir;
});
afterAll(() => {
  if (saved === undefined) delete process.env['SVCFLEET_PORT_LOCK_DIR'];
  else process.env['SVCFLEET_PORT_LOCK_DIR'] = saved;
  rmSync(dir, { recursive: true, force: true });
});

const token = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return `${pid}.${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
};
const claimsOf = (port: number): string[] => readdirSync(dir).filter((e) => e.startsWith(`${port}@`));

describe('reservePorts', () => {
  it('hands out distinct ports outside the ephemeral range, claimed until released, that can be bound', async () => {
    const [lo, hi] = ephemeralRange();
    const ports = await reservePorts(30);
    expect(new Set(ports).size).toBe(30);
    for (const p of ports) {
      expect(p < lo || p > hi, `${p} in ${lo}-${hi}`).toBe(true);
      expect(p).toBeGreaterThanOrEqual(20_000);
      expect(claimsOf(p)).toEqual([`${p}@${token(process.pid)}`]);
    }
    const s = createServer();
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(ports[0], '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => s.close(() => resolve()));
    releasePorts(ports);
    for (const p of ports) expect(claimsOf(p)).toEqual([]);
  });

  it('concurrent callers in one process never get the same port', async () => {
    const batches = await Promise.all([reservePorts(40), reservePorts(40), reservePorts(40)]);
    const all = batches.flat();
    expect(new Set(all).size).toBe(120);
    releasePorts(all);
  });

  it("skips a port another live process claimed, and takes over a dead process's claim", async () => {
    const live = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, `21000@${token(live.pid!)}`), '');
      expect(claim(dir, 21000)).toBe(false);
      expect(claimsOf(21000)).toEqual([`21000@${token(live.pid!)}`]); // ours withdrawn, theirs kept
    } finally {
      live.kill('SIGKILL');
    }
    const dead = spawnSync('true');
    writeFileSync(join(dir, `21001@${dead.pid}.1`), '');
    expect(claim(dir, 21001)).toBe(true);
    expect(claimsOf(21001)).toEqual([`21001@${token(process.pid)}`]);
    rmSync(join(dir, `21001@${token(process.pid)}`));
    expect(existsSync(join(dir, `21001@${dead.pid}.1`))).toBe(false);

    // Any allocation sweeps away the claims of dead processes (a worker killed by a signal leaves its own).
    writeFileSync(join(dir, `21002@${dead.pid}.1`), '');
    releasePorts(await reservePorts(1));
    expect(claimsOf(21002)).toEqual([]);
  });
});
