/**
 * The rollout scenarios on REAL emulated hosts (src/lab: the real ps-scripts in real pwsh against the
 * emulated SCM, services as real processes on loopback ports), through the real CLI in-process with the local
 * transport in pool mode. One 50-host fleet; each scenario changes a different argument, and the faults are
 * armed at host creation to fire only on that scenario's value (LabFaultSpec.contains).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { validateStream } from '../../cli/event-schema.js';
import { argSpec, cli, createLabFleet, labTransport, SERVICE, writeSpec, type LabFleet } from './lab-fleet.js';

const PASSWORD = 'Sv‘c’-“pw”-$(whoami)-hunter2';
const lab = labTransport(2);
let fleet: LabFleet;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-rollout-'));
  // start-timeout: the new command line never reaches RUNNING; StartService fails with 1053 after the host's start timeout.
  const onStart = (value: string) => [{ kind: 'start-timeout' as const, contains: value }];
  fleet = await createLabFleet({
    dir,
    count: 50,
    args: '--log-level info',
    accounts: { '.\\svcuser': PASSWORD },
    missing: ['lab45'],
    faults: {
      // Scenario "50 hosts": the new binary path cannot start → the remote engine restores it.
      lab05: onStart('--log-level warn'),
      // ... the SCM refuses the change itself.
      lab23: [{ kind: 'access-denied', ops: ['config'], contains: '--log-level warn' }],
      // ... cannot start, and restoring the old path is refused too.
      lab34: [...onStart('--log-level warn'), { kind: 'access-denied', ops: ['config'], contains: '--log-level info' }],
      // ... the service is not there at all.
      lab41: [{ kind: 'no-such-service', ops: ['query'] }],
      // Scenario "canary": the canary cannot start the new path.
      lab01: onStart('--workers 3'),
      // Scenario "failure budget".
      lab11: onStart('--workers 4'),
      lab12: onStart('--workers 4'),
    },
  });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  await lab.runner.close();
  if (fleet) rmSync(fleet.dir, { recursive: true, force: true });
});

describe('rollout on 50 emulated hosts', () => {
  it('every host ends in the right state, with the right exit code, NDJSON and JUnit outputs', async () => {
    const spec = writeSpec(fleet.dir, 'warn.yaml', argSpec('log-level', 'warn'));
    const junit = join(fleet.dir, 'warn.xml');
    const r = await cli(
      [
        'apply',
        spec,
        '-i',
        fleet.inventory,
        '--journal',
        fleet.journal,
        '--output',
        'ndjson',
        '--junit',
        junit,
        '--max-failures',
        '10',
        '-c',
        '10',
        '--retries',
        '0',
      ],
      lab.transport,
    );
    const { lastOutcome, events } = validateStream(r.stdout);
    const expected: Record<string, string> = { lab05: 'rolled-back', lab23: 'failed', lab34: 'rollback-failed', lab41: 'failed', lab45: 'unreachable' };
    for (const n of fleet.names) expect([n, lastOutcome.get(n)]).toEqual([n, expected[n] ?? 'changed']);
    expect(r.code, r.stderr).toBe(4); // a rollback failed somewhere
    expect(events.at(-1)).toMatchObject({
      type: 'run-done',
      exitCode: 4,
      counts: { changed: 45, 'rolled-back': 1, failed: 2, 'rollback-failed': 1, unreachable: 1 },
    });

    // The emulated hosts agree: changed hosts run the new path, restored ones the old one.
    for (const n of fleet.names) {
      if (n === 'lab45' || n === 'lab41') continue;
      const want = (expected[n] ?? 'changed') === 'changed' ? '--log-level warn' : '--log-level info';
      if (n !== 'lab34') expect([n, fleet.binaryPath(n)]).toEqual([n, expect.stringContaining(want)]);
    }
    // The summary folds identical outcomes into host ranges (stderr with --output ndjson).
    expect(r.stderr).toMatch(/lab\[0[0-9]-\d\d.*\]: changed \(45\)|changed \(45\)/);

    const xml = readFileSync(junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const suite = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml).testsuites.testsuite;
    expect(suite).toMatchObject({ tests: '50', failures: '4', errors: '1', skipped: '0' });

    // show RUN accounts for every host.
    const runId = events[0]!.runId;
    const show = await cli(['show', runId, '--journal', fleet.journal, '--output', 'json'], undefined);
    const shown = JSON.parse(show.stdout) as { hosts: { name: string; outcome: string }[] };
    const byName = (a: [string, string | null], b: [string, string | null]): number => (a[0] < b[0] ? -1 : 1);
    expect(shown.hosts.map((h): [string, string | null] => [h.name, h.outcome]).sort(byName)).toEqual(
      fleet.names.map((n): [string, string | null] => [n, expected[n] ?? 'changed']),
    );
  }, 600_000);

  it('a failing canary stops the run before any other host changes', async () => {
    const before = new Map(fleet.names.filter((n) => n !== 'lab45').map((n) => [n, fleet.binaryPath(n)]));
    const spec = writeSpec(fleet.dir, 'workers3.yaml', argSpec('workers', '3'));
    const r = await cli(
      ['apply', spec, '-i', fleet.inventory, '--journal', fleet.journal, '--output', 'ndjson', '--canary', 'canary', '--max-failures', '50%'],
      lab.transport,
    );
    const { lastOutcome, events } = validateStream(r.stdout);
    expect(lastOutcome.get('lab01')).toBe('rolled-back');
    for (const n of fleet.names.slice(1)) expect([n, lastOutcome.get(n)]).toEqual([n, 'skipped']);
    expect(events.find((e) => e.type === 'run-abort')).toMatchObject({ reason: 'canary' });
    // Nobody but the canary was even contacted.
    expect(new Set(events.filter((e) => e.type === 'host-phase').map((e) => (e as { host: string }).host))).toEqual(new Set(['lab01']));
    for (const n of fleet.names) if (n !== 'lab45') expect([n, fleet.binaryPath(n)]).toEqual([n, before.get(n)]);
    expect(r.code).toBe(3);
  }, 300_000);

  it('the failure budget stops scheduling; the hosts after it are not touched', async () => {
    const spec = writeSpec(fleet.dir, 'workers4.yaml', argSpec('workers', '4'));
    const hosts = fleet.names.filter((n) => n.startsWith('lab1')); // lab10..lab19, in inventory order
    const before = new Map(hosts.map((n) => [n, fleet.binaryPath(n)]));
    const r = await cli(
      ['apply', spec, '-i', fleet.inventory, '--limit', 'lab1*', '--journal', fleet.journal, '--output', 'ndjson', '-c', '1', '--max-failures', '1'],
      lab.transport,
    );
    const { lastOutcome, events } = validateStream(r.stdout);
    // One at a time: lab10 changes, lab11 fails (1 ≤ budget 1), lab12 fails (2 > 1): nothing else starts.
    expect(lastOutcome.get('lab10')).toBe('changed');
    expect(lastOutcome.get('lab11')).toBe('rolled-back');
    expect(lastOutcome.get('lab12')).toBe('rolled-back');
    for (const n of hosts.slice(3)) {
      expect([n, lastOutcome.get(n)]).toEqual([n, 'skipped']);
      expect(fleet.binaryPath(n)).toBe(before.get(n));
    }
    for (const n of ['lab11', 'lab12']) expect(fleet.binaryPath(n)).toBe(before.get(n));
    expect(fleet.binaryPath('lab10')).toContain('--workers 4');
    expect(events.find((e) => e.type === 'run-abort')).toMatchObject({ reason: 'budget', inFlight: 'finish' });
    expect(r.code).toBe(3);
  }, 300_000);

  it('apply plan.json leaves a host changed since the plan as drifted', async () => {
    const spec = writeSpec(fleet.dir, 'workers5.yaml', argSpec('workers', '5'));
    const planFile = join(fleet.dir, 'plan.json');
    const limit = ['--limit', 'lab46:lab47:lab48'];
    const p = await cli(['plan', spec, '-i', fleet.inventory, ...limit, '--journal', fleet.journal, '--output', 'plain', '-o', planFile], lab.transport);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(p.stdout).toMatch(/3 hosts to change/);
    // Someone changes lab47 behind the plan's back.
    const other = writeSpec(fleet.dir, 'desc.yaml', `service: ${SERVICE}\nset: { description: 'changed behind the plan' }\nrestart: never\n`);
    const o = await cli(['apply', other, '-i', fleet.inventory, '--limit', 'lab47', '--journal', fleet.journal, '--output', 'plain'], lab.transport);
    expect(o.code, o.stdout).toBe(0);
    const a = await cli(['apply', planFile, '--journal', fleet.journal, '--output', 'ndjson'], lab.transport);
    const { lastOutcome } = validateStream(a.stdout);
    expect(Object.fromEntries(lastOutcome)).toEqual({ lab46: 'changed', lab47: 'drifted', lab48: 'changed' });
    expect(fleet.binaryPath('lab47')).not.toContain('--workers 5');
    expect(fleet.binaryPath('lab46')).toContain('--workers 5');
    expect(a.code).toBe(2);
  }, 300_000);

  it('never writes the account password to the journal, events, outputs or the plan', async () => {
    const spec = writeSpec(
      fleet.dir,
      'account.yaml',
      `service: ${SERVICE}\nset:\n  account: { name: '.\\svcuser', password: { env: SVC_PW } }\nverify: { running: true, port: '{{ app_port }}', timeoutSeconds: 8 }\n`,
    );
    const junit = join(fleet.dir, 'account.xml');
    const planFile = join(fleet.dir, 'account-plan.json');
    const env = { SVC_PW: PASSWORD };
    const p = await cli(
      ['plan', spec, '-i', fleet.inventory, '--limit', 'lab49', '--journal', fleet.journal, '--output', 'ndjson', '-o', planFile],
      lab.transport,
      env,
    );
    const a = await cli(
      ['apply', spec, '-i', fleet.inventory, '--limit', 'lab49:lab50', '--journal', fleet.journal, '--output', 'ndjson', '--junit', junit],
      lab.transport,
      env,
    );
    const { lastOutcome } = validateStream(a.stdout);
    expect(Object.fromEntries(lastOutcome), a.stderr).toEqual({ lab49: 'changed', lab50: 'changed' });
    const rendered = await cli(['render', spec, '--host', 'lab49', '-i', fleet.inventory], undefined, env);
    expect(rendered.stdout).toContain('[REDACTED]');
    const texts = [p.stdout, p.stderr, a.stdout, a.stderr, rendered.stdout, readFileSync(junit, 'utf8'), readFileSync(planFile, 'utf8')];
    for (const run of readdirSync(join(fleet.journal, 'runs'))) {
      for (const f of readdirSync(join(fleet.journal, 'runs', run))) texts.push(readFileSync(join(fleet.journal, 'runs', run, f), 'utf8'));
    }
    for (const t of texts) {
      expect(t).not.toContain('hunter2');
      expect(t).not.toContain(Buffer.from(PASSWORD, 'utf8').toString('base64'));
    }
  }, 300_000);
});
