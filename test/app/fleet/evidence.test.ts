/**
 * Errors early and with evidence, through the real CLI on emulated hosts: a hot-fix whose new command line cannot
 * start leaves, per host, the service's own exit codes and its last lines in the NDJSON stream (host-evidence),
 * in `svcfleet show RUN` and in the dashboard's host detail; a plan of a password spec needs no password and a
 * second apply of it changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateStream } from '../../cli/event-schema.js';
import type { FleetEvent } from '../../../src/engine/events.js';
import { reduceEvents } from '../../../src/state/run-state.js';
import { errorGroups } from '../../../src/state/queries.js';
import { detailLines } from '../../../src/ui/components/HostDetail.js';
import { argSpec, cli, createLabFleet, labTransport, SERVICE, writeSpec, type LabFleet } from './lab-fleet.js';

const lab = labTransport(2);
let fleet: LabFleet;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-evidence-'));
  fleet = await createLabFleet({ dir, count: 3, accounts: { '.\\svcuser': 'pw-user' } });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  await lab.runner.close();
  if (fleet) rmSync(fleet.dir, { recursive: true, force: true });
});

describe('start-failure evidence', () => {
  it('is in the NDJSON stream, in show RUN and in the host detail, and the hosts form one failure group', async () => {
    const spec = writeSpec(fleet.dir, 'bogus.yaml', argSpec('bogus', '1'));
    const r = await cli(['apply', spec, '-i', fleet.inventory, '--limit', 'lab01,lab02', '--journal', fleet.journal, '--output', 'ndjson'], lab.transport);
    const { lastOutcome } = validateStream(r.stdout);
    expect(Object.fromEntries(lastOutcome), r.stderr).toEqual({ lab01: 'rolled-back', lab02: 'rolled-back' });
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FleetEvent);
    const evidence = events.filter((e) => e.type === 'host-evidence');
    expect(evidence.map((e) => e.host).sort()).toEqual(['lab01', 'lab02']);
    for (const e of evidence) {
      expect(e.evidence).toMatchObject({ service: SERVICE, win32ExitCode: 1067, serviceExitCode: 2 });
      expect(e.evidence.lines.map((l) => l.text).join('\n')).toContain('flag provided but not defined: -bogus');
    }
    const state = reduceEvents(events);
    expect(errorGroups(state).map((g) => g.hosts.sort())).toEqual([['lab01', 'lab02']]);
    const detail = detailLines(state.hosts.get('lab01')!, undefined, Date.now(), 200).map((l) => l.text);
    expect(detail).toContain('Service evidence (last failed start)');
    expect(detail.join('\n')).toMatch(/Win32 exit code 1067, service exit code 2/);

    const shown = await cli(['show', events[0]!.runId, '--journal', fleet.journal], undefined);
    expect(shown.stdout).toMatch(/AppSvc failed to start: Win32 exit code 1067, service exit code 2/);
    expect(shown.stdout).toContain('flag provided but not defined: -bogus');
  }, 300_000);
});

describe('password specs', () => {
  it('plan needs no password and shows the account change; the second apply is unchanged', async () => {
    const spec = writeSpec(
      fleet.dir,
      'account.yaml',
      `service: ${SERVICE}\nset:\n  account: { name: '.\\svcuser', password: { env: SVC_PW } }\nverify: { running: true, port: '{{ app_port }}', timeoutSeconds: 8 }\n`,
    );
    const base = ['-i', fleet.inventory, '--limit', 'lab03', '--journal', fleet.journal, '--output', 'ndjson'];
    const p = await cli(['plan', spec, ...base], lab.transport, { SVC_PW: undefined });
    const planned = validateStream(p.stdout);
    expect(Object.fromEntries(planned.lastOutcome), p.stderr).toEqual({ lab03: 'changed' });
    expect(p.stdout).toContain('"field":"account.password","before":null,"after":"(set)"');
    const first = await cli(['apply', spec, ...base], lab.transport, { SVC_PW: 'pw-user' });
    expect(Object.fromEntries(validateStream(first.stdout).lastOutcome), first.stderr).toEqual({ lab03: 'changed' });
    const pid = fleet.process('lab03').pid;
    const second = await cli(['apply', spec, ...base], lab.transport, { SVC_PW: 'pw-user' });
    expect(Object.fromEntries(validateStream(second.stdout).lastOutcome), second.stderr).toEqual({ lab03: 'unchanged' });
    expect(fleet.process('lab03').pid).toBe(pid);
  }, 300_000);
});
