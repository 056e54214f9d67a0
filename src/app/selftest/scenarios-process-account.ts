/**
 * The selftest scenarios that need more than the scratch service: a scratch local user (the account matrix with and
 * without "Log on as a service") and two scratch services in one process (the shared-process guard). Same rules as
 * scenarios.ts: the change goes through the real engine, the check through host.ps1's independent reader (sc.exe,
 * and LSA for the right), and the host is left as found (runSelftest's census compares the users, the holders of the
 * right and the profiles too).
 */
import type { ReadAnswer } from './host-script.js';
import type { Checks, Scenario, ScenarioContext } from './scenario-kit.js';
import { parseQc, parseQueryEx } from './sc-output.js';

async function state(ctx: ScenarioContext, name: string | undefined, check: Checks, step: string, want = 'RUNNING') {
  const read: ReadAnswer = name ? await ctx.readService(name) : await ctx.read();
  const q = parseQueryEx(read.queryex);
  check.that(q.state === want, `${step}: sc.exe queryex says ${want}`, q.state);
  return q.pid;
}

export const localUser: Scenario = {
  name: 'account matrix (local user with and without the logon right)',
  async run(ctx, check) {
    const user = await ctx.addUser();
    let right = await ctx.userRight();
    check.that(right.exists && !right.granted, 'the scratch user exists and does not hold "Log on as a service" (LSA)', right);
    const pid = await state(ctx, undefined, check, 'before');
    const account = { name: user.account, password: user.password };

    // Without the right: plan refuses, and apply itself refuses before it writes anything, even with restart: never
    // (where nothing would start to reveal it: Windows only checks the right at start, 1069).
    const planned = await ctx.apply({ desired: { account }, restart: 'never' });
    check.that(planned.outcome !== 'changed', 'restart: never: apply does not report changed', planned.outcome);
    check.that(
      planned.reason.code === 'logon-right-missing',
      'refused (plan, as svcfleet apply runs it): logon-right-missing',
      `${planned.outcome}/${planned.reason.code}`,
    );
    const direct = await ctx.applyUnplanned({ desired: { account }, restart: 'never' });
    check.that(
      direct.outcome === 'failed' && direct.reason.code === 'logon-right-missing',
      'apply itself, without a plan, refuses: logon-right-missing',
      `${direct.outcome}/${direct.reason.code}: ${direct.message}`,
    );
    const qc = parseQc((await ctx.read()).qc);
    check.that(qc.account.toLowerCase() === 'localsystem', 'nothing written: sc.exe qc SERVICE_START_NAME still LocalSystem', qc.account);
    right = await ctx.userRight();
    check.that(!right.granted, 'nothing granted: the user still lacks the right', right);
    check.that((await state(ctx, undefined, check, 'refused')) === pid, 'refused: the service kept its process');

    // With the explicit opt-in: the right is granted, the account written, the service starts under it.
    const granted = await ctx.apply({ desired: { account: { ...account, grantLogonRight: true } }, restart: 'if-needed', verify: { port: ctx.port } });
    check.outcome(granted, 'changed', 'grantLogonRight: true');
    right = await ctx.userRight();
    check.that(right.granted, 'the user now holds "Log on as a service" (LSA)', right);
    const as = parseQc((await ctx.read()).qc);
    check.that(as.account.toLowerCase() === user.account.toLowerCase(), 'sc.exe qc SERVICE_START_NAME is the user', as.account);
    const upid = await state(ctx, undefined, check, 'as the user');
    check.that(upid !== pid, 'the service was restarted under the user (new PID)', { before: pid, after: upid });

    // Back to LocalSystem; a later rollback could not restore the user's password, which the request accepts.
    const back = await ctx.apply({ desired: { account: { name: 'LocalSystem', rollbackPassword: 'none' } }, restart: 'if-needed', verify: { port: ctx.port } });
    check.outcome(back, 'changed', 'back to LocalSystem');
    check.that(parseQc((await ctx.read()).qc).account.toLowerCase() === 'localsystem', 'sc.exe qc SERVICE_START_NAME LocalSystem again');
    await state(ctx, undefined, check, 'LocalSystem again');

    // The right first (LsaRemoveAccountRights), then the user: the other order leaves an orphaned SID in the policy.
    check.that(await ctx.revokeUserRight(), 'the granted right is revoked');
    right = await ctx.userRight();
    check.that(right.exists && !right.granted, 'the user no longer holds the right (LSA)', right);
    await ctx.removeUser();
    right = await ctx.userRight();
    check.that(!right.exists, 'the scratch user is deleted', right);
  },
};

export const sharedProcess: Scenario = {
  name: 'shared-process guard',
  async run(ctx, check) {
    const shared = await ctx.addShared(ctx.otherPort);
    const pid = await state(ctx, shared.slow, check, `${shared.slow} created`);
    check.that((await state(ctx, shared.other, check, `${shared.other} created`)) === pid, 'both services report the same PID (one process)', pid);
    const qc = (await ctx.readService(shared.other)).qc.lines.join('\n');
    check.that(/TYPE\s*:\s*20\s+WIN32_SHARE_PROCESS/.test(qc), 'sc.exe qc TYPE 20 WIN32_SHARE_PROCESS', qc);

    // A correct change that restarts one service of the process: the process keeps its PID, so verify must not
    // demand a new one (the restart is seen as STOPPED, then RUNNING).
    const r = await ctx.apply(
      { desired: { description: 'svcfleet selftest: shared process' }, restart: 'always', verify: { port: ctx.otherPort } },
      shared.other,
    );
    check.outcome(r, 'changed', `a restarting change to ${shared.other}`);
    check.that(r.restarted === true, 'the engine restarted it', r.restarted);
    check.that((await state(ctx, shared.other, check, `${shared.other} after the change`)) === pid, `${shared.other} runs in the same process again`);
    check.that((await state(ctx, shared.slow, check, `${shared.slow} meanwhile`)) === pid, `${shared.slow} never stopped`);

    // A rollback whose stop hangs (the slow service's handler takes longer than the stop wait): the process is not
    // the service's alone, so it must never be ended: rollback-failed with the reason, the other service untouched.
    const change = await ctx.apply({ desired: { binaryPath: `${shared.binaryPath} --workers 2` }, restart: 'never' }, shared.slow);
    check.outcome(change, 'changed', `a binary path change to ${shared.slow}, not restarted`);
    const back = await ctx.rollbackTo(change, { timeouts: { stopSeconds: 3 }, restart: 'always', verify: { port: ctx.otherPort } });
    check.outcome(back, 'rollback-failed', 'the rollback meets a stop that hangs');
    check.that(back.reason.code === 'kill-refused', 'reason kill-refused', `${back.reason.code}: ${back.message}`);
    check.that(back.message.includes(shared.other) && back.message.includes('0x20'), `the message names ${shared.other} and type 0x20`, back.message);
    check.that(
      (await state(ctx, shared.other, check, `${shared.other} after the refusal`)) === pid,
      `${shared.other} still runs in the same process: nothing was ended`,
    );
    await state(ctx, shared.slow, check, `${shared.slow} after the refusal`, 'STOP_PENDING');

    // The handler returns in its own time; then both go.
    const until = Date.now() + shared.stopMs + 20_000;
    let now = '';
    while (Date.now() < until) {
      now = parseQueryEx((await ctx.readService(shared.slow)).queryex).state;
      if (now === 'STOPPED') break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    check.that(now === 'STOPPED', `${shared.slow} reaches STOPPED once its handler returns`, now);
    await ctx.removeService(shared.slow);
    await ctx.removeService(shared.other);
  },
};
