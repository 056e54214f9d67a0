/**
 * Read-only fan-out for `ping` and `inspect`: connect to every host (p-limit), optionally take one service's
 * snapshot, close. Nothing is changed and nothing is journaled, so this does not go through the run scheduler.
 */
import pLimit from 'p-limit';
import type { HostSpec } from '../inventory/types.js';
import { PROTOCOL_VERSION, type Snapshot } from '../remote/protocol.js';
import { DEFAULT_DEADLINES, TransportError, type Deadlines, type TransportErrorClass } from '../transport/types.js';
import { newNonce } from '../remote/invocation.js';
import type { EngineIO } from './types.js';

export interface ProbeResult {
  host: string;
  /** Connected (and, with a service, got an answer from the remote engine). */
  reachable: boolean;
  ms: number;
  snapshot?: Snapshot;
  /** Why not reachable, or why the snapshot failed (e.g. no such service). */
  error?: { code: string; message: string; errorClass?: TransportErrorClass; win32?: number };
}

export interface ProbeOptions {
  io: EngineIO;
  concurrency: number;
  runId: string;
  /** Take this service's snapshot; without it, a connect/close probe. */
  service?: string;
  deadlines?: Partial<Deadlines>;
  signal?: AbortSignal;
  onResult?: (r: ProbeResult) => void;
}

export async function probeHosts(hosts: readonly HostSpec[], opts: ProbeOptions): Promise<ProbeResult[]> {
  const limit = pLimit(Math.max(1, opts.concurrency));
  const deadlines = { ...DEFAULT_DEADLINES, ...opts.deadlines };
  const signal = opts.signal ?? new AbortController().signal;
  return Promise.all(
    hosts.map((host) =>
      limit(async () => {
        const r = await probeOne(host, opts, deadlines, signal);
        opts.onResult?.(r);
        return r;
      }),
    ),
  );
}

async function probeOne(host: HostSpec, opts: ProbeOptions, deadlines: Deadlines, signal: AbortSignal): Promise<ProbeResult> {
  const started = Date.now();
  const fail = (err: unknown): ProbeResult => ({
    host: host.name,
    reachable: false,
    ms: Date.now() - started,
    error:
      err instanceof TransportError
        ? { code: err.reportCode, message: err.message, errorClass: err.errorClass }
        : { code: 'error', message: err instanceof Error ? err.message : String(err) },
  });
  let session;
  try {
    session = await opts.io.openSession(host, { signal, deadlines });
  } catch (err) {
    return fail(err);
  }
  try {
    if (!opts.service) return { host: host.name, reachable: true, ms: Date.now() - started };
    const res = await opts.io.runRemote(
      session,
      { v: PROTOCOL_VERSION, op: 'snapshot', nonce: opts.io.newNonce ? opts.io.newNonce() : newNonce(), runId: opts.runId, service: opts.service },
      { host: host.name, signal, commandMs: deadlines.commandMs },
    );
    const out: ProbeResult = { host: host.name, reachable: true, ms: Date.now() - started };
    if (res.snapshot && res.outcome !== 'failed') out.snapshot = res.snapshot;
    else out.error = { code: res.reason.code, message: res.message, ...(res.reason.win32 !== undefined ? { win32: res.reason.win32 } : {}) };
    return out;
  } catch (err) {
    return fail(err);
  } finally {
    await session.close().catch(() => undefined);
  }
}
