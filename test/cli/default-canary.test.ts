/**
 * The safe default canary, through the real CLI (in-process) on the in-memory fake fleet: a run of more than 10
 * hosts with neither --canary nor --batches runs its first host alone first, and says so; --no-canary (or
 * `defaultCanary: false` in the config file), --canary and --batches each turn it off.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCanary } from '../../src/config/strategy.js';
import type { FleetEvent } from '../../src/engine/events.js';
import { FakeFleet } from '../engine/fake-fleet.js';
import { cli } from '../app/fleet/lab-fleet.js';
import { validateStream } from './event-schema.js';

const hostsOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `web${String(i + 1).padStart(2, '0')}`);
let dir: string;
let spec: string;
let journal: string;

function inventory(hosts: string[]): string {
  const inv = join(dir, `inv-${hosts.length}.yaml`);
  writeFileSync(
    inv,
    [
      'kind: svcfleet-inventory',
      'version: 1',
      'defaults: { transport: local }',
      'hosts:',
      ...hosts.map((h) => `  ${h}: { address: 127.0.0.1, local: { stateDir: /nonexistent/${h} } }`),
    ].join('\n'),
  );
  return inv;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'svcfleet-canary-'));
  spec = join(dir, 'spec.yaml');
  writeFileSync(spec, "service: Svc\nset:\n  binaryPath: 'C:\\app\\app.exe --port 2'\n");
  journal = join(dir, 'journal');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function ndjson(
  hosts: string[],
  extra: string[] = [],
  faults: Record<string, { verifyFails: true }> = {},
): Promise<{ events: FleetEvent[]; fleet: FakeFleet }> {
  const fleet = new FakeFleet(hosts, ['Svc'], faults);
  const r = await cli(['apply', spec, '-i', inventory(hosts), '--journal', journal, '--output', 'ndjson', ...extra], fleet.io);
  // Every line matches docs/events.md (canaryDefault included).
  const events = validateStream(r.stdout).events as FleetEvent[];
  return { events, fleet };
}

describe('safe default canary', () => {
  it('more than 10 hosts, no --canary, no --batches: the first host runs alone first, and the header says so', async () => {
    const hosts = hostsOf(12);
    const fleet = new FakeFleet(hosts, ['Svc']);
    const r = await cli(['apply', spec, '-i', inventory(hosts), '--journal', journal, '--output', 'plain'], fleet.io);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain('canary: web01 (default; --no-canary to skip)');
    expect(r.stdout).toMatch(/^canary batch: web01 \(1 host\)$/m);
  });

  it('a failing default canary stops the run before any other host is contacted', async () => {
    const { events, fleet } = await ndjson(hostsOf(12), [], { web01: { verifyFails: true } });
    const start = events.find((e) => e.type === 'run-start');
    expect(start).toMatchObject({ strategy: { canary: ['web01'], canaryDefault: true } });
    expect(fleet.contacted()).toEqual(['web01']);
    expect(events.at(-1)).toMatchObject({ type: 'run-done', exitCode: 3 });
  });

  it('--no-canary, defaultCanary: false, --canary and --batches each turn it off; 10 hosts never get it', async () => {
    const noCanary = await ndjson(hostsOf(12), ['--no-canary']);
    expect(noCanary.events.find((e) => e.type === 'run-start')).toMatchObject({ strategy: { canary: [] } });
    const config = join(dir, 'svcfleet.yaml');
    writeFileSync(config, 'defaultCanary: false\n');
    const fromFile = await ndjson(hostsOf(12), ['--config', config]);
    expect(fromFile.events.find((e) => e.type === 'run-start')).toMatchObject({ strategy: { canary: [] } });
    const chosen = await ndjson(hostsOf(12), ['--canary', 'web05']);
    const s = chosen.events.find((e) => e.type === 'run-start') as Extract<FleetEvent, { type: 'run-start' }>;
    expect(s.strategy.canary).toEqual(['web05']);
    expect(s.strategy.canaryDefault).toBeUndefined();
    const batches = await ndjson(hostsOf(12), ['--batches', '4']);
    expect(batches.events.find((e) => e.type === 'run-start')).toMatchObject({ strategy: { canary: [] } });
    const ten = await ndjson(hostsOf(10));
    expect(ten.events.find((e) => e.type === 'run-start')).toMatchObject({ strategy: { canary: [] } });
  });

  it('the rule itself', () => {
    const all = { kind: 'percent', pct: 100 } as const;
    expect(defaultCanary(hostsOf(11), { canary: [], batches: [all], enabled: true })).toBe('web01');
    expect(defaultCanary(hostsOf(10), { canary: [], batches: [all], enabled: true })).toBeUndefined();
    expect(defaultCanary(hostsOf(11), { canary: [], batches: [all], enabled: false })).toBeUndefined();
    expect(defaultCanary(hostsOf(11), { canary: ['web03'], batches: [all], enabled: true })).toBeUndefined();
    expect(defaultCanary(hostsOf(11), { canary: [], batches: [{ kind: 'count', n: 3 }], enabled: true })).toBeUndefined();
  });
});
