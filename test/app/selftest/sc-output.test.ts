/**
 * The selftest's reader of sc.exe output, on the shapes of docs/reference/sc-exe.md (real Windows), not only on
 * what the lab prints.
 */
import { describe, expect, it } from 'vitest';
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
} from '../../../src/app/selftest/sc-output.js';

const raw = (text: string) => ({ exit: 0, lines: text.split('\n') });

describe('sc.exe output', () => {
  it('qc: fields, (DELAYED), dependency continuation lines, empty group', () => {
    const q = parseQc(
      raw(`[SC] QueryServiceConfig SUCCESS

SERVICE_NAME: X
        TYPE               : 10  WIN32_OWN_PROCESS
        START_TYPE         : 2   AUTO_START  (DELAYED)
        ERROR_CONTROL      : 1   NORMAL
        BINARY_PATH_NAME   : "C:\\Program Files\\X\\x.exe" --service
        LOAD_ORDER_GROUP   :
        TAG                : 0
        DISPLAY_NAME       : X Service
        DEPENDENCIES       : RPCSS
                           : Tcpip
        SERVICE_START_NAME : LocalSystem
`),
    );
    expect(q).toEqual({
      startType: 'AUTO_START',
      delayed: true,
      errorControl: 'NORMAL',
      binaryPath: '"C:\\Program Files\\X\\x.exe" --service',
      loadOrderGroup: '',
      displayName: 'X Service',
      dependencies: ['RPCSS', 'Tcpip'],
      account: 'LocalSystem',
    });
    expect(qcStartType(q)).toBe('delayed-auto');
    expect(qcStartType({ ...q, delayed: false })).toBe('auto');
  });

  it('qfailure: continuation lines of FAILURE_ACTIONS; none when absent', () => {
    const f = parseQFailure(
      raw(`[SC] QueryServiceConfig2 SUCCESS

SERVICE_NAME: X
        RESET_PERIOD (in seconds)    : 86400
        REBOOT_MESSAGE               :
        COMMAND_LINE                 :
        FAILURE_ACTIONS              : RESTART -- Delay = 60000 milliseconds.
                                       RUN PROCESS -- Delay = 1000 milliseconds.
`),
    );
    expect(f).toEqual({
      resetPeriod: '86400',
      rebootMessage: '',
      command: '',
      actions: ['RESTART -- Delay = 60000 milliseconds.', 'RUN PROCESS -- Delay = 1000 milliseconds.'],
    });
    expect(parseQFailure(raw('[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: X\n        RESET_PERIOD (in seconds)    : 0\n')).actions).toEqual([]);
  });

  it('qdescription, qfailureflag, queryex', () => {
    expect(parseQDescription(raw('[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: X\nDESCRIPTION:  a "b" %PATH%\n'))).toBe('a "b" %PATH%');
    expect(parseQDescription(raw('[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: X\nDESCRIPTION:  \n'))).toBe('');
    expect(parseFailureFlag(raw('SERVICE_NAME: X\n        FAILURE_ACTIONS_ON_NONCRASH_FAILURES: TRUE'))).toBe(true);
    expect(parseFailureFlag(raw('SERVICE_NAME: X\n        FAILURE_ACTIONS_ON_NONCRASH_FAILURES: FALSE'))).toBe(false);
    expect(
      parseQueryEx(
        raw(
          'SERVICE_NAME: X\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : 4  RUNNING\n                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\n        PID                : 4242\n',
        ),
      ),
    ).toEqual({ state: 'RUNNING', pid: 4242 });
  });

  it('code-page loss is tolerated only where the expected text is non-ASCII; %VAR% may come back expanded', () => {
    expect(scTextMatches('a \u2018q\u2019', 'a ?q?')).toBe(true);
    expect(scTextMatches('a "q"', 'a ?q?')).toBe(false);
    expect(scTextMatches('abc', 'abcd')).toBe(false);
    const p = 'C:\\x.exe --config "C:\\a b\\%SystemRoot%\\n.cfg"';
    expect(scPathMatches(p, p)).toBe(true);
    expect(scPathMatches(p, 'C:\\x.exe --config "C:\\a b\\C:\\Windows\\n.cfg"')).toBe(true);
    expect(scPathMatches(p, 'C:\\x.exe --config "C:\\a b\\C:\\Windows\\m.cfg"')).toBe(false);
  });

  it('FailureActions REG_BINARY: reset, count, offset, {type, delay}', () => {
    const b = Buffer.alloc(20 + 24);
    [86400, 0, 0, 3, 20, 1, 60000, 2, 120000, 0, 0].forEach((v, i) => b.writeUInt32LE(v, 4 * i));
    expect(decodeFailureActions(b.toString('base64'))).toEqual({
      resetPeriod: 86400,
      actions: [
        { type: 'restart', delayMs: 60000 },
        { type: 'reboot', delayMs: 120000 },
        { type: 'none', delayMs: 0 },
      ],
    });
    expect(decodeFailureActions(null)).toBeNull();
  });
});
