/**
 * Reviewed means applied, on real emulated hosts through the real CLI: `apply PLAN` renders every host's request
 * again from the spec and inventory the plan names and refuses — exit 1, no transport opened, no run journaled,
 * no host touched — an edited plan (naming host and field), a plan whose spec or inventory changed, a plan whose
 * password reference is not the spec's (the file it names is never read), and a plan that is not the pinned one
 * (`--expect-digest`). The plan that was reviewed, unchanged, applies.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDigest, type PlanFile } from '../../src/plan/planfile.js';
import type { Transport } from '../../src/transport/types.js';
import { validateStream } from './event-schema.js';
import { cli, createLabFleet, EXE, labTransport, type LabFleet, writeSpec } from '../app/fleet/lab-fleet.js';

const lab = labTransport(2);
let fleet: LabFleet;
let opened: string[] = [];
/** The lab transport, recording every host it is asked to open. */
const counting: Transport = {
  kind: 'local',
  open: (host, settings, options) => {
    opened.push(host);
    return lab.transport.open(host, settings, options);
  },
};
let spec: string;
let planFile: string;
let short: string;

const SPEC = `service: AppSvc
set:
  binaryPath: '${EXE} --port {{ app_port }} --workers 7'
verify: { running: true, port: '{{ app_port }}', timeoutSeconds: 8 }
`;

const runs = (): string[] => (existsSync(join(fleet.journal, 'runs')) ? readdirSync(join(fleet.journal, 'runs')) : []);
const readPlan = (): PlanFile => JSON.parse(readFileSync(planFile, 'utf8')) as PlanFile;
/** The plan's entry for the host's service. */
const entry = (p: PlanFile, host: string) => p.hosts.find((h) => h.host === host)!.services[0]!;

/** Write an edited copy of the plan; `resign` writes the digest an editor could compute, as an attacker would. */
function edited(name: string, edit: (p: PlanFile) => void, resign = true): string {
  const p = readPlan();
  edit(p);
  if (resign) p.digest = planDigest(p);
  const file = join(fleet.dir, name);
  writeFileSync(file, JSON.stringify(p, null, 2));
  return file;
}

async function refused(args: string[], message: RegExp): Promise<string> {
  const before = fleet.names.map((n) => fleet.raw(n));
  const journaled = runs();
  opened = [];
  const r = await cli([...args, '--journal', fleet.journal, '--output', 'plain'], counting);
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(opened, 'a host was contacted').toEqual([]);
  expect(runs(), 'a run was journaled').toEqual(journaled);
  expect(fleet.names.map((n) => fleet.raw(n))).toEqual(before);
  return r.stderr;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcfleet-planbind-'));
  fleet = await createLabFleet({ dir, count: 3 });
  spec = writeSpec(dir, 'workers.yaml', SPEC);
  planFile = join(dir, 'plan.json');
  const p = await cli(['plan', spec, '-i', fleet.inventory, '--journal', fleet.journal, '--output', 'plain', '-o', planFile], counting);
  expect(p.code, p.stdout + p.stderr).toBe(0);
  expect(p.stdout).toMatch(/3 hosts to change/);
  short = /plan digest ([0-9a-f]{12})\b/.exec(p.stdout)![1]!;
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  await lab.runner.close();
  if (fleet) rmSync(fleet.dir, { recursive: true, force: true });
});

describe('apply PLAN is bound to what produced it', () => {
  it('plan prints the short digest of the plan it saved, which stores the full one', () => {
    const p = readPlan();
    expect(p.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(p.digest.startsWith(short)).toBe(true);
    expect(planDigest(p)).toBe(p.digest);
  });

  it('refuses a plan whose request was edited, naming host and field, even with a digest written to match', async () => {
    const edit = (p: PlanFile): void => {
      entry(p, 'lab03').request.desired!.binaryPath = 'C:\\evil\\payload.exe';
    };
    await refused(['apply', edited('edited.json', edit, false)], /lab03: binaryPath differs from the plan/);
    await refused(['apply', edited('resigned.json', edit)], /lab03: binaryPath differs from the plan/);
  });

  it("refuses a plan whose passwordRef is not the spec's, without reading the file it names", async () => {
    // A directory: reading it as a password file would fail with EISDIR, and say so.
    const stolen = join(fleet.dir, 'controller-secret');
    mkdirSync(stolen);
    const e = await refused(
      [
        'apply',
        edited('password.json', (p) => {
          entry(p, 'lab02').passwordRef = { file: stolen };
          entry(p, 'lab02').request.desired!.account = { name: '.\\svcuser' };
        }),
      ],
      /lab02: .*differs from the plan/,
    );
    expect(e).not.toMatch(/password file|EISDIR/);
    await refused(
      ['apply', edited('password-env.json', (p) => void (entry(p, 'lab02').passwordRef = { env: 'HOME' }))],
      /lab02: passwordRef differs from the plan/,
    );
  });

  it('refuses a plan with other hosts than the inventory selects now, or a non-request edit', async () => {
    await refused(
      ['apply', edited('fewer.json', (p) => void (p.hosts = p.hosts.filter((h) => h.host !== 'lab03')))],
      /selects hosts the plan does not have: lab03/,
    );
    await refused(['apply', edited('limit.json', (p) => void (p.inventory.limit = 'lab01:lab02'))], /no longer selects hosts of the plan: lab03/);
    await refused(['apply', edited('diff.json', (p) => void (entry(p, 'lab01').diff![0]!.after = 'looks harmless'), false)], /plan file was edited/);
  });

  it('refuses a plan whose spec or inventory changed since it was made', async () => {
    const inv = readFileSync(fleet.inventory, 'utf8');
    try {
      writeFileSync(spec, `${SPEC}# reviewed? no\n`);
      await refused(['apply', planFile], /spec changed since the plan was made/);
      writeFileSync(spec, SPEC);
      writeFileSync(fleet.inventory, inv.replace(/(lab02: \{.*vars: \{ app_port: \d+)/, '$1, extra: 1'));
      await refused(['apply', planFile], /lab02: the inventory variables or groups differ from the plan/);
      writeFileSync(fleet.inventory, inv.replace(/(lab01: \{.*address: )127\.0\.0\.1/, '$1127.0.0.2'));
      await refused(['apply', planFile], /lab01: the inventory connection settings .* differ from the plan/);
      writeFileSync(fleet.inventory, `${inv}  lab04: { address: 127.0.0.1, local: { stateDir: /nonexistent } }\n`);
      await refused(['apply', planFile], /selects hosts the plan does not have: lab04/);
    } finally {
      writeFileSync(spec, SPEC);
      writeFileSync(fleet.inventory, inv);
    }
  });

  it('--expect-digest refuses any other plan, and a spec', async () => {
    await refused(['apply', planFile, '--expect-digest', '000000000000'], /not the expected 000000000000/);
    // Another full digest: the plan's own with its last digit changed (appending a fixed digit would be the plan's
    // own digest whenever it ends in that digit: one run in sixteen).
    const digest = readPlan().digest;
    await refused(['apply', planFile, '--expect-digest', `${digest.slice(0, 63)}${digest.endsWith('0') ? '1' : '0'}`], /not the expected/);
    await refused(['apply', planFile, '--expect-digest', 'abc'], /12 or 64 hex digits/);
    await refused(['apply', spec, '-i', fleet.inventory, '--expect-digest', short], /--expect-digest pins a saved plan/);
  });

  it('applies the reviewed plan, pinned by its short digest (in any case), with the digest in run-start', async () => {
    opened = [];
    const r = await cli(['apply', planFile, '--expect-digest', short.toUpperCase(), '--journal', fleet.journal, '--output', 'ndjson'], counting);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const { events, lastOutcome } = validateStream(r.stdout);
    expect(events.find((e) => e.type === 'run-start')).toMatchObject({ planDigest: readPlan().digest });
    expect(Object.fromEntries(lastOutcome)).toEqual({ lab01: 'changed', lab02: 'changed', lab03: 'changed' });
    expect(new Set(opened)).toEqual(new Set(fleet.names));
    for (const n of fleet.names) expect(fleet.binaryPath(n)).toContain('--workers 7');
  }, 120_000);
});
