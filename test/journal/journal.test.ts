import { mkdtempSync, readFileSync, readdirSync, appendFileSync, writeFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppendLog, decodeLines, encodeLine, readLog } from '../../src/journal/log.js';
import { defaultJournalRoot } from '../../src/config/journal-root.js';
import { Journal, type JournalRecord } from '../../src/journal/store.js';
import { scrubSecrets } from '../../src/engine/scrub.js';
import { startRun } from '../../src/engine/run.js';
import { newRunId } from '../../src/engine/run-id.js';
import { Secret } from '../../src/util/secret.js';
import { InputError } from '../../src/util/errors.js';
import { CHANGE, FakeFleet } from '../engine/fake-fleet.js';

const temps: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-journal-'));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('journal log: checksummed lines', () => {
  it('reads back what was appended, and ignores a torn last line (kill -9 mid-write)', async () => {
    const path = join(tmp(), 'j.ndjson');
    const log = await AppendLog.open(path);
    for (let i = 0; i < 100; i++) log.append({ i, text: 'ünïcödé ‘quoted’' });
    await log.close();
    const whole = readFileSync(path, 'utf8');
    // A crash can cut the last write anywhere.
    const torn = whole + encodeLine({ i: 100 }).slice(0, 17);
    writeFileSync(path, torn);
    const back = await readLog<{ i: number }>(path);
    expect(back.records.map((r) => r.i)).toEqual([...Array(100).keys()]);
    expect(back.tornTail).toBe(true);
    expect(back.damaged).toBe(0);
    // Appending after the crash starts on a fresh line: the torn record becomes one damaged line, never a merge.
    const again = await AppendLog.open(path);
    again.append({ i: 101 });
    await again.close();
    const after = await readLog<{ i: number }>(path);
    expect(after.records.map((r) => r.i).slice(-1)).toEqual([101]);
    expect(after.damaged).toBe(1);
    expect(after.tornTail).toBe(false);
  });

  it('writes a wrapped record byte for byte as encodeLine writes the whole record', async () => {
    const path = join(tmp(), 'j.ndjson');
    const log = await AppendLog.open(path);
    const e = { type: 'host-log', host: 'wëb01', text: 'ünïcödé ‘quoted’ \u2028 😀', n: 1 };
    log.appendWrapped('{"r":"event","e":', () => JSON.stringify(e), '}');
    log.append({ r: 'snapshot', host: 'wëb01' });
    // Bigger than the first buffer: it grows and keeps what it had.
    log.appendWrapped('{"r":"event","e":', () => JSON.stringify({ ...e, pad: 'é'.repeat(70_000) }), '}');
    await log.close();
    expect(readFileSync(path, 'utf8')).toBe(
      encodeLine({ r: 'event', e }) + encodeLine({ r: 'snapshot', host: 'wëb01' }) + encodeLine({ r: 'event', e: { ...e, pad: 'é'.repeat(70_000) } }),
    );
  });

  it('detects a flipped byte in the middle', () => {
    const a = encodeLine({ host: 'web01', outcome: 'changed' });
    const b = encodeLine({ host: 'web02', outcome: 'failed' }).replace('failed', 'faile8');
    const c = encodeLine({ host: 'web03', outcome: 'changed' });
    const r = decodeLines<{ host: string }>(a + b + c);
    expect(r.records.map((x) => x.host)).toEqual(['web01', 'web03']);
    expect(r.damaged).toBe(1);
  });

  it('group-commits concurrent syncs and keeps append order', async () => {
    const path = join(tmp(), 'j.ndjson');
    const log = await AppendLog.open(path);
    const syncs: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      log.append({ i });
      syncs.push(log.sync());
    }
    await Promise.all(syncs);
    // Everything a resolved sync covered is on disk (read without closing).
    const back = await readLog<{ i: number }>(path);
    expect(back.records.map((r) => r.i)).toEqual([...Array(200).keys()]);
    await log.close();
  });

  it('propagates a write failure to sync callers', async () => {
    const dir = tmp();
    const log = await AppendLog.open(join(dir, 'j.ndjson'));
    log.append({ ok: 1 });
    await log.close();
    expect(() => log.append({ x: 1 })).toThrow(/closed/);
  });
});

describe('journal store', () => {
  it('defaults to the XDG state directory', () => {
    expect(defaultJournalRoot({ XDG_STATE_HOME: '/var/lib/x' })).toBe('/var/lib/x/svcfleet');
    expect(defaultJournalRoot({})).toMatch(/\.local\/state\/svcfleet$/);
    // A relative XDG_STATE_HOME is invalid per the XDG spec and ignored.
    expect(defaultJournalRoot({ XDG_STATE_HOME: 'rel' })).toMatch(/\.local\/state\/svcfleet$/);
  });

  it('records a run: manifest, hosts, spec, events and synced snapshots; never a secret', async () => {
    const root = tmp();
    const journal = new Journal(root);
    const hosts = ['web01', 'web02', 'web03'];
    const fleet = new FakeFleet(hosts);
    const runId = newRunId();
    const password = 'Pa55-‘hunter2’-w0rd';
    const change = { ...CHANGE, desired: { ...CHANGE.desired, account: { name: 'CORP\\svc', password } } };
    const writer = await journal.createRun({
      runId,
      mode: 'apply',
      spec: { service: 'Svc', set: { account: { name: 'CORP\\svc', password: { env: 'SVC_PW' } } }, note: { password } },
      hosts: hosts.map((h) => ({
        name: h,
        groups: ['web'],
        vars: { ansible_password: password, site: 'ams' },
        connection: { transport: 'winrm', address: '127.0.0.1', password: new Secret(password) },
        changes: [change],
      })),
      specFile: 'spec.yaml',
    });
    const handle = startRun({ runId, mode: 'apply', tasks: hosts.map((h) => ({ host: fleet.spec(h), changes: [change] })), io: fleet.io, snapshots: writer });
    writer.attach(handle);
    const done = await handle.done;
    await writer.finish(done);

    const rec = await journal.readRun(runId);
    expect(rec.manifest).toMatchObject({ runId, status: 'done', mode: 'apply', exitCode: 0, hostCount: 3, counts: { changed: 3 } });
    expect(rec.interrupted).toBe(false);
    expect(rec.events.at(-1)!.type).toBe('run-done');
    expect(rec.events.map((e) => e.seq)).toEqual(rec.events.map((_, i) => i + 1));
    expect([...rec.snapshots.keys()].sort()).toEqual(hosts);
    expect(rec.snapshots.get('web01')!.get('Svc')!.config.binaryPath).toBe('C:\\app\\app.exe --port 1');
    expect(rec.hosts.map((h) => h.name)).toEqual(hosts);
    expect(rec.hosts[0]!.vars.site).toBe('ams');
    // The env reference is kept (it says where the secret comes from); no secret value anywhere.
    expect(JSON.stringify(rec.spec)).toContain('SVC_PW');
    for (const f of readdirSync(join(root, 'runs', runId))) {
      const text = readFileSync(join(root, 'runs', runId, f), 'utf8');
      expect(text, f).not.toContain('hunter2');
    }
    // Files are private to the user.
    expect(statSync(join(root, 'runs', runId, 'journal.ndjson')).mode & 0o077).toBe(0);

    const listed = await journal.listRuns();
    expect(listed.map((m) => m.runId)).toEqual([runId]);
  });

  it('a run whose controller died reads back as interrupted, with its snapshots', async () => {
    const root = tmp();
    const journal = new Journal(root);
    const runId = newRunId();
    const writer = await journal.createRun({ runId, mode: 'apply', hosts: [] });
    await writer.saveSnapshots('web01', [
      { service: 'Svc', snapshot: { config: {} as never, configHash: 'h1', state: 'running', pid: 1, takenAt: '', findings: [] } },
    ]);
    // Simulate kill -9: no finish(); the manifest names a pid that is gone.
    const mpath = join(root, 'runs', runId, 'manifest.json');
    const m = JSON.parse(readFileSync(mpath, 'utf8'));
    writeFileSync(mpath, JSON.stringify({ ...m, pid: 2 ** 22 + 12345 }));
    appendFileSync(join(root, 'runs', runId, 'journal.ndjson'), '0000');
    const rec = await journal.readRun(runId);
    expect(rec.interrupted).toBe(true);
    expect(rec.tornTail).toBe(true);
    expect(rec.snapshots.get('web01')!.get('Svc')!.configHash).toBe('h1');
    const { writer: w2, record } = await journal.reopenRun(runId);
    expect(record.lastSeq).toBe(0);
    await w2.close();
    const m2 = JSON.parse(readFileSync(mpath, 'utf8'));
    expect(m2.segments).toBe(2);
  });

  it('names a bad or missing run id clearly', async () => {
    const journal = new Journal(tmp());
    await expect(journal.readRun('../../etc')).rejects.toThrow(InputError);
    await expect(journal.readRun('20260101T000000Z-abcd')).rejects.toThrow(/no run 20260101T000000Z-abcd/);
  });

  it('keeps the first snapshot per host and service (what rollback restores)', async () => {
    const root = tmp();
    const journal = new Journal(root);
    const runId = newRunId();
    const writer = await journal.createRun({ runId, mode: 'apply', hosts: [] });
    const snap = (h: string): JournalRecord & { r: 'snapshot' } => ({
      r: 'snapshot',
      host: 'web01',
      service: 'Svc',
      at: '',
      snapshot: { config: {} as never, configHash: h, state: 'running', pid: 1, takenAt: '', findings: [] },
    });
    await writer.saveSnapshots('web01', [{ service: 'Svc', snapshot: snap('first').snapshot }]);
    await writer.saveSnapshots('web01', [{ service: 'Svc', snapshot: snap('retry').snapshot }]);
    await writer.close();
    const rec = await journal.readRun(runId);
    expect(rec.snapshots.get('web01')!.get('Svc')!.configHash).toBe('first');
  });
});

describe('scrubSecrets', () => {
  it('redacts secret-named fields and Secret values, keeps references', () => {
    const out = scrubSecrets({
      a: new Secret('x'),
      password: 'p',
      account: { name: 'n', password: 'p2' },
      pw: { env: 'PW' },
      ansible_password: { env: 'X' },
      list: [{ passphrase: 'pp' }],
      token: null,
    });
    expect(out).toEqual({
      a: '[REDACTED]',
      password: '[REDACTED]',
      account: { name: 'n', password: '[REDACTED]' },
      pw: { env: 'PW' },
      ansible_password: { env: 'X' },
      list: [{ passphrase: '[REDACTED]' }],
      token: null,
    });
  });
});

describe('journal: a run’s inputs (inputs.json)', () => {
  const rollout = {
    concurrency: 1,
    handshakeConcurrency: 8,
    failureBudget: { kind: 'count' as const, n: 10 },
    canary: ['1'],
    canaryHosts: ['web01'],
    batches: [{ kind: 'percent' as const, pct: 100 }],
    unreachableCountsAsFailure: false,
    rollbackBatchOnBudget: false,
    onFailure: 'continue' as const,
    retries: { count: 2, backoffMs: 1000, maxBackoffMs: 10_000 },
    deadlines: { connectMs: 10_000, authMs: 10_000, commandMs: 300_000, hostMs: 0 },
  };

  it('are written with the run, before its manifest, and read back; a secret slipped in is scrubbed', async () => {
    const j = new Journal(tmp());
    const runId = newRunId();
    const w = await j.createRun({
      runId,
      mode: 'apply',
      hosts: [{ name: 'web01', groups: [], vars: {}, connection: {} }],
      inputs: {
        format: 'svcfleet-run-inputs',
        version: 1,
        source: { kind: 'spec', file: '/x/spec.yaml', digest: 'a'.repeat(64) },
        selection: { hosts: ['web01'], inventory: ['/x/inv.yaml'] },
        rollout,
        requests: { web01: [{ service: 'Svc', desired: { account: { name: 'svc', password: new Secret('leaked-7') } }, passwordRef: { env: 'PW' } }] },
      },
    });
    await w.close();
    const text = readFileSync(join(j.runDir(runId), 'inputs.json'), 'utf8');
    expect(text).not.toContain('leaked-7');
    const back = await j.readRun(runId);
    expect(back.inputs).toMatchObject({ rollout, selection: { hosts: ['web01'] }, requests: { web01: [{ passwordRef: { env: 'PW' } }] } });
    expect(back.inputsDamaged).toBeUndefined();
  });

  it('a run without them (an older journal) reads back without; a damaged file is flagged, not thrown', async () => {
    const j = new Journal(tmp());
    const runId = newRunId();
    await (await j.createRun({ runId, mode: 'apply', hosts: [] })).close();
    const back = await j.readRun(runId);
    expect(back.inputs).toBeUndefined();
    expect(back.inputsDamaged).toBeUndefined();
    writeFileSync(join(j.runDir(runId), 'inputs.json'), '{"format":"svcfleet-run-inputs","vers');
    const damaged = await j.readRun(runId);
    expect(damaged.inputs).toBeUndefined();
    expect(damaged.inputsDamaged).toBe(true);
  });
});
