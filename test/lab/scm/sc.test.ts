/**
 * sc.exe of the emulated SCM: output shapes (docs/reference/sc-exe.md#output-of-qc), exit codes (docs/reference/sc-exe.md#exit-codes), option syntax (docs/reference/sc-exe.md#option-syntax, docs/reference/sc-exe.md#config-options, docs/reference/sc-exe.md#description-and-failure),
 * asynchronous start/stop, take-effect on a running process (docs/reference/windows-services.md#when-a-change-takes-effect), and Windows PowerShell 5.1's native-argument
 * quoting (docs/reference/powershell.md#native-argument-passing). All probes run in one pwsh (see helpers.runProbes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost } from '../../../src/lab/host.js';
import { removeHost, freePort, httpGet, runProbes, tempDir, type ProbeResults } from './helpers.js';

const IMAGE = 'C:\\Program Files\\App\\app.exe';
let stateDir: string;
let port: number;
let r: ProbeResults;
let argsBefore: string;
let argsRunningAfterConfig: string;

beforeAll(async () => {
  stateDir = tempDir('sc');
  port = await freePort();
  await initLabHost({
    stateDir,
    services: [
      {
        name: 'AppSvc',
        displayName: 'App Service',
        description: 'Demo app',
        binaryPath: `"${IMAGE}" --port ${port} --log-level info`,
        startType: 'delayed-auto',
        dependencies: ['Tcpip', 'RpcSs', '+TDI'],
        failure: {
          resetPeriod: 86400,
          actions: [
            { type: 'restart', delayMs: 60000 },
            { type: 'restart', delayMs: 60000 },
            { type: 'run', delayMs: 1000 },
          ],
        },
      },
      { name: 'Plain', binaryPath: `"${IMAGE}"`, startType: 'demand', start: false },
      { name: 'Child', binaryPath: `"${IMAGE}"`, dependencies: ['AppSvc'], startType: 'demand', start: false },
    ],
  });
  argsBefore = (await httpGet(port, '/args')).body;
  r = runProbes(
    stateDir,
    `
P qc { SC qc AppSvc }
P queryex { SC queryex AppSvc }
P query { SC query AppSvc }
P qdescription { SC qdescription AppSvc }
P qdescriptionEmpty { SC qdescription Plain }
P qfailure { SC qfailure AppSvc }
P qfailureNone { SC qfailure Plain }
P qfailureWaas { SC qfailure WaaSMedicSvc }
P qfailureflag { SC qfailureflag AppSvc }
P qcMissing { SC qc NoSuchSvc }
P queryMissing { SC query NoSuchSvc }
P queryServer { SC '\\\\.' query AppSvc }
P qcTcpip { SC qc Tcpip }
P noSpace { SC config AppSvc start=auto }
P unknownCmd { SC frobnicate AppSvc }
P cfgStart { $a = SC config Plain start= disabled; $b = SC qc Plain; @{ a = $a; b = $b } }
P startDisabled { SC start Plain }
P cfgDelayedToAuto { $a = SC config Plain start= delayed-auto; $q1 = SC qc Plain; $b = SC config Plain start= auto; $q2 = SC qc Plain; @{ a = $a.rc; q1 = $q1.out; b = $b.rc; q2 = $q2.out } }
P depend { $a = SC config Plain depend= 'Tcpip/RpcSs/+TDI'; $q = SC qc Plain; @{ a = $a.rc; q = $q.out } }
# Under Legacy (5.1) an empty string is dropped: sc sees "depend=" with no value (1639). '""' is the 5.1 form.
P dependEmptyLegacy { SC config Plain depend= "" }
P dependClear { $a = SC config Plain depend= '""'; $q = SC qc Plain; @{ a = $a.rc; q = $q.out } }
P dependCycle { SC config AppSvc depend= Child }
P typeInteract { SC config Plain type= interact }
P typeInteractOwn { $a = SC config Plain type= interact type= own; $q = SC qc Plain; $b = SC config Plain type= own; @{ a = $a.rc; q = $q.out; b = $b.rc } }
P objBad { SC config Plain obj= '.\\nobody' password= x }
P displayDup { SC config Plain displayname= 'App Service' }
# ‘ and ’ are quote characters to PowerShell itself, so the text is built from code points.
P description { $t = 'Hello "world" $(x) ' + [char]0x2018 + 'q' + [char]0x2019; $a = SC description Plain $t; $q = SC qdescription Plain; @{ a = $a; q = $q.out } }
P failureNoReset { SC failure Plain actions= restart/1000 }
P failureBadWord { SC failure Plain reset= 10 actions= none/0 }
P failureSet { $a = SC failure Plain reset= INFINITE reboot= 'Rebooting now' command= 'C:\\fix.cmd' actions= restart/5000/reboot/800/run/1; $q = SC qfailure Plain; @{ a = $a; q = $q.out } }
P failureClear { $a = SC failure Plain reset= 0 actions= '""'; $q = SC qfailure Plain; @{ a = $a.rc; q = $q.out } }
P failureflag { $a = SC failureflag Plain 1; $q = SC qfailureflag Plain; $b = SC failureflag Plain flag=1; @{ a = $a; q = $q.out; b = $b.rc } }
P stopWithDependents { $s = SC start Child; Start-Sleep -Milliseconds 100; $st = SC stop AppSvc; $i = 0; while ((sc.exe query Child | Select-String 'RUNNING') -eq $null -and $i -lt 400) { Start-Sleep -Milliseconds 25; $i++ }; $x = SC stop Child; @{ start = $s.rc; startOut = $s.out; stop = $st; stopChild = $x.rc; stopOut = $x.out } }
# Legacy mangling (docs/reference/powershell.md#native-argument-passing): the quoted exe is not escaped, so sc sees C:\\Program and the rest is dropped (docs/reference/sc-exe.md#the-binpath-value).
P legacyMangled { $a = SC config AppSvc binpath= '"C:\\Program Files\\App\\app.exe" --port ${port} --workers 2'; $q = SC qc AppSvc; @{ a = $a.rc; q = $q.out } }
# The working 5.1 form: backslash-escaped inner quotes.
P legacyEscaped { $a = SC config AppSvc binpath= '\\"C:\\Program Files\\App\\app.exe\\" --port ${port} --workers 2'; $q = SC qc AppSvc; @{ a = $a.rc; q = $q.out } }
P argvLegacy { ,(EmulatedScm\\Get-LabNativeArgv -Arguments @('binpath=', '"C:\\a b\\x.exe" --a', '', 'x"y', 'c d\\') -Mode Legacy) }
P argvStandard { ,(EmulatedScm\\Get-LabNativeArgv -Arguments @('binpath=', '"C:\\a b\\x.exe" --a', '', 'x"y', 'c d\\') -Mode Standard) }
`,
  );
  argsRunningAfterConfig = (await httpGet(port, '/args')).body;
}, 180_000);

afterAll(async () => {
  await removeHost(stateDir);
});

describe('sc.exe output shapes (docs/reference/sc-exe.md#output-of-qc)', () => {
  it('qc: fixed field order, hex TYPE, AUTO_START  (DELAYED), dependency continuation lines', () => {
    expect(r.qc.rc).toBe(0);
    expect(r.qc.out).toBe(
      [
        '[SC] QueryServiceConfig SUCCESS',
        '',
        'SERVICE_NAME: AppSvc',
        '        TYPE               : 10  WIN32_OWN_PROCESS',
        '        START_TYPE         : 2   AUTO_START  (DELAYED)',
        '        ERROR_CONTROL      : 1   NORMAL',
        `        BINARY_PATH_NAME   : "${IMAGE}" --port ${port} --log-level info`,
        '        LOAD_ORDER_GROUP   : ',
        '        TAG                : 0',
        '        DISPLAY_NAME       : App Service',
        '        DEPENDENCIES       : Tcpip',
        '                           : RpcSs',
        '                           : +TDI',
        '        SERVICE_START_NAME : LocalSystem',
        '',
      ].join('\n'),
    );
  });

  it('qc of a kernel driver prints TYPE 1 and BOOT_START', () => {
    expect(r.qcTcpip.out).toContain('        TYPE               : 1  KERNEL_DRIVER');
    expect(r.qcTcpip.out).toContain('        START_TYPE         : 0   BOOT_START');
  });

  it('queryex: STATE number and word, controls line, exit codes, PID and FLAGS', () => {
    const pid = readLabHost(stateDir).services['AppSvc']!.status.pid;
    expect(r.queryex.out.split('\n').slice(0, 11)).toEqual([
      '',
      'SERVICE_NAME: AppSvc',
      '        TYPE               : 10  WIN32_OWN_PROCESS',
      '        STATE              : 4  RUNNING',
      '                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)',
      '        WIN32_EXIT_CODE    : 0  (0x0)',
      '        SERVICE_EXIT_CODE  : 0  (0x0)',
      '        CHECKPOINT         : 0x0',
      '        WAIT_HINT          : 0x0',
      `        PID                : ${pid}`,
      '        FLAGS              : ',
    ]);
  });

  it('query has no PID/FLAGS lines', () => {
    expect(r.query.rc).toBe(0);
    expect(r.query.out).not.toContain('PID');
    expect(r.query.out).toContain('        STATE              : 4  RUNNING');
  });

  it('qdescription, also with no description (empty text, docs/reference/sc-exe.md#output-of-qdescription)', () => {
    expect(r.qdescription.out).toBe('[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: AppSvc\nDESCRIPTION:  Demo app\n');
    expect(r.qdescriptionEmpty.out).toBe('[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: Plain\nDESCRIPTION:  \n');
  });

  it('qfailure: RESTART/RUN PROCESS lines; FAILURE_ACTIONS missing when none; a NONE action ends the list (docs/reference/sc-exe.md#output-of-qfailure)', () => {
    expect(r.qfailure.out).toBe(
      [
        '[SC] QueryServiceConfig2 SUCCESS',
        '',
        'SERVICE_NAME: AppSvc',
        '        RESET_PERIOD (in seconds)    : 86400',
        '        REBOOT_MESSAGE               : ',
        '        COMMAND_LINE                 : ',
        '        FAILURE_ACTIONS              : RESTART -- Delay = 60000 milliseconds.',
        '                                       RESTART -- Delay = 60000 milliseconds.',
        '                                       RUN PROCESS -- Delay = 1000 milliseconds.',
        '',
      ].join('\n'),
    );
    expect(r.qfailureNone.out).not.toContain('FAILURE_ACTIONS');
    expect(r.qfailureNone.out).toContain('RESET_PERIOD (in seconds)    : 0');
    // WaaSMedicSvc (docs/reference/windows-services.md#the-failureactions-registry-value worked example): restart, restart, none -> two lines.
    expect(r.qfailureWaas.out.match(/RESTART -- Delay/g)).toHaveLength(2);
    expect(r.qfailureWaas.out).toContain(': 900');
  });

  it('qfailureflag', () => {
    expect(r.qfailureflag.out).toBe('[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: AppSvc\n        FAILURE_ACTIONS_ON_NONCRASH_FAILURES: FALSE\n');
  });
});

describe('sc.exe exit codes and failure lines (docs/reference/sc-exe.md#failure-lines)', () => {
  it('1060 from OpenService (qc) and EnumQueryServicesStatus:OpenService (query)', () => {
    expect(r.qcMissing).toEqual({ rc: 1060, out: '[SC] OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n' });
    expect(r.queryMissing.rc).toBe(1060);
    expect(r.queryMissing.out.split('\n')[0]).toBe('[SC] EnumQueryServicesStatus:OpenService FAILED 1060:');
  });

  it('accepts the \\\\. server prefix', () => {
    expect(r.queryServer.rc).toBe(0);
  });

  it('start=auto without the space fails (1639): the documented syntax needs "start= auto" (docs/reference/sc-exe.md#spaced-and-unspaced-options)', () => {
    expect(r.noSpace.rc).toBe(1639);
  });

  it('an unknown command is refused', () => {
    expect(r.unknownCmd.rc).toBe(1639);
  });

  it('start= disabled is stored at once; StartService then fails with 1058 (docs/reference/windows-services.md#when-a-change-takes-effect)', () => {
    expect(r.cfgStart.a).toEqual({ rc: 0, out: '[SC] ChangeServiceConfig SUCCESS\n' });
    expect(r.cfgStart.b.out).toContain('START_TYPE         : 4   DISABLED');
    expect(r.startDisabled.rc).toBe(1058);
    expect(r.startDisabled.out.split('\n')[0]).toBe('[SC] StartService FAILED 1058:');
  });

  it('delayed-auto sets the flag; start= auto clears it (docs/reference/windows-services.md#delayed-auto-start-flag start=)', () => {
    expect(r.cfgDelayedToAuto.q1).toContain('2   AUTO_START  (DELAYED)');
    expect(r.cfgDelayedToAuto.q2).toContain('2   AUTO_START\n');
  });

  it('depend= takes /-separated names and +groups; depend= "" clears (docs/reference/sc-exe.md#config-options depend=)', () => {
    expect(r.depend.a).toBe(0);
    expect(r.depend.q).toContain('        DEPENDENCIES       : Tcpip\n                           : RpcSs\n                           : +TDI\n');
    expect(r.dependEmptyLegacy.rc).toBe(1639);
    expect(r.dependClear.a).toBe(0);
    expect(r.dependClear.q).toContain('        DEPENDENCIES       : \n');
    expect(r.dependCycle.rc).toBe(1059);
  });

  it('type= interact alone is an error; with own it gives 110 (docs/reference/sc-exe.md#config-options type=)', () => {
    expect(r.typeInteract.rc).toBe(87);
    expect(r.typeInteractOwn.a).toBe(0);
    expect(r.typeInteractOwn.q).toContain('TYPE               : 110  WIN32_OWN_PROCESS (interactive)');
  });

  it('an unknown account is refused (1057); a duplicate display name too (1078)', () => {
    expect(r.objBad.rc).toBe(1057);
    expect(r.displayDup.rc).toBe(1078);
  });

  it('description: text is data; under Legacy (5.1) its embedded quotes are lost on the way (docs/reference/powershell.md#native-argument-passing)', () => {
    expect(r.description.a).toEqual({ rc: 0, out: '[SC] ChangeServiceConfig2 SUCCESS\n' });
    expect(r.description.q).toContain('DESCRIPTION:  Hello world $(x) ‘q’\n');
  });

  it('failure: reset= needs actions=; only run|restart|reboot; INFINITE prints 4294967295 (docs/reference/sc-exe.md#description-and-failure)', () => {
    expect(r.failureNoReset.rc).toBe(1639);
    expect(r.failureBadWord.rc).toBe(87);
    expect(r.failureSet.a).toEqual({ rc: 0, out: '[SC] ChangeServiceConfig2 SUCCESS\n' });
    expect(r.failureSet.q).toContain('RESET_PERIOD (in seconds)    : 4294967295');
    expect(r.failureSet.q).toContain('REBOOT_MESSAGE               : Rebooting now');
    expect(r.failureSet.q).toContain('COMMAND_LINE                 : C:\\fix.cmd');
    expect(r.failureSet.q).toContain(
      'FAILURE_ACTIONS              : RESTART -- Delay = 5000 milliseconds.\n                                       REBOOT -- Delay = 800 milliseconds.\n                                       RUN PROCESS -- Delay = 1 milliseconds.',
    );
    // Removing all actions also resets the period to 0 (docs/reference/windows-services.md#changing-failure-actions).
    expect(r.failureClear.a).toBe(0);
    expect(r.failureClear.q).toContain('RESET_PERIOD (in seconds)    : 0');
    expect(r.failureClear.q).not.toContain('FAILURE_ACTIONS');
  });

  it('failureflag is positional; "flag=1" is refused (docs/reference/sc-exe.md#failureflag)', () => {
    expect(r.failureflag.a).toEqual({ rc: 0, out: '[SC] ChangeServiceConfig2 SUCCESS\n' });
    expect(r.failureflag.q).toContain('FAILURE_ACTIONS_ON_NONCRASH_FAILURES: TRUE');
    expect(r.failureflag.b).toBe(1639);
  });

  it('start is asynchronous (START_PENDING); stop fails with 1051 while a dependent runs (docs/reference/windows-services.md#win32-error-codes)', () => {
    expect(r.stopWithDependents.start).toBe(0);
    expect(r.stopWithDependents.stop.rc).toBe(1051);
    expect(r.stopWithDependents.stop.out.split('\n')[0]).toBe('[SC] ControlService FAILED 1051:');
    expect(r.stopWithDependents.stopChild).toBe(0);
    // start: a queryex-style block in START_PENDING with the new PID; stop: a query-style block in STOP_PENDING.
    const start = (r.stopWithDependents.startOut as string).split('\n');
    expect(start.slice(0, 5)).toEqual([
      '',
      'SERVICE_NAME: Child',
      '        TYPE               : 10  WIN32_OWN_PROCESS',
      '        STATE              : 2  START_PENDING',
      '                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)',
    ]);
    expect(start[9]).toMatch(/^ {8}PID {16}: [1-9]\d*$/);
    expect(start[10]).toBe('        FLAGS              : ');
    const stop = (r.stopWithDependents.stopOut as string).split('\n');
    expect(stop[3]).toBe('        STATE              : 3  STOP_PENDING');
    expect(stop).toHaveLength(10);
  });
});

describe('Windows PowerShell 5.1 native-argument quoting (docs/reference/powershell.md#native-argument-passing)', () => {
  it('Legacy: embedded quotes are not escaped, so binpath= "\\"C:\\Program Files..." arrives mangled', () => {
    expect(r.legacyMangled.a).toBe(0);
    expect(r.legacyMangled.q).toContain('        BINARY_PATH_NAME   : C:\\Program\n');
  });

  it('Legacy: backslash-escaped quotes arrive intact', () => {
    expect(r.legacyEscaped.q).toContain(`        BINARY_PATH_NAME   : "${IMAGE}" --port ${port} --workers 2\n`);
  });

  it('the argv a native program sees under Legacy and Standard', () => {
    // Legacy joins: binpath= ""C:\a b\x.exe" --a" x"y "c d\"  ('' dropped, x"y verbatim, \" escapes the last
    // quote), which CommandLineToArgvW splits as below.
    expect(r.argvLegacy).toEqual(['binpath=', 'C:\\a', 'b\\x.exe --a', 'xy c', 'd"']);
    expect(r.argvStandard).toEqual(['binpath=', '"C:\\a b\\x.exe" --a', '', 'x"y', 'c d\\']);
  });
});

describe('take effect (docs/reference/windows-services.md#when-a-change-takes-effect)', () => {
  it('a running service keeps its command line until it restarts', () => {
    expect(JSON.parse(argsBefore)).toEqual(['--port', String(port), '--log-level', 'info']);
    // Both binpath changes happened while AppSvc ran (it was never restarted): the process still has its argv.
    expect(argsRunningAfterConfig).toBe(argsBefore);
  });
});
