/**
 * `svcfleet lab up` → inventory → `svcfleet lab down`, through the built CLI (bin/svcfleet.js, as a user runs
 * it): --detach, the inventory read back by the inventory loader and used by the real transports, Ctrl-C in the
 * foreground, and a bad --faults SPEC refused before anything starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { readLabHost } from '../../../src/lab/host.js';
import type { LabState } from '../../../src/lab/fleet/supervisor.js';
import { SshTransport } from '../../../src/transport/ssh/transport.js';
import { DEFAULT_DEADLINES } from '../../../src/transport/types.js';
import { createWinrmTransport } from '../../../src/transport/winrm/index.js';
import { pidAlive, requireOpenSsh } from '../../transport/ssh/helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(root, 'bin', 'svcfleet.js');
let dir: string;

function svcfleet(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  requireOpenSsh();
  if (!existsSync(join(root, 'dist', 'lab', 'fleet', 'supervisor.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (scripts/test.sh does it)');
  }
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-labcli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function waitDead(pids: number[]): Promise<number[]> {
  const end = Date.now() + 10_000;
  while (pids.some(pidAlive) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(pidAlive);
}

describe('svcfleet lab up / lab down', () => {
  test('a bad --faults SPEC exits 1 naming the token, and creates nothing', async () => {
    const r = svcfleet(['lab', 'up', '--hosts', '3', '--faults', 'lab003=refuse;lab009=drop', '--inventory', 'bad.yml']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad fault spec token "lab009": no lab host named lab009/);
    expect(await readdir(dir)).toEqual([]);
  });

  test('--detach, then the inventory drives both transports, then lab down stops everything', async () => {
    const up = svcfleet(['lab', 'up', '--hosts', '2', '--transport', 'both', '--inventory', 'lab.yml', '--detach']);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    const inventoryFile = join(dir, 'lab.yml');
    const labDir = join(dir, '.lab', 'lab');
    const state = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8')) as LabState;
    expect(state.ready).toBe(true);

    const inv = loadInventory({ sources: inventoryFile, cwd: dir });
    expect(inv.hosts.map((h) => [h.name, h.connection.transport])).toEqual([
      ['lab001', 'ssh'],
      ['lab002', 'winrm'],
    ]);
    const [h1, h2] = inv.hosts;
    expect(h1!.connection.password).toBeUndefined();
    const ssh = new SshTransport();
    const s = await ssh.open(h1!.name, h1!.connection, { deadlines: DEFAULT_DEADLINES });
    expect((await s.execRaw('echo up', Buffer.alloc(0), { commandMs: 10_000 })).stdout).toBe('up\r\n');
    await s.close();
    const w = await createWinrmTransport().open(h2!.name, h2!.connection, { deadlines: DEFAULT_DEADLINES });
    await w.close();

    const services = state.hosts.map((h) => readLabHost(h.stateDir).services['MyGoService']!.status.pid);
    const sshd = state.hosts.flatMap((h) => (h.sshdPid ? [h.sshdPid] : []));
    expect(services.every((p) => p > 0 && pidAlive(p))).toBe(true);
    expect(sshd).toHaveLength(2);

    const down = svcfleet(['lab', 'down', '--inventory', 'lab.yml']);
    expect(down.status).toBe(0);
    expect(down.stdout).toMatch(/stopped/);
    expect(await waitDead([state.pid, ...services, ...sshd])).toEqual([]);
    expect(existsSync(inventoryFile)).toBe(false);
    expect(existsSync(labDir)).toBe(false);
  });

  test('in the foreground, Ctrl-C (SIGINT) stops and cleans up', async () => {
    const child = spawn(process.execPath, [cli, 'lab', 'up', '--hosts', '1', '--inventory', 'fg.yml'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const end = Date.now() + 60_000;
    while (!/hosts up/.test(out) && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/1 hosts up/);
    const state = JSON.parse(readFileSync(join(dir, '.lab', 'fg', 'lab.json'), 'utf8')) as LabState;
    const pids = [state.hosts[0]!.sshdPid!, readLabHost(state.hosts[0]!.stateDir).services['MyGoService']!.status.pid];
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(out).toMatch(/lab: stopped/);
    expect(await waitDead(pids)).toEqual([]);
    expect(existsSync(join(dir, 'fg.yml'))).toBe(false);
  });
});

describe('lab down without a supervisor', () => {
  test('a killed supervisor: lab down stops the recorded sshd and service processes itself', async () => {
    const up = svcfleet(['lab', 'up', '--hosts', '1', '--inventory', 'orphan.yml', '--detach']);
    expect(up.status).toBe(0);
    const state = JSON.parse(readFileSync(join(dir, '.lab', 'orphan', 'lab.json'), 'utf8')) as LabState;
    const pids = [state.hosts[0]!.sshdPid!, readLabHost(state.hosts[0]!.stateDir).services['MyGoService']!.status.pid];
    process.kill(state.pid, 'SIGKILL');
    expect(await waitDead([state.pid])).toEqual([]);
    const down = svcfleet(['lab', 'down', '--inventory', 'orphan.yml']);
    expect(down.status).toBe(0);
    expect(down.stdout).toMatch(/cleaned up \(its supervisor \d+ was gone\)/);
    expect(await waitDead(pids)).toEqual([]);
    expect(existsSync(join(dir, 'orphan.yml'))).toBe(false);
  });
});
