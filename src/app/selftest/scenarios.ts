/**
 * The selftest's scenarios. Each one changes the scratch service through the REAL engine, over the same request
 * path apply and rollback use (plan for the config hash, then apply with it as the drift guard; rollback from the
 * host's own backup), and checks the result through the independent reader (host.ps1: sc.exe output and registry
 * values), never through what the engine reports about itself. A scenario the host (or the lab) cannot exercise
 * today is reported as not run, with the reason: never as a pass.
 */
import type { StartType } from '../../remote/protocol.js';
import type { Checks, Scenario, ScenarioContext } from './scenario-kit.js';
import { localUser, sharedProcess } from './scenarios-process-account.js';
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

export { Checks, type ApplyFields, type CaseStatus, type RollbackFields, type Scenario, type ScenarioContext, type SelftestCase } from './scenario-kit.js';

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

const virtualAccount: Scenario = {
  name: 'account matrix (virtual account)',
  async run(ctx, check) {
    // NT SERVICE\<service>: Windows makes the account for the service; it takes a NULL password (the engine's
    // business, docs/reference/windows-services.md "Virtual accounts and managed service accounts").
    const name = `NT SERVICE\\${ctx.service}`;
    const r = await ctx.apply({ desired: { account: { name } }, restart: 'if-needed', verify: { port: ctx.port } });
    check.outcome(r, 'changed', name);
    const qc = parseQc((await ctx.read()).qc);
    check.that(qc.account.toLowerCase() === name.toLowerCase(), `${name}: sc.exe qc SERVICE_START_NAME`, qc.account);
    await running(ctx, check, name);
    const back = await ctx.apply({ desired: { account: { name: 'LocalSystem' } }, restart: 'if-needed', verify: { port: ctx.port } });
    check.outcome(back, 'changed', 'back to LocalSystem');
    check.that(parseQc((await ctx.read()).qc).account.toLowerCase() === 'localsystem', 'sc.exe qc SERVICE_START_NAME LocalSystem');
    await running(ctx, check, 'LocalSystem');
  },
};

const RESTART_1S = { resetPeriod: 86400, rebootMessage: '', command: '', actions: [{ type: 'restart' as const, delayMs: 1000 }], nonCrashFailures: false };
const NO_ACTIONS = { resetPeriod: 0, rebootMessage: '', command: '', actions: [], nonCrashFailures: false };

const stuckStop: Scenario = {
  name: 'stuck STOP_PENDING on a dedicated process',
  async run(ctx, check) {
    // A recovery action that would restart the service 1 s after a failure: ending the process without suspending it
    // fires it (docs/reference/windows-services.md "Killing a service process").
    check.outcome(await ctx.apply({ desired: { failure: RESTART_1S }, restart: 'never' }), 'changed', 'restart/1000 recovery action');
    // A stop handler that blocks for ten minutes (--stop-ms): the next stop never completes on its own.
    const stuck = await ctx.apply({ desired: { binaryPath: `${ctx.baseBinaryPath} --stop-ms 600000` }, restart: 'if-needed', verify: { port: ctx.port } });
    check.outcome(stuck, 'changed', 'a program whose stop handler blocks');
    const back = await ctx.rollbackTo(stuck, { timeouts: { stopSeconds: 3 } });
    check.outcome(back, 'changed', 'rollback ends the stuck process (dedicated) and starts the service again');
    const read = await ctx.read();
    check.that(parseQc(read.qc).binaryPath === ctx.baseBinaryPath, 'sc.exe qc BINARY_PATH_NAME restored', parseQc(read.qc).binaryPath);
    const qf = parseQFailure(read.qfailure);
    check.that(
      JSON.stringify(qf.actions) === JSON.stringify(['RESTART -- Delay = 1000 milliseconds.']),
      'sc.exe qfailure: the recovery action is back after the kill',
      qf.actions,
    );
    const pid = await running(ctx, check, 'after rollback');
    // Had the action fired, the SCM would restart the service 1 s after the kill: the process would change.
    await new Promise((r) => setTimeout(r, 3000));
    const later = await running(ctx, check, '3 s later');
    check.that(later === pid, 'same PID 3 s later: no recovery action fired', { before: pid, after: later });
    check.outcome(await ctx.apply({ desired: { failure: NO_ACTIONS }, restart: 'never' }), 'changed', 'recovery actions removed again');
  },
};

const dependents: Scenario = {
  name: 'running dependents',
  async run(ctx, check) {
    const dep = await ctx.addDependent(ctx.otherPort);
    const depPid = async (step: string) => {
      const q = parseQueryEx((await ctx.readService(dep.name)).queryex);
      check.that(q.state === 'RUNNING', `${step}: the dependent is RUNNING (sc.exe queryex)`, q.state);
      return q.pid;
    };
    const d0 = await depPid('created');
    const s0 = await running(ctx, check, 'created');
    const change = { desired: { binaryPath: `${ctx.baseBinaryPath} --workers 2` }, restart: 'if-needed' as const, verify: { port: ctx.port } };

    const refused = await ctx.apply(change);
    check.outcome(refused, 'failed', 'dependents: refuse (default)');
    check.that(refused.reason.code === 'dependents-running', 'reason dependents-running', refused.reason);
    check.that(parseQc((await ctx.read()).qc).binaryPath === ctx.baseBinaryPath, 'nothing changed: sc.exe qc BINARY_PATH_NAME as created');
    check.that((await running(ctx, check, 'refused')) === s0, 'refused: the service kept its process');
    check.that((await depPid('refused')) === d0, 'refused: the dependent kept its process');

    const applied = await ctx.apply({ ...change, dependents: 'stop-and-restart' });
    check.outcome(applied, 'changed', 'dependents: stop-and-restart');
    check.that(parseQc((await ctx.read()).qc).binaryPath === change.desired.binaryPath, 'sc.exe qc BINARY_PATH_NAME changed');
    const d1 = await depPid('after the restart');
    check.that(d1 !== d0, 'the dependent was stopped and started again (new PID)', { before: d0, after: d1 });

    const back = await ctx.rollbackTo(applied, { dependents: 'stop-and-restart' });
    check.outcome(back, 'changed', 'rollback with dependents: stop-and-restart');
    check.that(parseQc((await ctx.read()).qc).binaryPath === ctx.baseBinaryPath, 'after rollback: sc.exe qc BINARY_PATH_NAME as created');
    await running(ctx, check, 'after rollback');
    const d2 = await depPid('after rollback');
    check.that(d2 !== d1, 'rollback: the dependent was stopped and started again', { before: d1, after: d2 });
    await ctx.removeService(dep.name);
  },
};

const backupGuard: Scenario = {
  name: 'backup folder guard',
  async run(ctx, check) {
    // The scratch service's own backup folder (written by the earlier applies) gets an entry for Users: the engine
    // must refuse to back up into it, change nothing, and say why (docs/reference/programdata-acl.md).
    const text = 'svcfleet selftest: backup folder guard';
    await ctx.backupFolderAcl(true);
    try {
      const r = await ctx.apply({ desired: { description: text }, restart: 'never' });
      check.outcome(r, 'failed', 'apply with Users allowed into the backup folder');
      check.that(r.reason.code === 'backup-unsafe', 'reason backup-unsafe', `${r.reason.code}: ${r.message}`);
      check.that(parseQDescription((await ctx.read()).qdescription) === '', 'nothing changed: no description (sc.exe qdescription)');
    } finally {
      await ctx.backupFolderAcl(false);
    }
    check.outcome(await ctx.apply({ desired: { description: text }, restart: 'never' }), 'changed', 'the same apply once the entry is gone');
    check.outcome(await ctx.apply({ desired: { description: '' }, restart: 'never' }), 'changed', 'description removed again');
  },
};

/** In the order they run; later scenarios rely on earlier ones leaving the service RUNNING as created. */
export const SCENARIOS: readonly Scenario[] = [
  fields,
  startTypes,
  failureActions,
  environment,
  badFlag,
  crash,
  accounts,
  virtualAccount,
  localUser,
  stuckStop,
  sharedProcess,
  dependents,
  backupGuard,
];
