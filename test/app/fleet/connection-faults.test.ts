/**
 * Connection faults in the middle of a host's transaction (docs/events.md "Faults on the host and the connection"),
 * through the real CLI over the real ssh and winrm transports against one small lab fleet. Each fault is set off by
 * the remote engine itself at an exact SCM call (src/lab/fleet/connection-faults.ts), so no timing decides where it
 * lands:
 *  - the host's sshd is restarted (stopped with its sessions, started again on the same port and host key) after the
 *    first write of the apply: `unknown`, settled by `resume`; and during the read-only plan, before the apply
 *    request: the host connects again (retry policy) and ends `changed`;
 *  - the WinRM listener resets the connection (RST) after the apply's first write, the engine runs on: `unknown`;
 *  - the proxy between controller and host stops forwarding both ways and keeps the connection open, over ssh and
 *    over winrm: the transport's own liveness check cuts it (ssh keepalives go unanswered; a WinRM Receive gets no
 *    answer within its operation timeout), `unknown`.
 * Then `resume` settles every unknown host from the host's own state, and the journal has every host.
 *
 * Every run keeps the default command deadline. A short one (30 s, once used to end the stalls) cut hosts before their
 * fault on a busy machine: with two suites on two cores pwsh took 17 s to start and a plan 31 s. Keepalives and the
 * Receive timeout measure the link, not the engine's speed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.js';
import { runCli } from '../../../src/cli/main.js';
import { parseFaultSpec } from '../../../src/lab/fleet/fault-spec.js';
import { labHostNames, startLabFleet, type LabFleet } from '../../../src/lab/fleet/fleet.js';
import { renderLabInventory } from '../../../src/lab/fleet/inventory.js';
import type { LabHostState } from '../../../src/lab/scm/state.js';
import { createTransportRegistry, registerBuiltinTransports } from '../../../src/transport/registry.js';
import { validateStream } from '../../cli/event-schema.js';
import { requireOpenSsh } from '../../transport/ssh/helpers.js';
import { requirePwsh } from './lab-fleet.js';

const SERVICE = 'MyGoService';

interface Case {
  label: string;
  faults: string;
  transport: 'ssh' | 'winrm';
  /** The apply's outcome, its reason code and what its message says. */
  outcome: 'unknown' | 'changed';
  code: string;
  message: RegExp;
}

const CASES: Case[] = [
  {
    label: 'sshd restarted after the first write',
    faults: 'sshd-restart:ops=config:nth=1:when=after',
    transport: 'ssh',
    outcome: 'unknown',
    code: 'connection-lost',
    message: /connection lost after the apply request was sent .*mid-command/,
  },
  {
    label: 'sshd restarted during the plan, before the apply request',
    faults: 'sshd-restart:ops=query:nth=1',
    transport: 'ssh',
    outcome: 'changed',
    code: 'ok',
    message: /binaryPath/,
  },
  {
    label: 'winrm connection reset after the first write',
    faults: 'winrm-reset:ops=config:nth=1:when=after',
    transport: 'winrm',
    outcome: 'unknown',
    code: 'connection-lost',
    message: /connection lost after the apply request was sent .*ECONNRESET/,
  },
  {
    label: 'ssh: the proxy stops forwarding after the first write',
    faults: 'link-stall:ops=config:nth=1:when=after',
    transport: 'ssh',
    outcome: 'unknown',
    code: 'connection-lost',
    message: /Keepalive timeout/,
  },
  {
    label: 'winrm: the proxy stops forwarding after the first write',
    faults: 'link-stall:ops=config:nth=1:when=after',
    transport: 'winrm',
    outcome: 'unknown',
    code: 'connection-lost',
    message: /Receive: no complete response within \d+ ms/,
  },
];
const NAMES = labHostNames(CASES.length, 'cf');

const SPEC = `service: ${SERVICE}
set:
  args: { set: { --workers: '4' } }
  description: Payments API v2
verify: { running: true, port: '{{ app_port }}', timeoutSeconds: 20 }
timeouts: { stopSeconds: 15, startSeconds: 15 }
`;

let dir: string;
let fleet: LabFleet;
let inventory: string;
const transports = registerBuiltinTransports(createTransportRegistry());

/** The real CLI in this process with the real transports (ssh, winrm). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const terminal = { stdout: { write: (c: string) => (stdout += c), isTTY: false }, stderr: { write: (c: string) => (stderr += c) } };
  const app: AppContext = { env: { ...process.env }, cwd: dir, transports, terminal };
  const code = await runCli(['node', 'svcfleet', ...args], { app, stdout: terminal.stdout, stderr: terminal.stderr });
  return { code, stdout, stderr };
}

function service(stateDir: string): { binaryPath: string; description: string; state: string; args: string[] | null | undefined } {
  const s = (JSON.parse(readFileSync(join(stateDir, 'host.json'), 'utf8')) as LabHostState).services[SERVICE]!;
  return { binaryPath: s.binaryPath, description: s.description ?? '', state: s.status.state, args: s.status.state === 'running' ? s.status.args : null };
}

beforeAll(async () => {
  requirePwsh();
  requireOpenSsh();
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-connection-faults-'));
  fleet = await startLabFleet({
    dir: join(dir, 'lab'),
    hosts: CASES.length,
    transport: 'both',
    namePrefix: 'cf',
    faults: parseFaultSpec(CASES.map((c, i) => `${NAMES[i]}=${c.faults}`).join(';'), NAMES, 'both'),
  });
  fleet.hosts.forEach((h, i) => (h.transport = CASES[i]!.transport));
  inventory = join(dir, 'inventory.yaml');
  writeFileSync(inventory, renderLabInventory(fleet, inventory));
  writeFileSync(join(dir, 'change.yaml'), SPEC);
}, 120_000);

afterAll(async () => {
  await transports.dispose();
  await fleet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the connection fails in the middle of a host transaction', () => {
  it('each host ends in its documented state; resume settles the unknown ones from the host', { timeout: 300_000 }, async () => {
    const before = new Map(fleet.hosts.map((h) => [h.name, service(h.stateDir)]));
    const sshdBefore = new Map(fleet.hosts.map((h) => [h.name, h.ssh?.sshdPid]));
    const journal = join(dir, 'journal');
    const common = ['-i', inventory, '--journal', journal, '-c', '8', '--max-failures', '100%', '--retries', '3', '--no-canary'];
    const t0 = Date.now();
    const apply = await cli(['apply', join(dir, 'change.yaml'), ...common, '--output', 'ndjson']);
    const wall = Date.now() - t0;
    const { events, lastOutcome } = validateStream(apply.stdout);
    const done = (n: string) =>
      events.findLast((e) => e.type === 'host-done' && e.host === n) as { outcome: string; reason: { code: string }; message: string; attempts: number };
    const got = Object.fromEntries(NAMES.map((n) => [n, `${lastOutcome.get(n)} ${done(n)?.reason.code}: ${done(n)?.message}`]));
    console.log(`apply ${wall} ms\n${Object.values(got).join('\n')}`);
    CASES.forEach((c, i) => {
      const n = NAMES[i]!;
      expect([c.label, lastOutcome.get(n), done(n).reason.code], apply.stdout + apply.stderr).toEqual([c.label, c.outcome, c.code]);
      expect([c.label, done(n).message]).toEqual([c.label, expect.stringMatching(c.message)]);
    });
    expect(apply.code).toBe(2);
    // The faults happened as described: both restarted hosts run a new sshd; the plan-cut host connected twice.
    for (const i of [0, 1]) expect(fleet.hosts[i]!.ssh!.sshdPid).not.toBe(sshdBefore.get(NAMES[i]!));
    expect(done(NAMES[1]!).attempts).toBeGreaterThanOrEqual(2);
    const planLog = events.filter((e) => e.type === 'host-log' && e.host === NAMES[1] && /connection lost while reading the host/.test(e.text));
    expect(planLog).toHaveLength(1);

    const runId = events[0]!.runId;
    const unknown = NAMES.filter((_, i) => CASES[i]!.outcome === 'unknown');
    const resumed = await cli(['resume', runId, ...common.slice(2), '--output', 'ndjson']);
    const after = validateStream(resumed.stdout);
    console.log(
      unknown
        .map(
          (n) => `${n}: ${after.lastOutcome.get(n)} ${(after.events.findLast((e) => e.type === 'host-done' && e.host === n) as { message: string })?.message}`,
        )
        .join('\n'),
    );
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    for (const n of unknown) expect([n, after.lastOutcome.get(n)]).toEqual([n, 'changed']);

    // Every host carries the whole change, running on its new command line: nothing lost, nothing half-done.
    for (const h of fleet.hosts) {
      const was = before.get(h.name)!;
      expect([h.name, service(h.stateDir)]).toEqual([
        h.name,
        { binaryPath: `${was.binaryPath} --workers 4`, description: 'Payments API v2', state: 'running', args: [...was.args!, '--workers', '4'] },
      ]);
    }
    // The journal holds every host with its settled outcome.
    const shown = await cli(['show', runId, '--journal', journal, '--output', 'json']);
    const hosts = (JSON.parse(shown.stdout) as { hosts: { name: string; outcome: string }[] }).hosts;
    expect(Object.fromEntries(hosts.map((h) => [h.name, h.outcome]))).toEqual(Object.fromEntries(NAMES.map((n) => [n, 'changed'])));
  });
});
