/**
 * Failures group by the shape of their message: identical failures that differ only in PIDs, ports, URLs, run
 * ids, temp paths, GUIDs or hashes are one group. The messages are the ones the engine and the controller write
 * (ps-scripts/engine/50-verify.ps1, src/engine/host-flow.ts, the transports), as seen on lab runs.
 */
import { describe, expect, it } from 'vitest';
import { failureShape } from '../../src/state/failure-shape.js';
import { reduceEvents } from '../../src/state/run-state.js';
import { errorGroups, outcomeGroups } from '../../src/state/queries.js';
import type { FleetEvent } from '../../src/engine/events.js';

const same: Array<[string, string]> = [
  [
    'AppSvc: the service did not stay up for 3 s: now stopped (no process; PID 41234 when it was verified)',
    'AppSvc: the service did not stay up for 3 s: now stopped (no process; PID 977 when it was verified)',
  ],
  ['AppSvc: nothing accepts TCP connections on localhost port 40123', 'AppSvc: nothing accepts TCP connections on localhost port 40777'],
  ['AppSvc: GET http://127.0.0.1:40123/health answered 500, expected 200', 'AppSvc: GET http://127.0.0.1:41999/health answered 500, expected 200'],
  ['connect ECONNREFUSED 127.0.0.1:40123; nothing changed', 'connect ECONNREFUSED 127.0.0.1:39001; nothing changed'],
  [
    'connection lost after the apply request was sent (socket hang up); the before-snapshot is journaled: run `svcfleet resume 20261204T221000Z-ab12` or `svcfleet rollback 20261204T221000Z-ab12`',
    'connection lost after the apply request was sent (socket hang up); the before-snapshot is journaled: run `svcfleet resume 20261204T221502Z-09fe` or `svcfleet rollback 20261204T221502Z-09fe`',
  ],
  [
    'AppSvc: configuration changed since the plan (hash 0123456789ab → ba9876543210); left alone',
    'AppSvc: configuration changed since the plan (hash 1111aaaa2222 → 3333bbbb4444); left alone',
  ],
  [
    'AppSvc: cannot write the backup C:\\Windows\\Temp\\svcfleet-8f3a\\AppSvc.json: access denied',
    'AppSvc: cannot write the backup C:\\Windows\\Temp\\svcfleet-01bc\\AppSvc.json: access denied',
  ],
  ['lab host state /tmp/svcfleet-run-GwcavP/lab07/host.json is locked', 'lab host state /tmp/svcfleet-run-Zk31aa/lab12/host.json is locked'],
  [
    'AppSvc: COM object {3f2504e0-4f89-11d3-9a0c-0305e82c3301} failed at 2026-12-04T22:10:05.123Z',
    'AppSvc: COM object {6b29fc40-ca47-1067-b31d-00dd010662da} failed at 2026-12-04T22:11:45.900Z',
  ],
];

const different: Array<[string, string]> = [
  ['AppSvc: nothing accepts TCP connections on localhost port 40123', 'AppSvc: the service is stopped, not RUNNING'],
  [
    'AppSvc: the service stopped while starting (exit code 1067, service exit code 2)',
    'AppSvc: the service stopped while starting (exit code 1067, service exit code 1)',
  ],
  ['OtherSvc: nothing accepts TCP connections on localhost port 40123', 'AppSvc: nothing accepts TCP connections on localhost port 40123'],
];

describe('failure shapes', () => {
  it.each(same)('one shape: %s', (a, b) => {
    expect(failureShape(a)).toBe(failureShape(b));
  });

  it.each(different)('different failures stay apart: %s', (a, b) => {
    expect(failureShape(a)).not.toBe(failureShape(b));
  });

  it('groups hosts whose messages differ only in PIDs and ports, and shows one host exact message', () => {
    let seq = 0;
    const at = '2026-12-04T22:00:00.000Z';
    const ev = (body: Record<string, unknown>) => ({ runId: 'r1', seq: seq++, at, ...body }) as FleetEvent;
    const done = (host: string, message: string) =>
      ev({ type: 'host-done', host, outcome: 'rolled-back', reason: { code: 'verify-settle' }, message, attempts: 1, timings: { endedAt: at, ms: 1 } });
    const events = [
      ev({
        type: 'run-start',
        mode: 'apply',
        services: ['AppSvc'],
        hosts: ['web1', 'web2', 'web3'],
        strategy: { concurrency: 3, canary: [], batches: [3], failureBudget: 3 },
      }),
      done('web1', same[0]![0]),
      done('web2', same[0]![1]),
      done('web3', 'AppSvc: the service did not stay up for 3 s: now running (PID 5; PID 4 when it was verified)'),
    ];
    const s = reduceEvents(events);
    const groups = errorGroups(s);
    expect(groups.map((g) => g.hosts)).toEqual([['web1', 'web2'], ['web3']]);
    expect(groups[0]!.error.message).toBe(same[0]![0]);
    expect(outcomeGroups(s).map((g) => g.count)).toEqual([2, 1]);
  });
});
