/**
 * The selftest's scenarios. Each one changes the scratch service through the REAL engine, over the same request
 * path apply and rollback use (plan for the config hash, then apply with it as the drift guard; rollback from the
 * host's own backup), and checks the result through the independent reader (host.ps1: sc.exe output and registry
 * values), never through what the engine reports about itself. A scenario the host (or the lab) cannot exercise
 * today is reported as not run, with the reason: never as a pass.
 */
import type { RemoteResult, StartType } from '../../remote/protocol.js';
import type { ReadAnswer } from './host-script.js';
import {
  decodeFailureActions,
  parseFailureFlag,
  parseQc,
  parseQDescription,
  parseQFailure,
  parseQueryEx,
  qcStartType,
  scPathMatches,
  scTextMatches,
} from './sc-output.js';

export type CaseStatus = 'passed' | 'failed' | 'not-run';

export interface SelftestCase {
  name: string;
  status: CaseStatus;
  /** Failed: what differed; not run: why. */
  message: string;
  /** Every check made, in order (for --junit system-out and the plain report on failure). */
  details: string[];
  ms: number;
}

/** What a scenario may do on the host. */
export interface ScenarioContext {
  service: string;
  /** The scratch service's binary path as created (`<exe> --port N`). */
  baseBinaryPath: string;
  port: number;
  program: 'scratch-service' | 'lab-svcprogram';
  /** plan, then apply with expectedHash (what `svcfleet apply` sends per service). */
  apply(fields: ApplyFields): Promise<RemoteResult>;
  /** rollback to the backup the apply of `result` wrote on the host (what `svcfleet rollback` sends). */
  rollbackTo(result: RemoteResult): Promise<RemoteResult>;
  read(): Promise<ReadAnswer>;
}

export type ApplyFields = Pick<import('../../remote/invocation.js').OutgoingRequest, 'desired' | 'restart' | 'verify' | 'rollback' | 'timeouts'>;

/** Collects checks; a scenario fails when one of them failed. */
export class Checks {
  readonly details: string[] = [];
  readonly failures: string[] = [];
  that(ok: boolean, what: string, got?: unknown): boolean {
    const line = ok ? `ok: ${what}` : `FAILED: ${what}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    this.details.push(line);
    if (!ok) this.failures.push(line.slice('FAILED: '.length));
    return ok;
  }
  outcome(r: RemoteResult, want: string, step: string): boolean {
    return this.that(r.outcome === want, `${step}: the engine reports ${want}`, `${r.outcome}/${r.reason.code}: ${r.message}`);
  }
}

export interface Scenario {
  name: string;
  /** Returns a reason when the scenario cannot run on this host. */
  notRun?(ctx: ScenarioContext): string | undefined;
  run(ctx: ScenarioContext, check: Checks): Promise<void>;
}

// Awkward values: spaces, straight and smart quotes, non-ASCII letters, %VAR% (must stay literal), shell metas.
export const AWKWARD = {
  displayName: 'svcfleet selftest \u2018smart\u2019 \u201cdouble\u201d "plain" \'single\' %SystemRoot% \u00fcn\u00efc\u00f8d\u00e9',
  description: 'Written by svcfleet selftest: \u2018q\u2019 \u201cdq\u201d "x" %PATH% & | < > ^ ; $(y) `z`',
  group: 'svcfleet selftest group',
  config: 'C:\\svcfleet selftest\\\u2018q\u2019 %SystemRoot%\\none.cfg',
  env: 'a b "q" \u2018s\u2019 %PATH% ;|& $(x)',
  rebootMessage: 'svcfleet selftest: written, read back, never fired \u2013 %COMPUTERNAME%',
};

async function running(ctx: ScenarioContext, check: Checks, step: string): Promise<number> {
  const q = parseQueryEx((await ctx.read()).queryex);
  check.that(q.state === 'RUNNING', `${step}: sc.exe queryex says RUNNING`, q.state);
  return q.pid;
}

const fields: Scenario = {
  name: 'field round-trip with awkward values',
  async run(ctx, check) {
    const binaryPath = `${ctx.baseBinaryPath} --config "${AWKWARD.config}"`;
    const r = await ctx.apply({
      desired: {
        displayName: AWKWARD.displayName,
        description: AWKWARD.description,
        binaryPath,
        errorControl: 'severe',
        loadOrderGroup: AWKWARD.group,
        dependencies: ['Tcpip'],
      },
      // The new binary path names a config file that does not exist: it is written and read, never started.
      restart: 'never',
    });
    check.outcome(r, 'changed', 'apply');
    const read = await ctx.read();
    const qc = parseQc(read.qc);
    check.that(read.qc.exit === 0, 'sc.exe qc exits 0', read.qc.exit);
    check.that(scTextMatches(AWKWARD.displayName, qc.displayName), 'sc.exe qc DISPLAY_NAME', qc.displayName);
    check.that(read.displayName === AWKWARD.displayName, 'registry DisplayName, exactly', read.displayName);
    check.that(read.qdescription.exit === 0, 'sc.exe qdescription exits 0', read.qdescription.exit);
    check.that(
      scTextMatches(AWKWARD.description, parseQDescription(read.qdescription)),
      'sc.exe qdescription DESCRIPTION',
      parseQDescription(read.qdescription),
    );
    check.that(read.description === AWKWARD.description, 'registry Description, exactly', read.description);
    check.that(scPathMatches(binaryPath, qc.binaryPath), 'sc.exe qc BINARY_PATH_NAME', qc.binaryPath);
    check.that(read.imagePath === binaryPath, 'registry ImagePath exactly, %VAR% kept literal', read.imagePath);
    check.that(qc.errorControl === 'SEVERE', 'sc.exe qc ERROR_CONTROL SEVERE', qc.errorControl);
    check.that(qc.loadOrderGroup === AWKWARD.group, 'sc.exe qc LOAD_ORDER_GROUP', qc.loadOrderGroup);
    check.that(JSON.stringify(qc.dependencies) === JSON.stringify(['Tcpip']), 'sc.exe qc DEPENDENCIES', qc.dependencies);

    const back = await ctx.rollbackTo(r);
    check.that(
      back.outcome === 'changed' || back.outcome === 'unchanged',
      'rollback from the host backup succeeds',
      `${back.outcome}/${back.reason.code}: ${back.message}`,
    );
    const after = await ctx.read();
    const qa = parseQc(after.qc);
    check.that(qa.binaryPath === ctx.baseBinaryPath, 'after rollback: sc.exe qc BINARY_PATH_NAME as created', qa.binaryPath);
    check.that(qa.displayName === ctx.service, 'after rollback: DISPLAY_NAME as created', qa.displayName);
    check.that(qa.errorControl === 'NORMAL', 'after rollback: ERROR_CONTROL NORMAL', qa.errorControl);
    check.that(qa.loadOrderGroup === '' && qa.dependencies.length === 0, 'after rollback: no group, no dependencies', [qa.loadOrderGroup, qa.dependencies]);
    check.that(parseQDescription(after.qdescription) === '', 'after rollback: no description', parseQDescription(after.qdescription));
    await running(ctx, check, 'after rollback');
  },
};

const startTypes: Scenario = {
  name: 'every start-type transition',
  async run(ctx, check) {
    // From demand (as created): covers delayed->demand->auto and delayed->disabled->auto (the leftover delayed
    // flag of ChangeServiceConfig, docs/reference/discrepancies.md) and every other pair at least once.
    const path: StartType[] = [
      'delayed-auto',
      'demand',
      'auto',
      'delayed-auto',
      'disabled',
      'auto',
      'disabled',
      'demand',
      'disabled',
      'delayed-auto',
      'auto',
      'demand',
    ];
    let from = 'demand';
    for (const to of path) {
      const r = await ctx.apply({ desired: { startType: to }, restart: 'never' });
      check.outcome(r, 'changed', `${from} -> ${to}`);
      const qc = parseQc((await ctx.read()).qc);
      check.that(qcStartType(qc) === to, `${from} -> ${to}: sc.exe qc START_TYPE`, `${qc.startType}${qc.delayed ? ' (DELAYED)' : ''}`);
      from = to;
    }
  },
};

const failureActions: Scenario = {
  name: 'failure actions incl. NONE and reboot (written, read back, never fired)',
  async run(ctx, check) {
    const pid = await running(ctx, check, 'before');
    const r = await ctx.apply({
      desired: {
        failure: {
          resetPeriod: 86400,
          rebootMessage: AWKWARD.rebootMessage,
          command: '',
          actions: [
            { type: 'restart', delayMs: 60000 },
            { type: 'reboot', delayMs: 120000 },
            { type: 'none', delayMs: 0 },
          ],
          nonCrashFailures: true,
        },
      },
      restart: 'if-needed',
    });
    check.outcome(r, 'changed', 'restart/reboot/none');
    let read = await ctx.read();
    let qf = parseQFailure(read.qfailure);
    check.that(read.qfailure.exit === 0, 'sc.exe qfailure exits 0', read.qfailure.exit);
    check.that(qf.resetPeriod === '86400', 'RESET_PERIOD 86400', qf.resetPeriod);
    check.that(scTextMatches(AWKWARD.rebootMessage, qf.rebootMessage), 'REBOOT_MESSAGE', qf.rebootMessage);
    // sc.exe stops listing at the first NONE action (docs/reference/sc-exe.md).
    check.that(
      JSON.stringify(qf.actions) === JSON.stringify(['RESTART -- Delay = 60000 milliseconds.', 'REBOOT -- Delay = 120000 milliseconds.']),
      'FAILURE_ACTIONS restart 60000, reboot 120000 (then NONE)',
      qf.actions,
    );
    check.that(parseFailureFlag(read.qfailureflag) === true, 'sc.exe qfailureflag TRUE', read.qfailureflag.lines.join(' '));
    const stored = decodeFailureActions(read.failureActions);
    check.that(
      JSON.stringify(stored) ===
        JSON.stringify({
          resetPeriod: 86400,
          actions: [
            { type: 'restart', delayMs: 60000 },
            { type: 'reboot', delayMs: 120000 },
            { type: 'none', delayMs: 0 },
          ],
        }),
      'registry FailureActions: reset 86400, restart, reboot, NONE',
      stored,
    );
    const r2 = await ctx.apply({
      desired: { failure: { resetPeriod: 0, rebootMessage: '', command: '', actions: [], nonCrashFailures: false } },
      restart: 'if-needed',
    });
    check.outcome(r2, 'changed', 'no actions');
    read = await ctx.read();
    qf = parseQFailure(read.qfailure);
    check.that(qf.actions.length === 0, 'no FAILURE_ACTIONS line', qf.actions);
    const none = decodeFailureActions(read.failureActions);
    check.that(none === null || none.actions.length === 0, 'registry FailureActions: no actions', none);
    check.that(parseFailureFlag(read.qfailureflag) === false, 'sc.exe qfailureflag FALSE', read.qfailureflag.lines.join(' '));
    const now = await running(ctx, check, 'after');
    check.that(now === pid, 'same PID: nothing restarted, no action fired', { before: pid, after: now });
  },
};

const environment: Scenario = {
  name: 'environment',
  async run(ctx, check) {
    const r = await ctx.apply({
      desired: { environment: { SELFTEST_PLAIN: 'value', SELFTEST_AWKWARD: AWKWARD.env } },
      restart: 'if-needed',
      verify: { port: ctx.port, settleSeconds: 1 },
    });
    check.outcome(r, 'changed', 'set');
    let read = await ctx.read();
    check.that(
      JSON.stringify(read.environment) === JSON.stringify(['SELFTEST_PLAIN=value', `SELFTEST_AWKWARD=${AWKWARD.env}`]),
      'registry Environment (REG_MULTI_SZ), exactly and in order',
      read.environment,
    );
    await running(ctx, check, 'set');
    const r2 = await ctx.apply({ desired: { environment: null }, restart: 'if-needed', verify: { port: ctx.port } });
    check.outcome(r2, 'changed', 'remove');
    read = await ctx.read();
    check.that(read.environment === null, 'registry Environment removed', read.environment);
    await running(ctx, check, 'remove');
  },
};

const badFlag: Scenario = {
  name: 'a change the program rejects (exit 2) -> automatic rollback',
  async run(ctx, check) {
    const r = await ctx.apply({
      desired: { binaryPath: `${ctx.baseBinaryPath} --no-such-flag` },
      restart: 'always',
      verify: { port: ctx.port, timeoutSeconds: 20 },
      rollback: 'auto',
    });
    check.outcome(r, 'rolled-back', 'apply');
    check.that(r.rollback?.ok === true, 'the rollback reports ok', r.rollback);
    const qc = parseQc((await ctx.read()).qc);
    check.that(qc.binaryPath === ctx.baseBinaryPath, 'sc.exe qc BINARY_PATH_NAME restored', qc.binaryPath);
    await running(ctx, check, 'after rollback');
  },
};

const crash: Scenario = {
  name: 'a crash after start -> automatic rollback',
  notRun(ctx) {
    return ctx.program === 'lab-svcprogram'
      ? "the lab's service program crashes after start only through a lab fault the host cannot arm (the emulated SCM clears SVCFLEET_LAB_CRASH_AFTER_MS from the service environment)"
      : undefined;
  },
  async run(ctx, check) {
    const r = await ctx.apply({
      desired: { environment: { SVCFLEET_LAB_CRASH_AFTER_MS: '1500' } },
      restart: 'always',
      verify: { port: ctx.port, settleSeconds: 5, timeoutSeconds: 30 },
      rollback: 'auto',
    });
    check.outcome(r, 'rolled-back', 'apply');
    check.that(r.rollback?.ok === true, 'the rollback reports ok', r.rollback);
    const read = await ctx.read();
    check.that(read.environment === null, 'registry Environment restored (absent)', read.environment);
    await running(ctx, check, 'after rollback');
  },
};

const accounts: Scenario = {
  name: 'account matrix (built-in accounts)',
  async run(ctx, check) {
    for (const name of ['NT AUTHORITY\\LocalService', 'NT AUTHORITY\\NetworkService', 'LocalSystem']) {
      const r = await ctx.apply({ desired: { account: { name } }, restart: 'if-needed', verify: { port: ctx.port } });
      check.outcome(r, 'changed', name);
      const read = await ctx.read();
      const qc = parseQc(read.qc);
      check.that(qc.account.toLowerCase() === name.toLowerCase(), `${name}: sc.exe qc SERVICE_START_NAME`, qc.account);
      await running(ctx, check, name);
    }
  },
};

function notYet(name: string, reason: string): Scenario {
  return { name, notRun: () => reason, run: async () => undefined };
}

/** In the order they run; later scenarios rely on earlier ones leaving the service RUNNING as created. */
export const SCENARIOS: readonly Scenario[] = [
  fields,
  startTypes,
  failureActions,
  environment,
  badFlag,
  crash,
  accounts,
  notYet(
    'account matrix (virtual account, local user with and without the logon right)',
    'not implemented in selftest yet: needs a scratch local user created and removed by the host script',
  ),
  notYet(
    'stuck STOP_PENDING on a dedicated process',
    'not implemented in selftest yet: needs a scratch-program flag that blocks in its stop handler, which the lab program lacks',
  ),
  notYet('shared-process guard', 'not implemented in selftest yet: needs a second scratch service in the same process (type share)'),
  notYet('running dependents', 'not implemented in selftest yet: needs a second scratch service that depends on the first'),
  notYet('backup folder guard', 'not implemented in selftest yet: needs changing the owner of %ProgramData%\\svcfleet, which selftest does not touch'),
];
