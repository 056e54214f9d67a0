/**
 * Faults on the host's side of a transaction, through the real CLI over the real ssh (and winrm) transports against
 * a lab fleet: the remote engine is killed (SIGKILL, as a power cut ends it) at 20 seeded points of its apply, or its
 * SSH session is killed under it. Every such host ends `unknown`; then `resume` brings a host to the change, or
 * `rollback` brings it back to its before-state, checked on the emulated SCM's whole state of the service (config,
 * failure actions, environment, delayed flag, description, running state and the arguments of the running process).
 *
 * One fleet, one host per point, so the whole file costs one apply, one resume and one rollback.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFaultSpec } from '../../../src/lab/fleet/fault-spec.js';
import { labHostNames, startLabFleet, type LabFleet } from '../../../src/lab/fleet/fleet.js';
import { renderLabInventory } from '../../../src/lab/fleet/inventory.js';
import type { LabHostState } from '../../../src/lab/scm/state.js';
import { requireOpenSsh } from '../../transport/ssh/helpers.js';
import type { AppContext } from '../../../src/app/context.js';
import { runCli } from '../../../src/cli/main.js';
import { createTransportRegistry, registerBuiltinTransports } from '../../../src/transport/registry.js';
import { requirePwsh } from './lab-fleet.js';

const SERVICE = 'MyGoService';
/**
 * The apply fails at its start (the new command line is refused, ERROR_SERVICE_MARKED_FOR_DELETE, once), so the
 * engine restores the service itself: the points "restore: ...".
 */
const REFUSE_NEW_START = 'scm:marked-for-delete:ops=start:contains=--workers%204:times=1';

interface Case {
  label: string;
  /** Fault tokens of the host (fault-spec.ts), after `HOST=`. */
  faults: string;
  /** What settles the unknown host: resume (to the change) or rollback (to the before-state). */
  settle: 'resume' | 'rollback';
  transport?: 'ssh' | 'winrm';
}

/**
 * The 20 seeded points of the remote engine's apply, in the order of its SCM calls for the spec below (one
 * Win32_Service.Change for binary path + account, then sc.exe config start= delayed-auto, depend=, description,
 * failure, failureflag, the Environment registry value; stop; start; verify), and of its own restore. Each point
 * runs on one host, settled by one of the two commands, alternating so that both see writes, restarts and restores.
 */
const POINTS: Case[] = [
  { label: 'after the backup, before any write', faults: 'scm:engine-dies:ops=config:nth=1', settle: 'rollback' },
  { label: 'after writing binary path and account', faults: 'scm:engine-dies:ops=config:nth=1:when=after', settle: 'resume' },
  { label: 'after writing the start type (delayed flag)', faults: 'scm:engine-dies:ops=config:nth=2:when=after', settle: 'rollback' },
  { label: 'after writing the dependencies', faults: 'scm:engine-dies:ops=config:nth=3:when=after', settle: 'resume' },
  { label: 'after writing the description', faults: 'scm:engine-dies:ops=config:nth=4:when=after', settle: 'rollback' },
  { label: 'after writing the failure actions', faults: 'scm:engine-dies:ops=config:nth=5:when=after', settle: 'resume' },
  { label: 'after writing the failure flag', faults: 'scm:engine-dies:ops=config:nth=6:when=after', settle: 'rollback' },
  { label: 'after writing the environment', faults: 'scm:engine-dies:ops=registry-write:nth=1:when=after', settle: 'resume' },
  { label: 'after the read-back, before the stop', faults: 'scm:engine-dies:ops=stop:nth=1', settle: 'rollback' },
  { label: 'during the stop', faults: 'scm:engine-dies:ops=stop:nth=1:when=after', settle: 'resume' },
  { label: 'before the start', faults: 'scm:engine-dies:ops=start:nth=1', settle: 'rollback' },
  { label: 'during the start', faults: 'scm:engine-dies:ops=start:nth=1:when=after', settle: 'resume' },
  // The second Win32_Service query after the start: the engine is waiting for RUNNING or verifying (how many polls
  // the wait takes depends on the machine's speed, so which of the two is not fixed; both are after the start).
  { label: 'while the start is awaited or verified', faults: 'scm:engine-dies:ops=query:since=start:nth=2:when=after', settle: 'rollback' },
  { label: 'restore: before its first write', faults: `${REFUSE_NEW_START},scm:engine-dies:ops=config:since=start:nth=1`, settle: 'resume' },
  { label: 'restore: after its first write', faults: `${REFUSE_NEW_START},scm:engine-dies:ops=config:since=start:nth=1:when=after`, settle: 'rollback' },
  { label: 'restore: after its second write', faults: `${REFUSE_NEW_START},scm:engine-dies:ops=config:since=start:nth=2:when=after`, settle: 'resume' },
  { label: 'restore: after its fourth write', faults: `${REFUSE_NEW_START},scm:engine-dies:ops=config:since=start:nth=4:when=after`, settle: 'rollback' },
  { label: 'restore: after the environment', faults: `${REFUSE_NEW_START},scm:engine-dies:ops=registry-write:nth=2:when=after`, settle: 'resume' },
  { label: 'restore: before its start', faults: `${REFUSE_NEW_START},scm:engine-dies:ops=start:nth=2`, settle: 'rollback' },
  { label: 'restore: during its start', faults: `${REFUSE_NEW_START},scm:engine-dies:ops=start:nth=2:when=after`, settle: 'resume' },
];

/** The connection drops after the apply request was sent (the SSH session is killed under the engine). */
const DROPS: Case[] = [
  { label: 'ssh session killed after the first write', faults: 'scm:session-drops:ops=config:nth=1:when=after', settle: 'resume' },
  { label: 'ssh session killed during the stop', faults: 'scm:session-drops:ops=stop:nth=1:when=after', settle: 'rollback' },
];
const WINRM: Case[] = [
  { label: 'winrm: engine dies after writing the description', faults: 'scm:engine-dies:ops=config:nth=4:when=after', settle: 'resume', transport: 'winrm' },
  { label: 'winrm: engine dies during the stop', faults: 'scm:engine-dies:ops=stop:nth=1:when=after', settle: 'rollback', transport: 'winrm' },
];

/** REMOTE_FAULTS_ONLY (a regexp over the labels) narrows the cases, for local debugging only. */
const only = process.env.REMOTE_FAULTS_ONLY ? new RegExp(process.env.REMOTE_FAULTS_ONLY) : undefined;
const CASES = [...POINTS, ...DROPS, ...WINRM].filter((p) => !only || only.test(p.label));
const NAMES = labHostNames(CASES.length, 'rf');

const SPEC = `service: ${SERVICE}
set:
  args: { set: { --workers: '4' } }
  startType: delayed-auto
  account: { name: 'NT AUTHORITY\\LocalService' }
  description: Payments API v2
  dependencies: [Tcpip]
  failure: { resetPeriod: 86400, actions: [restart/60000, none/0], nonCrashFailures: true }
  environment: { GOMAXPROCS: '4' }
verify: { running: true, port: '{{ app_port }}', timeoutSeconds: 15 }
timeouts: { stopSeconds: 15, startSeconds: 15 }
`;

let dir: string;
let fleet: LabFleet;
const transports = registerBuiltinTransports(createTransportRegistry());

/** The real CLI in this process with the real transports (ssh, winrm). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const terminal = { stdout: { write: (c: string) => (stdout += c), isTTY: false }, stderr: { write: (c: string) => (stderr += c) } };
  const app: AppContext = { env: { ...process.env }, cwd: process.cwd(), transports, terminal };
  const code = await runCli(['node', 'svcfleet', ...args], { app, stdout: terminal.stdout, stderr: terminal.stderr });
  return { code, stdout, stderr };
}
let inventory: string;

/** JSON with sorted object keys: the emulated SCM may write a value's keys in another order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}

/** What the emulated SCM holds for the service that a change or a restore must get exactly right. */
function scmState(stateDir: string): Record<string, unknown> {
  const st = JSON.parse(readFileSync(join(stateDir, 'host.json'), 'utf8')) as LabHostState;
  const s = st.services[SERVICE]!;
  return {
    binaryPath: s.binaryPath,
    startType: s.startType,
    delayedAutoStart: s.delayedAutoStart,
    account: s.account,
    description: s.description,
    displayName: s.displayName,
    dependencies: s.dependencies,
    errorControl: s.errorControl,
    failure: s.failure,
    environment: s.registry?.Environment ?? null,
    running: s.status.state,
    // The process really running: a restore or a change is only complete once it runs the stored command line.
    args: s.status.state === 'running' ? s.status.args : null,
  };
}

beforeAll(async () => {
  requirePwsh();
  requireOpenSsh();
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-remote-faults-'));
  const spec = CASES.map((c, i) => `${NAMES[i]}=${c.faults}`).join(';');
  fleet = await startLabFleet({
    dir: join(dir, 'lab'),
    hosts: CASES.length,
    transport: 'both',
    namePrefix: 'rf',
    faults: parseFaultSpec(spec, NAMES, 'both'),
  });
  // Every host listens on both; the inventory reaches each through its case's transport.
  fleet.hosts.forEach((h, i) => (h.transport = CASES[i]!.transport ?? 'ssh'));
  inventory = join(dir, 'inventory.yaml');
  writeFileSync(inventory, renderLabInventory(fleet, inventory));
  writeFileSync(join(dir, 'change.yaml'), SPEC);
}, 120_000);

afterAll(async () => {
  await transports.dispose();
  await fleet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the remote engine dies or its connection drops mid-transaction', () => {
  it('every host ends unknown; resume brings it to the change, rollback to its before-state', { timeout: 1_200_000 }, async () => {
    const t0 = Date.now();
    const before = new Map(fleet.hosts.map((h) => [h.name, scmState(h.stateDir)]));
    const journal = join(dir, 'journal');
    // --no-canary: every host carries its own fault, so the default canary (the first host) would stop the rest.
    const common = ['-i', inventory, '--journal', journal, '-c', '8', '--max-failures', String(CASES.length), '--retries', '0', '--no-canary'];
    const apply = await cli(['apply', join(dir, 'change.yaml'), ...common, '--output', 'ndjson']);
    const tApply = Date.now();
    const events = apply.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; host?: string; outcome?: string; runId?: string; remotePhase?: string; message?: string });
    const runId = events.find((e) => e.runId)?.runId;
    if (!runId) throw new Error(`apply recorded no run: ${apply.stdout}${apply.stderr}`);
    const lastPhase = new Map<string, string>();
    for (const e of events) if (e.host && e.remotePhase) lastPhase.set(e.host, e.remotePhase);
    const outcomes = Object.fromEntries(events.filter((e) => e.type === 'host-done').map((e) => [e.host!, e.outcome!]));
    const messages = Object.fromEntries(events.filter((e) => e.type === 'host-done').map((e) => [e.host!, e.message ?? '']));
    const where = CASES.map((c, i) => `${NAMES[i]} ${c.label}: ${outcomes[NAMES[i]!]} at ${lastPhase.get(NAMES[i]!)}: ${messages[NAMES[i]!]}`).join('\n');
    console.log(`apply ${tApply - t0} ms\n${where}`);
    expect(outcomes, `${where}\n${apply.stderr}`).toEqual(Object.fromEntries(NAMES.map((n) => [n, 'unknown'])));

    const pick = (settle: string): string =>
      NAMES.filter((_, i) => CASES[i]!.settle === settle)
        .map((n) => n)
        .join(',');
    const resumed = await cli(['resume', runId, '--hosts', pick('resume'), ...common.slice(2), '--output', 'plain']);
    const tResume = Date.now();
    const rolled = await cli(['rollback', runId, '--hosts', pick('rollback'), '--journal', journal, '-c', '8', '--output', 'plain']);
    const tRollback = Date.now();

    // Every resumed host holds the same change (modulo its own port), and that change is the spec's.
    const portless = (name: string, st: Record<string, unknown>): string =>
      canonical(st)
        .replaceAll(`--port ${fleet.hosts.find((h) => h.name === name)!.appPort}`, '--port PORT')
        .replaceAll(`"${fleet.hosts.find((h) => h.name === name)!.appPort}"`, '"PORT"');
    const firstResumed = fleet.hosts.find((_, i) => CASES[i]!.settle === 'resume')!;
    const changed = scmState(firstResumed.stateDir);
    expect(changed).toMatchObject({
      binaryPath: `${before.get(firstResumed.name)!.binaryPath} --workers 4`,
      startType: 'auto',
      delayedAutoStart: true,
      account: 'NT AUTHORITY\\LocalService',
      description: 'Payments API v2',
      dependencies: ['Tcpip'],
      running: 'running',
      args: [...(before.get(firstResumed.name)!.args as string[]), '--workers', '4'],
    });
    const problems: string[] = [];
    fleet.hosts.forEach((h, i) => {
      const c = CASES[i]!;
      const now = portless(h.name, scmState(h.stateDir));
      const want = c.settle === 'rollback' ? portless(h.name, before.get(h.name)!) : portless(firstResumed.name, changed);
      if (now !== want) problems.push(`${h.name} ${c.label} (${c.settle}):\n  is   ${now}\n  want ${want}`);
    });
    console.log(`apply ${tApply - t0} ms, resume ${tResume - tApply} ms, rollback ${tRollback - tResume} ms`);
    expect(problems.join('\n'), `${resumed.stdout}${resumed.stderr}\n${rolled.stdout}${rolled.stderr}`).toBe('');
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(rolled.code, rolled.stdout + rolled.stderr).toBe(0);
  });
});
