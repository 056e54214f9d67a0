/**
 * The run survives its terminal, on emulated hosts with the built CLI as a child process: a closed stdout or
 * stderr (`| head -n 4`, a reader that went away) stops output, never the run; SIGTERM, SIGHUP and SIGINT stop
 * the run as Ctrl-C does (no new host starts, every host recorded, exit 3) in the plain/NDJSON views and in the
 * dashboard (a real terminal: tmux).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE, cli, createLabFleet, requireBuiltCli, spawnCli, writeSpec, type LabFleet } from './lab-fleet.js';

const BIN = join(import.meta.dirname, '../../../bin/svcfleet.js');
const POOL = { SVCFLEET_LAB_RUNNER: 'pool', SVCFLEET_LAB_POOL_SIZE: '2' };
let fleet: LabFleet;
let n = 0;

beforeAll(async () => {
  requireBuiltCli();
  fleet = await createLabFleet({ dir: mkdtempSync(join(tmpdir(), 'svcfleet-term-')), count: 3, prefix: 'term' });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (fleet) rmSync(fleet.dir, { recursive: true, force: true });
});

/** A fresh change (a new --workers value) and journal for each run, so every run changes every host. */
function nextRun(): { spec: string; journal: string; workers: string } {
  n++;
  const workers = String(40 + n);
  const spec = writeSpec(fleet.dir, `term-${n}.yaml`, `service: ${SERVICE}\nset:\n  args: { set: { '--workers': '${workers}' } }\nrestart: never\n`);
  return { spec, journal: join(fleet.dir, `journal-${n}`), workers };
}

interface Shown {
  status: string;
  hosts: { name: string; outcome: string | null; reason?: { code: string } }[];
  manifest: { exitCode?: number };
}

async function onlyRunId(journal: string): Promise<string> {
  const runs = await cli(['runs', '--journal', journal], undefined);
  const ids = [...runs.stdout.matchAll(/^(\d{8}T\d{6}Z-[0-9a-f]{4})\s/gm)].map((m) => m[1]!);
  expect(ids, runs.stdout + runs.stderr).toHaveLength(1);
  return ids[0]!;
}

async function onlyRun(journal: string): Promise<Shown> {
  const r = await cli(['show', await onlyRunId(journal), '--journal', journal, '--output', 'json'], undefined);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Shown;
}

/** `svcfleet ARGS | head -n 4` in bash: the CLI's own exit code (PIPESTATUS) and what head let through. */
function throughHead(args: string[], extra = ''): { code: number; shown: string } {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = execFileSync('bash', ['-c', `node '${BIN}' ${quoted} ${extra} | head -n 4; echo "CLI-EXIT=\${PIPESTATUS[0]}"`], {
    env: { ...process.env, ...POOL },
    encoding: 'utf8',
  });
  const code = Number(/CLI-EXIT=(\d+)/.exec(out)?.[1]);
  return { code, shown: out };
}

describe('a closed output stops output, never the run', () => {
  // Real applies on emulated hosts: slow on a loaded machine.
  it('apply | head -n 4 (plain): every host changes, every outcome is journaled, the run exits 0', { timeout: 300_000 }, async () => {
    const r = nextRun();
    const { code, shown } = throughHead(['apply', r.spec, '-i', fleet.inventory, '--journal', r.journal, '--output', 'plain', '-c', '3']);
    expect(shown.split('\n').filter(Boolean)).toHaveLength(5); // 4 lines + CLI-EXIT
    expect(code, shown).toBe(0);
    const run = await onlyRun(r.journal);
    expect(run.status).toBe('done');
    expect(run.manifest.exitCode).toBe(0);
    expect(run.hosts.map((h) => h.outcome)).toEqual(fleet.names.map(() => 'changed'));
    for (const name of fleet.names) expect(fleet.binaryPath(name)).toContain(`--workers ${r.workers}`);
  });

  it('apply 2>&1 | head -n 4 (NDJSON, stderr closed too): every host changes and is journaled', { timeout: 300_000 }, async () => {
    const r = nextRun();
    const { code, shown } = throughHead(['apply', r.spec, '-i', fleet.inventory, '--journal', r.journal, '--output', 'ndjson', '-c', '3'], '2>&1');
    expect(code, shown).toBe(0);
    const run = await onlyRun(r.journal);
    expect(run.status).toBe('done');
    expect(run.hosts.map((h) => h.outcome)).toEqual(fleet.names.map(() => 'changed'));
  });

  it('runs and show on a closed pipe exit normally', { timeout: 300_000 }, async () => {
    const r = nextRun();
    const applied = await new Promise<number | null>((res) => {
      const c = spawnCli(['apply', r.spec, '-i', fleet.inventory, '--journal', r.journal, '--output', 'plain'], POOL);
      c.stdout!.resume();
      c.stderr!.resume();
      c.on('exit', res);
    });
    expect(applied).toBe(0);
    const runId = await onlyRunId(r.journal);
    for (const args of [
      ['runs', '--journal', r.journal],
      ['show', runId, '--journal', r.journal],
    ]) {
      // The reader is gone before the first byte: every write of the child fails with EPIPE.
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((res) => child.on('exit', res));
      expect(err).not.toMatch(/EPIPE|internal error/);
      expect([0, 1], `${args.join(' ')}: ${err}`).toContain(code);
    }
  });
});

/** Start an NDJSON apply at concurrency 1, send `signal` once the first host starts, and wait for the exit. */
async function interrupted(signal: NodeJS.Signals): Promise<{ code: number | null; events: { type: string; host?: string; outcome?: string }[] }> {
  const r = nextRun();
  const child = spawnCli(['apply', r.spec, '-i', fleet.inventory, '--journal', r.journal, '--output', 'ndjson', '-c', '1'], POOL);
  let out = '';
  let sent = false;
  child.stderr!.resume();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (!sent && out.includes('"type":"host-phase"')) {
      sent = true;
      child.kill(signal);
    }
  });
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const events = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; host?: string; outcome?: string });
  const run = await onlyRun(r.journal);
  expect(run.status, signal).toBe('done');
  expect(
    run.hosts.every((h) => h.outcome !== null),
    JSON.stringify(run.hosts),
  ).toBe(true);
  return { code, events };
}

describe('SIGTERM, SIGHUP and SIGINT stop the run like Ctrl-C (headless)', () => {
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    it(`${signal}: no new host starts, every host ends recorded, exit 3`, async () => {
      const { code, events } = await interrupted(signal);
      expect(code, signal).toBe(3);
      const abortAt = events.findIndex((e) => e.type === 'run-abort');
      expect(events[abortAt]).toMatchObject({ reason: 'signal', inFlight: 'finish' });
      const startedLater = events.slice(abortAt).filter((e) => e.type === 'host-phase' && !events.slice(0, abortAt).some((b) => b.host === e.host));
      expect(startedLater).toEqual([]);
      const done = events.filter((e) => e.type === 'host-done');
      expect(new Set(done.map((e) => e.host)).size).toBe(fleet.names.length);
      // The host that was starting had sent no change: it stops too (skipped), like the queued ones.
      expect(done.map((e) => e.outcome)).toEqual(fleet.names.map(() => 'skipped'));
      expect(events.at(-1)!.type).toBe('run-done');
    });
  }
});

describe('SIGTERM in the dashboard', () => {
  const session = `svcfleet-term-${process.pid}`;
  const socket = join(tmpdir(), `tmux-term-${process.pid}`);
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  afterAll(() => {
    spawnSync('tmux', ['-S', socket, 'kill-server']);
    rmSync(socket, { force: true });
  });

  it('stops the run like Ctrl-C, records every host and leaves the dashboard by itself', async () => {
    const r = nextRun();
    const pidFile = join(fleet.dir, 'dash.pid');
    const exitFile = join(fleet.dir, 'dash.exit');
    const env = Object.entries({ ...POOL, PATH: process.env.PATH ?? '', CI: '0' }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const cmd = `sh -c 'echo $$ > ${pidFile}; exec node ${BIN} apply ${r.spec} -i ${fleet.inventory} --journal ${r.journal} --ui dashboard -c 1'; echo $? > ${exitFile}; sleep 600`;
    tmux('new-session', '-d', '-s', session, '-x', '150', '-y', '45', ...env, cmd);
    const until = Date.now() + 60_000;
    const screen = (): string => tmux('capture-pane', '-p', '-J', '-t', session);
    while (!/RUNNING/.test(screen())) {
      if (Date.now() > until) throw new Error(`the dashboard did not start:\n${screen()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
    const end = Date.now() + 60_000;
    while (!existsSync(exitFile) || readFileSync(exitFile, 'utf8').trim() === '') {
      if (Date.now() > end) throw new Error(`the dashboard did not leave after SIGTERM:\n${screen()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('3');
    const run = await onlyRun(r.journal);
    expect(run.status).toBe('done');
    expect(run.hosts.every((h) => h.outcome !== null)).toBe(true);
    expect(run.hosts.filter((h) => h.outcome === 'skipped').length).toBeGreaterThanOrEqual(fleet.names.length - 1);
  }, 120_000);
});
