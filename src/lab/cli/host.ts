/**
 * `svcfleet lab host init --state DIR --service NAME --binary-path '...'`: create an emulated Windows host with one
 * running service and print what was created as JSON (docs/lab.md). `svcfleet lab host stop --state DIR` kills its
 * service processes.
 */
import type { Command } from 'commander';
import type { SetExit } from './set-exit.js';
import { InputError } from '../../util/errors.js';
import type { StartType } from '../../remote/protocol.js';
import { initLabHost, readLabHost, stopLabHost, type LabFaultOp, type LabFaultSpec } from '../host.js';
import { SCM_KINDS as FAULT_KINDS, SCM_OPS as FAULT_OPS } from '../fleet/fault-spec.js';

const START_TYPES: readonly StartType[] = ['boot', 'system', 'auto', 'delayed-auto', 'demand', 'disabled'];

/** Default binary path when only --port is given: a quoted path with spaces, like a typical installed service. */
export const DEFAULT_IMAGE = 'C:\\Program Files\\Svcfleet Lab\\app.exe';

/**
 * A fault as `KIND[:key=value,...]` (keys: service, ops (a+b), contains, nth, times, afterMs, when, since) or as JSON.
 * `contains` takes the rest of the text after `contains=` so it may hold commas.
 */
export function parseFault(text: string): LabFaultSpec {
  const field = '--fault';
  let spec: Record<string, unknown>;
  if (text.trim().startsWith('{')) {
    try {
      spec = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(`not valid JSON: ${(err as Error).message}`, { field });
    }
  } else {
    const colon = text.indexOf(':');
    spec = { kind: colon < 0 ? text : text.slice(0, colon) };
    let rest = colon < 0 ? '' : text.slice(colon + 1);
    while (rest) {
      const eq = rest.indexOf('=');
      if (eq < 1) throw new InputError(`expected key=value in ${JSON.stringify(rest)}`, { field });
      const key = rest.slice(0, eq);
      let value: string;
      if (key === 'contains') {
        value = rest.slice(eq + 1);
        rest = '';
      } else {
        const comma = rest.indexOf(',', eq);
        value = comma < 0 ? rest.slice(eq + 1) : rest.slice(eq + 1, comma);
        rest = comma < 0 ? '' : rest.slice(comma + 1);
      }
      spec[key] = ['nth', 'times', 'afterMs'].includes(key) ? Number(value) : key === 'ops' ? value.split('+') : value;
    }
  }
  const kind = spec['kind'];
  if (!FAULT_KINDS.includes(kind as LabFaultSpec['kind']))
    throw new InputError(`unknown fault kind ${JSON.stringify(kind)} (one of ${FAULT_KINDS.join(', ')})`, { field });
  for (const key of Object.keys(spec)) {
    if (!['kind', 'service', 'ops', 'contains', 'nth', 'times', 'afterMs', 'when', 'since'].includes(key))
      throw new InputError(`unknown fault key ${JSON.stringify(key)}`, { field });
  }
  for (const key of ['nth', 'times', 'afterMs']) {
    const v = spec[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0)) throw new InputError(`${key} must be a non-negative integer`, { field });
  }
  if (spec['ops'] !== undefined) {
    if (!Array.isArray(spec['ops']) || spec['ops'].some((o) => !FAULT_OPS.includes(o as LabFaultOp))) {
      throw new InputError(`ops must be a list of ${FAULT_OPS.join(', ')}`, { field });
    }
  }
  if (spec['when'] !== undefined && spec['when'] !== 'before' && spec['when'] !== 'after') throw new InputError('when must be before or after', { field });
  if (spec['since'] !== undefined && !FAULT_OPS.includes(spec['since'] as LabFaultOp)) {
    throw new InputError(`since must be one of ${FAULT_OPS.join(', ')}`, { field });
  }
  return spec as unknown as LabFaultSpec;
}

interface InitFlags {
  state: string;
  service: string;
  binaryPath?: string;
  port?: string;
  displayName?: string;
  description?: string;
  startType?: string;
  depend?: string[];
  env?: string[];
  fault?: string[];
  startTimeoutMs?: string;
  replace?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerLabHostCommands(lab: Command, setExit: SetExit): void {
  const host = lab
    .command('host')
    .description('Emulated Windows hosts (state directories) on this machine.')
    .addHelpText('after', '\nExamples:\n  svcfleet lab host init --state /tmp/lab/web01 --service AppSvc --port 18001\n  svcfleet lab host init --help');
  host
    .command('init')
    .description('Create an emulated Windows host with one registered, running service; prints what it created as JSON.')
    .requiredOption('--state <dir>', 'state directory of the host (created)')
    .requiredOption('--service <name>', 'service name')
    .option('--binary-path <path>', "the service's binary path, e.g. '\"C:\\Program Files\\App\\app.exe\" --port 18001'")
    .option('--port <n>', `with no --binary-path: '"${DEFAULT_IMAGE}" --port N'`)
    .option('--display-name <text>', 'display name (default: the service name)')
    .option('--description <text>', 'description')
    .option('--start-type <type>', `one of ${START_TYPES.join(', ')} (default auto)`)
    .option('--depend <name>', 'service dependency (repeatable; +Group for a group)', collect)
    .option('--env <NAME=value>', 'entry of the Environment value (repeatable)', collect)
    .option(
      '--fault <spec>',
      `fault: KIND[:service=S,ops=start+stop,nth=N,times=N,afterMs=N,when=before|after,since=OP,contains=TEXT] or JSON (repeatable); KIND is one of ${FAULT_KINDS.join(', ')}`,
      collect,
    )
    .option('--start-timeout-ms <ms>', 'StartService timeout (default 30000)')
    .option('--replace', 'recreate the host if the state directory already holds one')
    .addHelpText(
      'after',
      `
Examples:
  svcfleet lab host init --state /tmp/lab/web01 --service AppSvc --port 18001
  svcfleet lab host init --state /tmp/lab/web02 --service AppSvc \\
      --binary-path '"C:\\Program Files\\App\\app.exe" --port 18002 --log-level info' \\
      --fault 'start-timeout:contains=--workers 8' --start-timeout-ms 3000
  svcfleet lab host init --state /tmp/lab/web03 --service AppSvc --port 18003 \\
      --fault 'engine-dies:ops=config,nth=2,when=after'`,
    )
    .action(async (flags: InitFlags) => {
      let binaryPath = flags.binaryPath;
      if (flags.port !== undefined) {
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError('must be a TCP port (1-65535)', { field: '--port' });
        binaryPath ??= `"${DEFAULT_IMAGE}" --port ${port}`;
      }
      if (!binaryPath) throw new InputError('give --binary-path (or --port for the default lab program path)', { field: '--binary-path' });
      if (flags.startType !== undefined && !START_TYPES.includes(flags.startType as StartType)) {
        throw new InputError(`must be one of ${START_TYPES.join(', ')}`, { field: '--start-type' });
      }
      const environment: Record<string, string> = {};
      for (const e of flags.env ?? []) {
        const eq = e.indexOf('=');
        if (eq < 1) throw new InputError(`expected NAME=value, got ${JSON.stringify(e)}`, { field: '--env' });
        environment[e.slice(0, eq)] = e.slice(eq + 1);
      }
      const startTimeoutMs = flags.startTimeoutMs === undefined ? undefined : Number(flags.startTimeoutMs);
      if (startTimeoutMs !== undefined && !(Number.isInteger(startTimeoutMs) && startTimeoutMs > 0)) {
        throw new InputError('must be a positive integer', { field: '--start-timeout-ms' });
      }
      const faults = (flags.fault ?? []).map(parseFault);
      let info;
      try {
        info = await initLabHost({
          stateDir: flags.state,
          replace: flags.replace ?? false,
          faults,
          ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
          services: [
            {
              name: flags.service,
              binaryPath,
              ...(flags.displayName !== undefined ? { displayName: flags.displayName } : {}),
              ...(flags.description !== undefined ? { description: flags.description } : {}),
              ...(flags.startType !== undefined ? { startType: flags.startType as StartType } : {}),
              ...(flags.depend ? { dependencies: flags.depend } : {}),
              ...(flags.env ? { environment } : {}),
            },
          ],
        });
      } catch (err) {
        throw new InputError((err as Error).message, { file: flags.state, field: '--state' });
      }
      const state = readLabHost(info.stateDir);
      process.stdout.write(`${JSON.stringify({ ...info, startTimeoutMs: state.startTimeoutMs, installedFiles: state.installedFiles, faults }, null, 2)}\n`);
      setExit(0);
    });
  host
    .command('stop')
    .description("Kill an emulated host's service processes (its state directory stays).")
    .requiredOption('--state <dir>', 'state directory of the host')
    .addHelpText('after', '\nExamples:\n  svcfleet lab host stop --state /tmp/lab/web01')
    .action(async (flags: { state: string }) => {
      await stopLabHost(flags.state);
      setExit(0);
    });
}
