/**
 * LIGHTWEIGHT IN-PROCESS RESPONDER TRANSPORT — benchmark only, never a test of the remote engine.
 *
 * It stands in for a fleet of hosts so that the controller alone is measured: `open` waits a fixed connect
 * latency; `exec` reads the real payload the controller built (remote/invocation.ts), waits a fixed per-op
 * latency and answers with canned, correctly framed RemoteEvents and one RemoteResult (remote/frames.ts), so
 * the controller's real framing parser, engine, journal and reporters do all their work. The responder's own
 * synchronous work (payload parse, frame encoding) is timed and reported separately, so it can be subtracted.
 */
import { FRAME_OPEN } from '../../src/remote/frames.js';
import type { Payload, RemoteEvent, RemoteResult, ServiceConfig, Snapshot } from '../../src/remote/protocol.js';
import { TransportError, type ExecOptions, type ExecResult, type Invocation, type Session, type Transport } from '../../src/transport/types.js';

export interface ResponderLatency {
  connectMs: number;
  planMs: number;
  applyMs: number;
}

const config: ServiceConfig = {
  name: 'MyGoService',
  displayName: 'My Go Service',
  binaryPath: '"C:\\Program Files\\MyGo\\myapp.exe" --port 8081',
  startType: 'auto',
  errorControl: 'normal',
  serviceType: 16,
  account: 'LocalSystem',
  description: 'Payments API',
  dependencies: ['Tcpip'],
  loadOrderGroup: '',
  failure: { resetPeriod: 86400, rebootMessage: '', command: '', actions: [{ type: 'restart', delayMs: 60000 }], nonCrashFailures: false },
  environment: null,
};
export const before: Snapshot = { config, configHash: 'a'.repeat(64), state: 'running', pid: 4242, takenAt: '2026-01-01T00:00:00.000Z', findings: [] };
const after: Snapshot = { ...before, config: { ...config, binaryPath: '"C:\\Program Files\\MyGo\\myapp.exe" --port 8082' }, configHash: 'b'.repeat(64) };
const diff = [{ field: 'binaryPath', before: config.binaryPath, after: after.config.binaryPath, restartNeeded: true }];

/**
 * Leaves its abort listener on the signal after the timer fires, as a careless transport would: the engine must
 * not let that pin a finished host in memory (test/engine/memory.test.ts), and the bench would show it if it did.
 */
function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new TransportError('aborted', 'command', 'aborted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new TransportError('aborted', 'command', 'aborted'));
      },
      { once: true },
    );
  });
}

export class ResponderTransport implements Transport {
  readonly kind = 'local' as const;
  execs = 0;
  constructor(readonly latency: ResponderLatency) {}

  async open(_host: string, _settings: unknown, options: { signal?: AbortSignal }): Promise<Session> {
    await wait(this.latency.connectMs, options.signal);
    return {
      exec: (inv, opts) => this.#exec(inv, opts),
      close: async () => undefined,
    };
  }

  /** Not async itself: an async function would keep `invocation` (the ~130 KB payload) alive across its await. */
  #exec(invocation: Invocation, opts: ExecOptions): Promise<ExecResult> {
    this.execs++;
    return this.#answer(parseRequest(invocation), opts);
  }

  async #answer(req: Payload['request'], opts: ExecOptions): Promise<ExecResult> {
    await wait(req.op === 'apply' ? this.latency.applyMs : this.latency.planMs, opts.signal);
    const stdout = answer(req);
    opts.onStdout?.(stdout);
    return { exitCode: 0, stdout, stderr: '' };
  }
}

const REQUEST_KEY = Buffer.from(',"request":');

/**
 * Only the request is parsed: the payload line is `{"script":"<escaped engine>","request":{...}}`, and inside the
 * escaped script every `"` follows a backslash, so the last `,"request":` is the key. Parsing the whole ~130 KB
 * line per op made the responder, not the controller, the bench's biggest CPU cost.
 */
function parseRequest(invocation: Invocation): Payload['request'] {
  // Like the ssh transport, read the pieces as they are (never join the ~130 KB line): the request is the last
  // piece, `{...}}\n` (remote/invocation.ts).
  const tail = invocation.stdinParts?.at(-1);
  if (tail) return JSON.parse(tail.subarray(0, tail.lastIndexOf(0x7d)).toString('ascii')) as Payload['request'];
  return parsePayloadLine(invocation.stdin);
}

/** The request of one payload line (bytes as the remote host receives them on stdin). */
export function parsePayloadLine(stdin: Buffer): Payload['request'] {
  const at = stdin.lastIndexOf(REQUEST_KEY);
  const end = stdin.lastIndexOf(0x7d); // the payload's closing brace
  return JSON.parse(stdin.subarray(at + REQUEST_KEY.length, end).toString('ascii')) as Payload['request'];
}

/** The answer's frame bodies per op, rebuilt once per wall-clock second (their `at` stays current). */
const bodies = new Map<string, { second: number; frames: string[] }>();

export function answer(req: Payload['request']): string {
  const second = Math.floor(Date.now() / 1000);
  let cached = bodies.get(req.op);
  if (!cached || cached.second !== second) {
    cached = { second, frames: answerFrames(req.op, new Date(second * 1000).toISOString()) };
    bodies.set(req.op, cached);
  }
  // encodeFrame's exact layout (remote/frames.ts): only the nonce differs between hosts.
  return cached.frames.map((b64) => `\n${FRAME_OPEN}${req.nonce}:${b64}>>\n`).join('');
}

function answerFrames(op: Payload['request']['op'], now: string): string[] {
  const events: RemoteEvent[] =
    op === 'apply'
      ? (['snapshot', 'backup', 'apply', 'readback', 'stop', 'start-service', 'verify', 'done'] as const).map((phase) => ({ kind: 'event', phase, at: now }))
      : [
          { kind: 'event', phase: 'snapshot', at: now },
          { kind: 'event', phase: 'plan', at: now },
        ];
  const result: RemoteResult =
    op === 'apply'
      ? {
          kind: 'result',
          op: 'apply',
          outcome: 'changed',
          reason: { code: 'ok' },
          message: 'changed and verified',
          snapshot: before,
          after,
          diff,
          restartNeeded: true,
          restarted: true,
          backupPath: 'C:\\ProgramData\\svcfleet\\backup\\x.json',
        }
      : { kind: 'result', op, outcome: 'changed', reason: { code: 'ok' }, message: 'planned', snapshot: before, diff };
  return [...events, result].map((f) => Buffer.from(JSON.stringify(f), 'utf8').toString('base64'));
}

/**
 * CPU ms the responder itself spends per remote op (parse the payload, encode the answer), measured in a
 * calibration loop before the run, so it can be subtracted from the process's CPU (a per-call cpuUsage()
 * would itself cost more than what it measures).
 */
export function responderCpuMsPerOp(sample: Invocation, rounds = 400): number {
  for (let i = 0; i < 50; i++) answer(parseRequest(sample));
  const t0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) answer(parseRequest(sample));
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000 / rounds;
}
