/** Reporters (plain, NDJSON, JUnit) against their documented shapes, driven by real engine runs on the fake fleet. */
import { describe, expect, it } from 'vitest';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { startRun } from '../../src/engine/run.js';
import type { RunHandle } from '../../src/engine/events.js';
import { attachNdjson } from '../../src/report/ndjson.js';
import { attachPlain } from '../../src/report/plain.js';
import { junitXml } from '../../src/report/junit.js';
import { CHANGE, FakeFleet, type Faults } from '../engine/fake-fleet.js';
import { validateStream } from './event-schema.js';

const hosts = Array.from({ length: 40 }, (_, i) => `web${String(i + 1).padStart(2, '0')}`);

function faultyRun(): { handle: RunHandle; fleet: FakeFleet } {
  const faults: Record<string, Faults> = {};
  for (const h of ['web03', 'web04', 'web05', 'web06', 'web07']) faults[h] = { authFailed: true };
  faults.web10 = { verifyFails: true };
  faults.web11 = { verifyFails: true, rollbackFails: true };
  faults.web12 = { noService: true };
  const fleet = new FakeFleet(hosts, ['Svc'], faults);
  const handle = startRun({
    mode: 'apply',
    tasks: hosts.map((h) => ({
      host: fleet.spec(h),
      changes: [{ ...CHANGE, desired: { ...CHANGE.desired, account: { name: 'svc', password: 'S3cr3t‘pw’' } } }],
    })),
    io: fleet.io,
    snapshots: { saveSnapshots: async () => undefined },
    strategy: { concurrency: 8, maxFailures: { kind: 'percent', pct: 50 }, retries: 0 },
  });
  return { handle, fleet };
}

describe('reporters', () => {
  it('NDJSON: every line matches docs/events.md; host-done per host; run-done last; no secret', async () => {
    const { handle } = faultyRun();
    let out = '';
    const detach = attachNdjson(handle, { write: (c: string) => (out += c) });
    await handle.done;
    detach();
    const { lastOutcome, events } = validateStream(out);
    expect(lastOutcome.get('web01')).toBe('changed');
    expect(lastOutcome.get('web03')).toBe('unreachable');
    expect(lastOutcome.get('web10')).toBe('rolled-back');
    expect(lastOutcome.get('web11')).toBe('rollback-failed');
    expect(lastOutcome.get('web12')).toBe('failed');
    expect(events.at(-1)).toMatchObject({
      type: 'run-done',
      exitCode: 4,
      counts: { changed: 32, unreachable: 5, 'rolled-back': 1, 'rollback-failed': 1, failed: 1 },
    });
    expect(out).not.toContain('S3cr3t');
  });

  it('plain, plan mode: hosts that would change read "would change", in the host lines, counts and outcomes', async () => {
    const fleet = new FakeFleet(hosts.slice(0, 3), ['Svc']);
    const handle = startRun({
      mode: 'plan',
      tasks: hosts.slice(0, 3).map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })),
      io: fleet.io,
      snapshots: { saveSnapshots: async () => undefined },
      strategy: { concurrency: 3, retries: 0 },
    });
    let out = '';
    attachPlain(handle, { out: { write: (c: string) => (out += c) }, progressEveryMs: 0 });
    await handle.done;
    expect(out).toMatch(/^\[1\/3\] web0\d would change/m);
    expect(out).toContain('3 hosts: would change 3');
    expect(out).toContain('web[01-03]: would change (3)');
    expect(out).not.toMatch(/\bchanged\b/);
  });

  it('plain: a run a person aborted suggests `svcfleet resume` for the hosts it never started', async () => {
    const names = hosts.slice(0, 6);
    const fleet = new FakeFleet(names, ['Svc'], Object.fromEntries(names.map((h) => [h, { latencyMs: 50 }])));
    const handle = startRun({
      mode: 'apply',
      tasks: names.map((h) => ({ host: fleet.spec(h), changes: [CHANGE] })),
      io: fleet.io,
      snapshots: { saveSnapshots: async () => undefined },
      strategy: { concurrency: 1, retries: 0 },
    });
    let out = '';
    attachPlain(handle, { out: { write: (c: string) => (out += c) }, progressEveryMs: 0 });
    handle.subscribe((e) => {
      if (e.type === 'host-done' && e.host === 'web01') handle.send({ type: 'abort', inFlight: 'finish', reason: 'user' });
    });
    const done = await handle.done;
    expect(done.exitCode).toBe(3);
    expect(out).toMatch(/: skipped/);
    expect(out).toMatch(new RegExp(`^  svcfleet resume ${done.runId}$`, 'm'));
  });

  it('plain: a line per host, and a summary that folds identical errors into host ranges', async () => {
    const { handle } = faultyRun();
    let out = '';
    attachPlain(handle, { out: { write: (c: string) => (out += c) }, progressEveryMs: 0 });
    await handle.done;
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^svcfleet apply \S+: 40 hosts, service Svc \(concurrency 8, failure budget 20\)$/);
    expect(lines.filter((l) => /^\[\s*\d+\/40\] web\d\d /.test(l))).toHaveLength(40);
    // "web[03-07]: unreachable: access denied [auth-failed] (5)" — one line for five hosts.
    const folded = lines.find((l) => l.includes('web[03-07]'));
    expect(folded, out).toMatch(/web\[03-07\]: unreachable.*access denied.*\(5\)/);
    expect(lines.some((l) => /web11: rollback-failed/.test(l))).toBe(true);
    expect(out).toMatch(/exit 4/);
    expect(out).toContain(`svcfleet rollback ${handle.runId}`);
    expect(out).not.toContain('S3cr3t');
  });

  it('JUnit: valid XML, one testcase per host, failures/errors/skipped as documented', async () => {
    const { handle } = faultyRun();
    const plain = attachPlain(handle, { out: { write: () => true } });
    await handle.done;
    const xml = junitXml(plain.state);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ tests: '40', failures: '3', errors: '5', skipped: '0' });
    const cases = suite.testcase as Array<Record<string, unknown>>;
    expect(cases).toHaveLength(40);
    const byName = new Map(cases.map((c) => [c.name as string, c]));
    expect(byName.get('web01')).not.toHaveProperty('failure');
    expect(byName.get('web10')).toMatchObject({ failure: { type: 'rolled-back' } });
    expect(byName.get('web11')).toMatchObject({ failure: { type: 'rollback-failed' } });
    expect(byName.get('web03')).toMatchObject({ error: { type: 'unreachable' } });
    expect(byName.get('web01')!.classname).toBe('svcfleet.apply.Svc');
    expect(xml).not.toContain('S3cr3t');
  });

  it('JUnit escapes hostile text and drops characters XML cannot carry', async () => {
    const fleet = new FakeFleet(['a']);
    const handle = startRun({
      mode: 'apply',
      tasks: [{ host: fleet.spec('a'), changes: [CHANGE] }],
      io: fleet.io,
      snapshots: { saveSnapshots: async () => undefined },
    });
    const plain = attachPlain(handle, { out: { write: () => true } });
    await handle.done;
    plain.state.hosts.get('a')!.state = 'failed';
    plain.state.hosts.get('a')!.result = { outcome: 'failed', reason: { code: 'x' }, message: '<a href="x">&\u0001‘’“”]]></a>' };
    const xml = junitXml(plain.state);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    expect(doc.testsuites.testsuite.testcase.failure.message).toBe(
      '&lt;a href=&quot;x&quot;&gt;&amp;‘’“”]]&gt;&lt;/a&gt;'
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    );
  });
});
