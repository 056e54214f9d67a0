/**
 * `svcfleet selftest` against emulated hosts (src/lab): every implemented scenario passes, JUnit is written, and
 * the host is left as found (checked here independently, from the emulated host's own state: its services and the
 * files of its file system). A broken engine (a deliberately wrong write, built from the real parts) fails it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionTransports } from '../../../src/main.js';
import { runSelftest, selftest, HOST_AS_FOUND, type SelftestReport } from '../../../src/app/selftest.js';
import { runHostScript, type ReadAnswer } from '../../../src/app/selftest/host-script.js';
import { selftestJunitXml } from '../../../src/app/selftest/junit.js';
import { SCENARIOS } from '../../../src/app/selftest/scenarios.js';
import { readLabHost, initLabHost, stopLabHost, type LabServiceSpec } from '../../../src/lab/host.js';
import { createLocalTransport } from '../../../src/lab/transport/index.js';
import type { LabRunner } from '../../../src/lab/runner/index.js';
import { assembleTexts, engineParts } from '../../../src/remote/engine-parts.js';
import { psScriptsDir } from '../../../src/remote/scripts.js';
import type { Session } from '../../../src/transport/types.js';
import { freePort, pool } from '../../ps-scripts/lab-rig.js';

let runner: LabRunner;

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) {
        out.push(`${relative(root, p)}/`);
        walk(p);
      } else out.push(`${relative(root, p)} ${statSync(p).size}`);
    }
  };
  walk(root);
  return out.sort();
}

/** The emulated host as a test sees it: service names (with their config) and its file system. */
function hostView(stateDir: string) {
  const st = readLabHost(stateDir);
  const services = Object.fromEntries(
    Object.entries(st.services).map(([k, s]) => [k, { binaryPath: s.binaryPath, startType: s.startType, account: s.account, state: s.status.state }]),
  );
  // The local users with their rights, and what the rights policy still holds for deleted ones.
  return {
    services,
    installed: [...st.installedFiles].sort(),
    files: files(join(stateDir, 'fs')),
    accounts: st.accounts,
    orphans: st.logonRightOrphans ?? [],
  };
}

/** The engine with `good` replaced by `bad` (it must be there), built from the real parts. */
function brokenEngine(edits: Array<[good: string, bad: string]>): string {
  const dir = join(psScriptsDir(), 'engine');
  const parts = engineParts(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
  for (const [good, bad] of edits) {
    const i = parts.findIndex((p) => p.includes(good));
    expect(i, good).toBeGreaterThanOrEqual(0);
    parts[i] = parts[i]!.replace(good, bad);
  }
  return assembleTexts(parts);
}

async function labHost(extra: LabServiceSpec[] = []): Promise<{ stateDir: string; session: Session; close(): Promise<void> }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'svcfleet-selftest-'));
  const other = await freePort();
  // A service of the user's that the selftest must leave alone, and a user account of theirs (with the right).
  await initLabHost({
    stateDir,
    services: [{ name: 'UserApp', binaryPath: `"C:\\Program Files\\App\\app.exe" --port ${other}` }, ...extra],
    accounts: { '.\\appuser': 'app-pw' },
  });
  const transport = createLocalTransport({ labRunner: runner });
  const session = await transport.open(
    'lab',
    { transport: 'local', address: '127.0.0.1', local: { stateDir } },
    { deadlines: { connectMs: 5000, authMs: 5000, commandMs: 300_000 } },
  );
  return {
    stateDir,
    session,
    close: async () => {
      await session.close();
      await stopLabHost(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

beforeAll(async () => {
  runner = pool('Legacy', 2);
  await runner.warm();
}, 120_000);

afterAll(async () => {
  await runner?.close();
});

// The whole scenario list takes ~3 min in a suite on its own and exceeded 10 min with a second copy of the suite on
// the same 2 cores (load ~50): the timeout only catches a hang, so it allows for that.
describe.concurrent('svcfleet selftest on a lab host', { timeout: 1_500_000 }, () => {
  // The reader must show ImagePath as stored: the registry provider (Get-ItemProperty) returns REG_EXPAND_SZ
  // expanded, so a literal %SystemRoot% written through the SCM would read back as C:\Windows and the awkward-values
  // scenario would blame the engine (docs/reference/powershell.md "Registry provider and REG_EXPAND_SZ").
  it('the host reader returns the registry ImagePath raw, %VAR% not expanded', async () => {
    const raw = `"C:\\Program Files\\App\\app.exe" --port ${await freePort()} --config "%SystemRoot%\\x y.cfg"`;
    // Registered, never started: the config file it names does not exist.
    const h = await labHost([{ name: 'RawPath', binaryPath: raw, start: false }]);
    try {
      const read = await runHostScript<ReadAnswer>(h.session, { op: 'read', name: 'RawPath' }, 120_000);
      expect(read.imagePath).toBe(raw);
    } finally {
      await h.close();
    }
  });

  it('passes every scenario, writes JUnit, leaves the host as found (services, files, users, the logon right)', async () => {
    const h = await labHost();
    try {
      const before = hostView(h.stateDir);
      const lines: string[] = [];
      const report = await runSelftest({ session: h.session, host: 'lab', port: await freePort(), otherPort: await freePort(), log: (l) => lines.push(l) });
      const failed = report.cases.filter((c) => c.status === 'failed');
      expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.program).toBe('lab-svcprogram');
      // Every scenario is reported, in order, then the host check.
      expect(report.cases.map((c) => c.name)).toEqual([...SCENARIOS.map((s) => s.name), HOST_AS_FOUND]);
      const passed = report.cases.filter((c) => c.status === 'passed').map((c) => c.name);
      const implemented = [
        'field round-trip with awkward values',
        'every start-type transition',
        'failure actions incl. NONE and reboot (written, read back, never fired)',
        'environment',
        'a change the program rejects (exit 2) -> automatic rollback',
        'a crash after start -> automatic rollback',
        'account matrix (built-in accounts)',
        'account matrix (virtual account)',
        'account matrix (local user with and without the logon right)',
        'stuck STOP_PENDING on a dedicated process',
        'shared-process guard',
        'running dependents',
        'backup folder guard',
        HOST_AS_FOUND,
      ];
      expect(passed).toEqual(implemented);
      expect(report.cases.filter((x) => x.status === 'not-run')).toEqual([]);
      // Checked here, not by the selftest's own census: same services (same config and state), same files.
      expect(hostView(h.stateDir)).toEqual(before);
      expect(readLabHost(h.stateDir).services[report.service]).toBeUndefined();

      const xml = selftestJunitXml(report);
      expect(xml).toContain(`<testcase name="every start-type transition" classname="svcfleet.selftest.lab"`);
      expect(xml).not.toContain('<skipped');
      expect(xml.split('<failure ').length - 1).toBe(failed.length);
      expect(lines.some((l) => l.includes('field round-trip with awkward values: passed'))).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('fails with an engine that writes the description wrong, and still leaves the host as found', async () => {
    const dir = join(psScriptsDir(), 'engine');
    const parts = engineParts(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    const good = "Invoke-ScChecked @('description', $Name, [string]$To.description) 'description' $Phase";
    const i = parts.findIndex((p) => p.includes(good));
    expect(i, 'the description write of the engine').toBeGreaterThanOrEqual(0);
    parts[i] = parts[i]!.replace(good, "Invoke-ScChecked @('description', $Name, ([string]$To.description).Replace('%', '')) 'description' $Phase");
    const broken = assembleTexts(parts);

    const h = await labHost();
    try {
      const before = hostView(h.stateDir);
      const only = SCENARIOS.filter((s) => s.name === 'field round-trip with awkward values');
      const report: SelftestReport = await runSelftest({ session: h.session, host: 'lab', port: await freePort(), engineScript: broken, scenarios: only });
      expect(report.ok).toBe(false);
      const field = report.cases.find((c) => c.name === 'field round-trip with awkward values')!;
      expect(field.status).toBe('failed');
      expect(report.cases.find((c) => c.name === HOST_AS_FOUND)?.status).toBe('passed');
      expect(hostView(h.stateDir)).toEqual(before);
      expect(selftestJunitXml(report)).toContain('<failure type="selftest"');
    } finally {
      await h.close();
    }
  });

  it('fails with an engine whose rollback ignores running dependents (1051), and still leaves the host as found', async () => {
    const dir = join(psScriptsDir(), 'engine');
    const parts = engineParts(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    const good = "($target.state -eq 'stopped' -or $null -eq $target.pid)) { $deps = @(Get-RunningDependents $Ctx.Service) }";
    const i = parts.findIndex((p) => p.includes(good));
    expect(i, 'the running-dependents check of the rollback operation').toBeGreaterThanOrEqual(0);
    parts[i] = parts[i]!.replace(good, '$false) { }');
    const broken = assembleTexts(parts);

    const h = await labHost();
    try {
      const before = hostView(h.stateDir);
      const only = SCENARIOS.filter((s) => s.name === 'running dependents');
      const report = await runSelftest({
        session: h.session,
        host: 'lab',
        port: await freePort(),
        otherPort: await freePort(),
        engineScript: broken,
        scenarios: only,
      });
      expect(report.ok).toBe(false);
      const deps = report.cases.find((c) => c.name === 'running dependents')!;
      expect(deps.status).toBe('failed');
      expect(deps.message).toMatch(/rollback with dependents: stop-and-restart: the engine reports changed.*1051/);
      expect(report.cases.find((c) => c.name === HOST_AS_FOUND)?.status, JSON.stringify(report.cases.at(-1))).toBe('passed');
      expect(hostView(h.stateDir)).toEqual(before);
    } finally {
      await h.close();
    }
  });

  it('fails with an engine that writes an account lacking the logon right, and still leaves the host as found', async () => {
    // No logon check before the write (the engine before it had one): with restart: never nothing starts to reveal
    // that the account cannot log on, and apply reports changed.
    const broken = brokenEngine([["$logon = Assert-AccountCanLogOn $snap.config $t ($Op -eq 'plan')", '$logon = $null']]);
    const h = await labHost();
    try {
      const before = hostView(h.stateDir);
      const only = SCENARIOS.filter((s) => s.name === 'account matrix (local user with and without the logon right)');
      const report = await runSelftest({ session: h.session, host: 'lab', port: await freePort(), engineScript: broken, scenarios: only });
      expect(report.ok).toBe(false);
      const acct = report.cases.find((c) => c.name === only[0]!.name)!;
      expect(acct.status).toBe('failed');
      expect(acct.message).toMatch(/restart: never: apply does not report changed/);
      expect(report.cases.find((c) => c.name === HOST_AS_FOUND)?.status, JSON.stringify(report.cases.at(-1))).toBe('passed');
      expect(hostView(h.stateDir)).toEqual(before);
    } finally {
      await h.close();
    }
  });

  it('fails with an engine that treats a shared process as its own (PID gate, kill), and still leaves the host as found', async () => {
    const broken = brokenEngine([
      ['$why = @(Get-ProcessSharing $Name $verifiedPid)', '$why = @()'],
      ['$why = @(Get-ProcessSharing $Name $ProcessId)', '$why = @()'],
    ]);
    const h = await labHost();
    try {
      const before = hostView(h.stateDir);
      const only = SCENARIOS.filter((s) => s.name === 'shared-process guard');
      const report = await runSelftest({
        session: h.session,
        host: 'lab',
        port: await freePort(),
        otherPort: await freePort(),
        engineScript: broken,
        scenarios: only,
      });
      expect(report.ok).toBe(false);
      const shared = report.cases.find((c) => c.name === 'shared-process guard')!;
      expect(shared.status).toBe('failed');
      expect(shared.message).toMatch(/a restarting change to \S+-sb: the engine reports changed.*verify-pid/);
      expect(shared.message).toMatch(/reason kill-refused/);
      expect(report.cases.find((c) => c.name === HOST_AS_FOUND)?.status, JSON.stringify(report.cases.at(-1))).toBe('passed');
      expect(hostView(h.stateDir)).toEqual(before);
    } finally {
      await h.close();
    }
  });

  it('the command: one host from an inventory, plain lines, JUnit written, exit 0 when nothing failed', async () => {
    const h = await labHost();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'svcfleet-selftest-cli-'));
      const inventory = join(dir, 'hosts.yml');
      writeFileSync(
        inventory,
        [
          'kind: svcfleet-inventory',
          'version: 1',
          'hosts:',
          '  lab01:',
          '    address: 127.0.0.1',
          '    transport: local',
          `    local: { stateDir: ${JSON.stringify(h.stateDir)} }`,
          '',
        ].join('\n'),
      );
      const before = hostView(h.stateDir);
      const out: string[] = [];
      const { exitCode: code } = await selftest(
        {
          inventory: [inventory],
          limit: 'lab01',
          junit: 'selftest.xml',
          out: (l) => out.push(l),
          scenarios: SCENARIOS.filter((s) => s.name === 'environment' || s.name.startsWith('account matrix (local user')),
          port: await freePort(),
        },
        {
          cwd: dir,
          env: { ...process.env, SVCFLEET_LAB_RUNNER: 'pool' },
          transports: productionTransports({ ...process.env, SVCFLEET_LAB_RUNNER: 'pool' }),
          warn: (w) => out.push(w),
        },
      );
      expect(code, out.join('\n')).toBe(0);
      expect(out.at(-1)).toBe('selftest lab01: 3 passed, 0 failed, 0 not run');
      const xml = readFileSync(join(dir, 'selftest.xml'), 'utf8');
      expect(xml).toContain('<testsuite name="svcfleet.selftest.lab01" tests="3" failures="0" errors="0" skipped="0"');
      expect(xml).toContain('<testcase name="environment"');
      expect(hostView(h.stateDir)).toEqual(before);
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await h.close();
    }
  });
});
