/**
 * `svcfleet selftest`: proves svcfleet on a user's own host, over whatever transport the inventory names, before
 * they trust it with a fleet (docs/selftest.md).
 *
 * 1. census (host.ps1): the host's service names and the files under %ProgramData%\svcfleet, before.
 * 2. create a scratch service `svcfleet-selftest-<id>`, compiled on the host from ps-scripts/selftest/
 *    ScratchService.cs (on the lab: the lab's own service program).
 * 3. every scenario (selftest/scenarios.ts) through the real engine, checked through host.ps1's independent reader.
 * 4. always: stop and delete the scratch service, its backups and its build folder; census again; the host must be
 *    as it was ("host left as found", its own testcase).
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { asciiJson, newNonce, type OutgoingRequest } from '../remote/invocation.js';
import { PROTOCOL_VERSION, type Operation, type RemoteResult } from '../remote/protocol.js';
import { runRemote } from '../remote/run.js';
import type { Session } from '../transport/types.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fsutil.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import type { AppContext } from './context.js';
import { loadHosts } from './targets.js';
import { runHostScript, selftestFiles, type CensusAnswer, type CreateAnswer, type DeleteAnswer, type ReadAnswer } from './selftest/host-script.js';
import { selftestJunitXml } from './selftest/junit.js';
import { Checks, SCENARIOS, type ApplyFields, type Scenario, type ScenarioContext, type SelftestCase } from './selftest/scenarios.js';

import { HOST_AS_FOUND, type SelftestReport } from './selftest/report.js';

export type { SelftestCase } from './selftest/scenarios.js';
export { HOST_AS_FOUND, type SelftestReport } from './selftest/report.js';

export interface RunSelftestOptions {
  /** An open session to the host (any transport). The caller closes it. */
  session: Session;
  host: string;
  commandMs?: number;
  /** Scratch id (default random); the service is `svcfleet-selftest-<id>`. */
  id?: string;
  /** TCP port of the scratch service on the host's loopback (default random in 41000-48999). */
  port?: number;
  /** TCP port of a second scratch service (running dependents; default port + 1). */
  otherPort?: number;
  /**
   * Replace the engine text sent in each engine call (tests prove a broken engine fails the selftest). The request
   * path is unchanged: runRemote builds the invocation, then only the `script` of its stdin line is swapped.
   */
  engineScript?: string;
  /** Plain progress lines. */
  log?: (line: string) => void;
  scenarios?: readonly Scenario[];
}

function withEngine(session: Session, engineScript: string): Session {
  return {
    exec: (invocation, options) => {
      const line = JSON.parse(invocation.stdin.toString('ascii')) as { native: string; request: unknown };
      const stdin = Buffer.from(`${asciiJson({ script: engineScript, native: line.native, request: line.request })}\n`, 'ascii');
      // A new invocation, not a spread: `stdinParts` of the old one would still say the old bytes.
      return session.exec({ encodedCommand: invocation.encodedCommand, stdin }, options);
    },
    close: () => session.close(),
  };
}

function diffList(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const b = new Set(before.map((s) => s.toLowerCase()));
  const a = new Set(after.map((s) => s.toLowerCase()));
  return { added: after.filter((s) => !b.has(s.toLowerCase())), removed: before.filter((s) => !a.has(s.toLowerCase())) };
}

export async function runSelftest(options: RunSelftestOptions): Promise<SelftestReport> {
  const { session, host } = options;
  const commandMs = options.commandMs ?? 300_000;
  const id = options.id ?? `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const service = `svcfleet-selftest-${id}`;
  const port = options.port ?? 41000 + (randomBytes(2).readUInt16LE(0) % 8000);
  const otherPort = options.otherPort ?? port + 1;
  const log = options.log ?? (() => undefined);
  const engineSession = options.engineScript ? withEngine(session, options.engineScript) : session;
  const cases: SelftestCase[] = [];
  const report: SelftestReport = { host, service, cases, ok: false };
  let calls = 0;

  const engine = async (op: Operation, fields: Partial<OutgoingRequest>): Promise<RemoteResult> => {
    const request: OutgoingRequest = { v: PROTOCOL_VERSION, op, nonce: newNonce(), runId: `selftest-${id}-${++calls}`, service, ...fields };
    return runRemote(engineSession, request, { host, commandMs });
  };
  const runIds = new WeakMap<RemoteResult, string>();
  /** Second scratch services still on the host, removed before the scratch service (they depend on it). */
  const extra: string[] = [];
  const removeService = async (name: string): Promise<DeleteAnswer> => {
    const del = await runHostScript<DeleteAnswer>(session, { op: 'delete', id, name, remove: [], keepDir: true }, commandMs);
    if (del.ok) extra.splice(extra.indexOf(name), 1);
    return del;
  };

  const before = await runHostScript<CensusAnswer>(session, { op: 'census' }, commandMs);
  if (!before.ok) throw new Error(`${host}: selftest census failed: sc.exe query exited ${before.exit}${before.message ? `: ${before.message}` : ''}`);
  log(`selftest ${host}: ${before.services.length} services, ${before.files.length} svcfleet files before; scratch service ${service} on port ${port}`);

  try {
    const created = await runHostScript<CreateAnswer>(session, { op: 'create', id, name: service, port, source: selftestFiles().serviceSource }, commandMs);
    report.program = created.program;
    if (!created.ok || !created.binaryPath || !created.program) {
      cases.push({ name: 'create the scratch service', status: 'failed', message: created.message ?? 'create failed', details: [], ms: 0 });
    } else {
      log(`selftest ${host}: created ${service} (${created.program}): ${created.binaryPath}`);
      const ctx: ScenarioContext = {
        service,
        baseBinaryPath: created.binaryPath,
        port,
        program: created.program,
        async apply(fields: ApplyFields) {
          const plan = await engine('plan', fields);
          if (plan.outcome === 'failed' || !plan.snapshot) return plan;
          const runId = `selftest-${id}-${calls + 1}`;
          const r = await engine('apply', { ...fields, expectedHash: plan.snapshot.configHash });
          runIds.set(r, runId);
          return r;
        },
        otherPort,
        async rollbackTo(result, more) {
          const fromRunId = runIds.get(result);
          if (!fromRunId) throw new Error('rollbackTo: not a result of ctx.apply');
          return engine('rollback', { restore: { fromRunId }, restart: 'if-needed', verify: { port }, ...more });
        },
        read: () => runHostScript<ReadAnswer>(session, { op: 'read', name: service }, commandMs),
        readService: (name) => runHostScript<ReadAnswer>(session, { op: 'read', name }, commandMs),
        async addDependent(depPort) {
          const name = `${service}-dep`;
          extra.push(name);
          const made = await runHostScript<CreateAnswer>(session, { op: 'create', id, name, port: depPort, dependsOn: service }, commandMs);
          if (!made.ok || !made.binaryPath) throw new Error(`could not create the dependent scratch service ${name}: ${made.message ?? 'create failed'}`);
          return { name, binaryPath: made.binaryPath };
        },
        async removeService(name) {
          const del = await removeService(name);
          if (!del.ok) throw new Error(`could not remove ${name}: ${(del.notes ?? [del.message]).join('; ')}`);
        },
        async backupFolderAcl(grant) {
          const r = await runHostScript<{ ok: boolean; exit?: number; message?: string }>(session, { op: 'acl', name: service, grant }, commandMs);
          if (!r.ok) throw new Error(`icacls on the scratch service's backup folder failed (${r.exit ?? '?'}): ${r.message ?? ''}`);
        },
      };
      for (const s of options.scenarios ?? SCENARIOS) {
        const started = Date.now();
        const reason = s.notRun?.(ctx);
        if (reason) {
          cases.push({ name: s.name, status: 'not-run', message: reason, details: [], ms: 0 });
          log(`selftest ${host}: ${s.name}: not run: ${reason}`);
          continue;
        }
        const check = new Checks();
        try {
          await s.run(ctx, check);
        } catch (err) {
          check.that(false, `the scenario ran to its end: ${(err as Error).message}`);
        }
        const ms = Date.now() - started;
        const status = check.failures.length ? 'failed' : 'passed';
        cases.push({ name: s.name, status, message: check.failures.join('; '), details: check.details, ms });
        log(`selftest ${host}: ${s.name}: ${status === 'passed' ? 'passed' : `FAILED: ${check.failures.join('; ')}`} (${(ms / 1000).toFixed(1)} s)`);
      }
    }
  } finally {
    const started = Date.now();
    const check = new Checks();
    // Folders the selftest (or the engine, for its backups) created: deepest first, removed when empty.
    const had = new Set(before.files);
    const remove = [
      ...(had.has('svcfleet/backups/') ? [] : ['svcfleet\\backups']),
      ...(had.has('svcfleet/') ? [] : ['svcfleet']),
      ...(had.has('svcfleet-selftest/') ? [] : ['svcfleet-selftest']),
    ];
    try {
      for (const name of [...extra].reverse()) {
        const d = await removeService(name);
        check.that(d.ok, `the second scratch service ${name} is removed`, d.notes ?? d.message);
      }
      const del = await runHostScript<DeleteAnswer>(session, { op: 'delete', id, name: service, remove }, commandMs);
      check.that(del.ok, `the scratch service, its backups and its build folder are removed`, del.notes ?? del.message);
      const after = await runHostScript<CensusAnswer>(session, { op: 'census' }, commandMs);
      const services = diffList(before.services, after.services);
      const files = diffList(before.files, after.files);
      check.that(services.added.length === 0 && services.removed.length === 0, `the same ${before.services.length} services as before`, services);
      check.that(files.added.length === 0 && files.removed.length === 0, `the same svcfleet files as before (${before.files.length})`, files);
    } catch (err) {
      check.that(false, `cleanup ran to its end: ${(err as Error).message}`);
    }
    const ms = Date.now() - started;
    cases.push({ name: HOST_AS_FOUND, status: check.failures.length ? 'failed' : 'passed', message: check.failures.join('; '), details: check.details, ms });
    log(`selftest ${host}: ${HOST_AS_FOUND}: ${check.failures.length ? `FAILED: ${check.failures.join('; ')}` : 'passed'}`);
  }
  report.ok = cases.every((c) => c.status !== 'failed');
  return report;
}

export interface SelftestOptions extends ConfigOptions {
  /** Inventory sources; `limit` must select exactly one host. */
  inventory: readonly string[];
  limit: string;
  /** Also write a JUnit report here (relative to the context's cwd). */
  junit?: string;
  /** Progress lines (one per scenario, then the verdict); default: the context's terminal. */
  out?: (line: string) => void;
  /** A replacement engine text (tests: prove a broken engine fails). */
  engineScript?: string;
  /** Only these scenarios (tests); default all. */
  scenarios?: readonly Scenario[];
  /** Scratch service port (default random). */
  port?: number;
  /** Second scratch service port (default port + 1). */
  otherPort?: number;
}

export interface SelftestResult {
  report: SelftestReport;
  /** 0 every scenario passed or was not run and the host is as found; 2 otherwise (as a failed host). */
  exitCode: number;
}

export async function selftest(options: SelftestOptions, ctx: AppContext): Promise<SelftestResult> {
  const config = await loadAppConfig(options, ctx);
  const inv = await loadHosts({ inventory: options.inventory, limit: [options.limit] }, config, ctx);
  if (inv.hosts.length !== 1) {
    throw new InputError(`selftest runs on exactly one host; --limit ${JSON.stringify(options.limit)} selects ${inv.hosts.length}`, { field: '--limit' });
  }
  const out = options.out ?? ((line: string) => void ctx.terminal?.stdout.write(`${line}\n`));
  const junit = options.junit === undefined ? undefined : resolve(ctx.cwd, options.junit);
  const host = inv.hosts[0]!;
  const source = ctx.transports;
  if (!source) throw new InputError('no transports: this context cannot reach hosts', { field: 'transport' });
  const owned = typeof source === 'function';
  const registry = owned ? source({ handshakeConcurrency: 1 }) : source;
  try {
    await registry.prepare([host.connection.transport]);
    const transport = registry.get(host.connection.transport);
    // Building the scratch service and running every scenario takes minutes on a small host.
    const deadlines = { connectMs: config.deadlines.connectMs, authMs: config.deadlines.authMs, commandMs: Math.max(config.deadlines.commandMs, 300_000) };
    const session = await transport.open(host.name, host.connection, { deadlines });
    let report: SelftestReport;
    try {
      report = await runSelftest({
        session,
        host: host.name,
        commandMs: deadlines.commandMs,
        log: out,
        ...(options.engineScript ? { engineScript: options.engineScript } : {}),
        ...(options.scenarios ? { scenarios: options.scenarios } : {}),
        ...(options.port !== undefined ? { port: options.port } : {}),
        ...(options.otherPort !== undefined ? { otherPort: options.otherPort } : {}),
      });
    } finally {
      await session.close();
    }
    const counts = (s: string) => report.cases.filter((c) => c.status === s).length;
    out(
      `selftest ${host.name}: ${counts('passed')} passed, ${counts('failed')} failed, ${counts('not-run')} not run${report.ok ? '' : ' - do not trust svcfleet with this host yet'}`,
    );
    if (junit) await writeFileAtomic(junit, selftestJunitXml(report));
    return { report, exitCode: report.ok ? 0 : 2 };
  } finally {
    if (owned) await registry.dispose();
  }
}
