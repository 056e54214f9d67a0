/**
 * `svcfleet lab invoke <snapshot|plan|apply|rollback> --state DIR --request FILE.json`: runs the real remote engine
 * (ps-scripts/) in local pwsh against an emulated host and prints the RemoteResult as JSON. The request file holds
 * the same request a transport carries (protocol.ts RemoteRequest); `v`, `op` and `nonce` may be left out (the op
 * comes from the command line, a fresh nonce is made for every call). YAML is accepted too (JSON is YAML).
 * Documented in docs/remote-protocol.md.
 *
 * Exit codes: 0 unchanged/changed; 1 bad input (nothing run); 2 failed, drifted or rolled back, or the engine
 * could not be run; 4 rollback failed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { SetExit } from './set-exit.js';
import { ExitCode } from '../../engine/events.js';
import { InputError } from '../../util/errors.js';
import { Secret } from '../../util/secret.js';
import { newNonce, type OutgoingRequest } from '../../remote/invocation.js';
import type { Operation, RemoteEvent, RemoteResult } from '../../remote/protocol.js';
import { PROTOCOL_VERSION } from '../../remote/protocol.js';
import { runRemote } from '../../remote/run.js';
import { remoteRequestSchema } from '../../remote/schema.js';
import { locationOf, parseYamlDocument, validateDocument } from '../../util/document.js';
import { createLocalTransport } from '../transport/index.js';
import { DEFAULT_DEADLINES, TransportError } from '../../transport/types.js';

const OPERATIONS: readonly Operation[] = ['snapshot', 'plan', 'apply', 'rollback'];

export interface LabInvokeOptions {
  state: string;
  request: string;
  runner?: 'spawn' | 'pool';
  /** How the emulated 5.1 passes native arguments: 'legacy' (default, Windows PowerShell 5.1) or 'standard'. */
  nativeArgs?: 'legacy' | 'standard';
  /** Overall deadline, seconds. */
  timeout?: number;
  /** Print the engine's events on stderr as they happen. */
  quiet?: boolean;
}

export interface LabInvokeIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Reads and checks a request file (JSON, or YAML). Throws InputError naming the file, line and field. */
export function readRequestFile(file: string, op: Operation): OutgoingRequest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the request file: ${(err as Error).message}`, { file });
  }
  const doc = parseYamlDocument(text, file);
  if (typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) {
    throw new InputError('the request file must hold one JSON object', { file });
  }
  const given = doc.value as Record<string, unknown>;
  if (given.op !== undefined && given.op !== op) {
    throw new InputError(`the file says op "${String(given.op)}" but the command is "${op}"`, locationOf(doc, ['op']));
  }
  const candidate = {
    ...given,
    v: given.v ?? PROTOCOL_VERSION,
    op,
    // A nonce is only good for one call: always a fresh one.
    nonce: newNonce(),
    runId: given.runId ?? `lab-${new Date().toISOString().replace(/[-:.]/g, '')}`,
  };
  const parsed = validateDocument(remoteRequestSchema, doc, { value: candidate });
  const request: OutgoingRequest = parsed;
  const account = parsed.desired?.account;
  if (account?.password !== undefined) {
    // From here on the password is a Secret: it is revealed only into the payload.
    request.desired = { ...parsed.desired, account: { name: account.name, password: new Secret(account.password) } };
  }
  if (op === 'rollback' && !request.restore) {
    throw new InputError('rollback needs "restore": {"fromRunId": "..."} or {"snapshot": {...}}', { file, field: 'restore' });
  }
  return request;
}

function formatEvent(e: RemoteEvent): string {
  const level = e.level && e.level !== 'info' ? ` ${e.level.toUpperCase()}` : '';
  return `[${e.at}] ${e.phase}${level}: ${e.message ?? ''}\n`;
}

/** The documented exit code for a result (see the file comment). */
export function exitCodeFor(result: RemoteResult): number {
  switch (result.outcome) {
    case 'unchanged':
    case 'changed':
      return ExitCode.ok;
    case 'rollback-failed':
      return ExitCode.rollbackFailed;
    default:
      return ExitCode.hostsFailed;
  }
}

export async function runLabInvoke(op: string, options: LabInvokeOptions, io: LabInvokeIo): Promise<number> {
  if (!OPERATIONS.includes(op as Operation)) {
    throw new InputError(`unknown operation "${op}" (expected one of ${OPERATIONS.join(', ')})`, { field: 'operation' });
  }
  const stateDir = path.resolve(options.state);
  if (!fs.existsSync(path.join(stateDir, 'host.json'))) {
    throw new InputError(`no emulated host here (create one with 'svcfleet lab host init')`, { file: stateDir, field: '--state' });
  }
  const timeoutSeconds = options.timeout ?? 600;
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new InputError('must be a positive number of seconds', { field: '--timeout' });
  const request = readRequestFile(options.request, op as Operation);
  const host = path.basename(stateDir);
  const transport = createLocalTransport({
    runner: { mode: options.runner ?? 'spawn', nativeArgs: options.nativeArgs === 'standard' ? 'Standard' : 'Legacy' },
  });
  try {
    const session = await transport.open(host, { transport: 'local', address: '127.0.0.1', local: { stateDir } }, { deadlines: DEFAULT_DEADLINES });
    try {
      const result = await runRemote(session, request, {
        host,
        commandMs: timeoutSeconds * 1000,
        onEvent: (e) => {
          if (!options.quiet) io.stderr(formatEvent(e));
        },
      });
      io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return exitCodeFor(result);
    } finally {
      await session.close();
    }
  } catch (err) {
    if (err instanceof TransportError) {
      io.stderr(`svcfleet: ${err.message}\n`);
      return ExitCode.hostsFailed;
    }
    throw err;
  } finally {
    await transport.dispose?.();
  }
}

export function registerLabInvokeCommand(lab: Command, setExit: SetExit): void {
  lab
    .command('invoke')
    .description('Run the remote engine (ps-scripts/) against an emulated host and print the result as JSON.')
    .argument('<operation>', 'snapshot | plan | apply | rollback')
    .requiredOption('--state <dir>', 'the emulated host (see `svcfleet lab host init`)')
    .requiredOption('--request <file>', 'the request, as JSON (docs/remote-protocol.md)')
    .option('--runner <mode>', 'spawn (a fresh pwsh, as a real host) or pool (warm pwsh)', 'spawn')
    .option('--native-args <mode>', 'legacy (Windows PowerShell 5.1 quoting) or standard (pwsh 7.3+)', 'legacy')
    .option('--timeout <seconds>', 'overall deadline', (v) => Number(v), 600)
    .option('-q, --quiet', 'do not print the engine events on stderr')
    .addHelpText(
      'after',
      `
Examples:
  svcfleet lab invoke snapshot --state /tmp/lab/web01 --request snapshot.json
  svcfleet lab invoke apply --state /tmp/lab/web01 --request fix.json --runner pool --native-args standard

Exit codes: 0 unchanged/changed, 1 bad input (nothing run), 2 failed/drifted/rolled back (or the engine could not run), 4 rollback failed.`,
    )
    .action(async (operation: string, opts: LabInvokeOptions) => {
      if (opts.runner !== 'spawn' && opts.runner !== 'pool') throw new InputError('must be spawn or pool', { field: '--runner' });
      if (opts.nativeArgs !== 'legacy' && opts.nativeArgs !== 'standard') throw new InputError('must be legacy or standard', { field: '--native-args' });
      const code = await runLabInvoke(operation, opts, {
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
      });
      setExit(code);
    });
}
