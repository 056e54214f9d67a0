/**
 * Slow and broken peers in one run (docs/events.md "Faults on the controller and the peers"): a lab fleet
 * (src/lab/fleet: real sshd and lab WS-Management listeners in front of emulated SCMs) where some hosts accept
 * TCP and never answer, and some WinRM listeners answer HTTP 500, garbage or a truncated body. One `apply` over
 * the real ssh and winrm transports, hosts in parallel, short deadlines: every host ends in its documented
 * terminal state, the broken ones with nothing changed, and the journal holds every host.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFaultSpec } from '../../../src/lab/fleet/fault-spec.js';
import { labHostNames, startLabFleet, type LabFleet } from '../../../src/lab/fleet/fleet.js';
import { renderLabInventory } from '../../../src/lab/fleet/inventory.js';
import { readLabHost } from '../../../src/lab/host.js';
import { validateStream } from '../../cli/event-schema.js';
import { requireOpenSsh } from '../../transport/ssh/helpers.js';
import type { AppContext } from '../../../src/app/context.js';
import { runCli } from '../../../src/cli/main.js';
import type { FleetEvent } from '../../../src/engine/events.js';
import { createTransportRegistry, registerBuiltinTransports, type TransportRegistry } from '../../../src/transport/registry.js';
import { cli, requirePwsh, writeSpec, type CliResult } from './lab-fleet.js';

// Inventory transport (after the override below): odd hosts ssh, even hosts winrm, lab007 winrm too.
const SPEC = [
  'lab003=slow-connect:600000', // ssh: TCP accepted, not a byte back
  'lab004=slow-connect:600000', // winrm: the same
  'lab006=winrm-500',
  'lab007=winrm-garbage-xml',
  'lab008=winrm-truncated',
].join(';');
const WINRM = ['lab002', 'lab004', 'lab006', 'lab007', 'lab008'];
const EXPECTED: Record<string, { outcome: string; code: string }> = {
  lab001: { outcome: 'changed', code: 'ok' },
  lab002: { outcome: 'changed', code: 'ok' },
  lab005: { outcome: 'changed', code: 'ok' },
  lab003: { outcome: 'unreachable', code: 'timeout' },
  lab004: { outcome: 'unreachable', code: 'timeout' },
  lab006: { outcome: 'failed', code: 'protocol' },
  lab007: { outcome: 'failed', code: 'protocol' },
  lab008: { outcome: 'failed', code: 'remote-failed' },
};
const DEADLINES = { SVCFLEET_DEADLINES_CONNECT: '2s', SVCFLEET_DEADLINES_AUTH: '5s', SVCFLEET_DEADLINES_COMMAND: '90s' };

let dir: string;
let fleet: LabFleet;
let transports: TransportRegistry;

/** The real CLI in this process with the real ssh and winrm transports (lab-fleet.ts `cli` plugs in the lab's). */
async function cliReal(args: string[], env: Record<string, string>, onEvent: (e: FleetEvent) => void): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const app: AppContext = {
    env: { ...process.env, ...env },
    cwd: dir,
    transports,
    onEvent,
    terminal: { stdout: { write: (c: string) => (stdout += c), isTTY: false }, stderr: { write: (c: string) => (stderr += c) } },
  };
  const code = await runCli(['node', 'svcfleet', ...args], { app, stdout: app.terminal!.stdout, stderr: app.terminal!.stderr });
  return { code, stdout, stderr };
}
let inventory: string;

beforeAll(async () => {
  requirePwsh();
  requireOpenSsh();
  transports = registerBuiltinTransports(createTransportRegistry());
  dir = await mkdtemp(join(tmpdir(), 'svcfleet-peers-'));
  const names = labHostNames(8);
  fleet = await startLabFleet({ dir, hosts: 8, transport: 'both', faults: parseFaultSpec(SPEC, names, 'both') });
  inventory = join(dir, 'inventory.yaml');
  const doc = parse(renderLabInventory(fleet, inventory)) as { hosts: Record<string, Record<string, unknown>> };
  // Every lab host listens on both; the inventory picks the transport each host is reached by.
  const winrmOf = Object.values(doc.hosts).find((h) => h.transport === 'winrm')!;
  for (const h of fleet.hosts) {
    const entry = doc.hosts[h.name]!;
    if (WINRM.includes(h.name)) Object.assign(entry, { transport: 'winrm', port: h.winrm!.port, user: winrmOf.user, password: winrmOf.password });
    else {
      for (const k of ['transport', 'user', 'password']) delete entry[k];
      entry.port = h.ssh!.port;
    }
  }
  writeFileSync(inventory, stringify(doc));
}, 180_000);

afterAll(async () => {
  await transports?.dispose();
  await fleet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('slow and broken peers', () => {
  it('each ends in its documented state, nothing changed on a broken one, every host journaled', async () => {
    const service = fleet.service.name;
    const before = new Map(fleet.hosts.map((h) => [h.name, readLabHost(h.stateDir).services[service]!.binaryPath]));
    const spec = writeSpec(
      dir,
      'peers.yaml',
      `service: ${service}\nset:\n  args: { set: { "--workers": "4" } }\nverify: { running: true, port: '{{ app_port }}', timeoutSeconds: 20 }\n`,
    );
    const journal = join(dir, 'journal');
    const started = Date.now();
    // lab005's sshd is stopped while lab005 applies (what `Restart-Service sshd` does to the listener): the
    // established session is a process of its own and carries on.
    const sshd = fleet.hosts.find((h) => h.name === 'lab005')!.ssh!.sshdPid!;
    let sshdStopped = false;
    const r = await cliReal(
      ['apply', spec, '-i', inventory, '--journal', journal, '--output', 'ndjson', '-c', '8', '--retries', '0', '--max-failures', '100%'],
      DEADLINES,
      (e) => {
        if (!sshdStopped && e.type === 'host-phase' && e.host === 'lab005' && (e.state === 'applying' || e.remotePhase === 'backup')) {
          sshdStopped = true;
          process.kill(sshd, 'SIGTERM');
        }
      },
    );
    const wall = Date.now() - started;
    expect(r.stdout, r.stderr).not.toBe('');
    const { events, lastOutcome } = validateStream(r.stdout);
    const done = (n: string) =>
      events.find((e) => e.type === 'host-done' && e.host === n) as { outcome: string; reason: { code: string; errorClass?: string }; message: string };
    const got = Object.fromEntries(
      fleet.hosts.map((h) => [h.name, { outcome: lastOutcome.get(h.name), code: done(h.name)?.reason.errorClass ?? done(h.name)?.reason.code }]),
    );
    expect(got, r.stdout + r.stderr).toEqual(EXPECTED);
    expect(r.code).toBe(2);
    expect(sshdStopped).toBe(true);
    // The silent hosts were cut by the 2 s connect deadline, not by the 90 s command deadline.
    for (const n of ['lab003', 'lab004']) expect(done(n).message).toMatch(/(connect deadline of 2000 ms passed|no connection within 2000 ms)/);
    for (const n of ['lab006', 'lab007', 'lab008']) expect(done(n).message).toMatch(/^(?!.*outcome unknown).*; nothing changed$/);
    expect(done('lab008').message).toMatch(/Create: .*connection lost; no command was running/);
    expect(wall).toBeLessThan(80_000);
    // Nothing moved on a broken host; the healthy ones carry the change.
    for (const h of fleet.hosts) {
      const now = readLabHost(h.stateDir).services[service]!.binaryPath;
      if (EXPECTED[h.name]!.outcome === 'changed') expect([h.name, now]).toEqual([h.name, `${before.get(h.name)} --workers 4`]);
      else expect([h.name, now]).toEqual([h.name, before.get(h.name)]);
    }
    // The journal has every host with the outcome the stream showed.
    const runId = events[0]!.runId;
    const shown = await cli(['show', runId, '--journal', journal, '--output', 'json'], undefined);
    const hosts = (JSON.parse(shown.stdout) as { hosts: { name: string; outcome: string }[] }).hosts;
    expect(Object.fromEntries(hosts.map((h) => [h.name, h.outcome]))).toEqual(Object.fromEntries(Object.entries(EXPECTED).map(([n, e]) => [n, e.outcome])));
    expect(readFileSync(join(journal, 'runs', runId, 'manifest.json'), 'utf8')).toMatch(/"status": "done"/);
  }, 300_000);
});
