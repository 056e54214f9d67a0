/**
 * Test doubles for the dashboard (tests and bench only, never shipped): a scripted RunHandle that records the
 * commands it receives, and a generator of realistic FleetEvent streams for a lab-like fleet with faults.
 */
import type { ActiveState, EngineCommand, FleetEvent, RunDoneEvent, RunHandle, TerminalState } from '../../src/engine/events.js';
import type { RemotePhase } from '../../src/remote/protocol.js';

type Body<E> = E extends FleetEvent ? Omit<E, 'runId' | 'seq' | 'at'> : never;

export class FakeRun implements RunHandle {
  readonly commands: EngineCommand[] = [];
  readonly done: Promise<RunDoneEvent>;
  private listeners = new Set<(e: FleetEvent) => void>();
  private resolveDone!: (e: RunDoneEvent) => void;
  private seq = 0;
  /** Milliseconds since the epoch for the next event's `at`; tests move it forward. */
  clock = Date.parse('2025-01-01T10:00:00.000Z');

  constructor(readonly runId = 'r-20250101-test') {
    this.done = new Promise((res) => (this.resolveDone = res));
  }

  subscribe(listener: (e: FleetEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(command: EngineCommand): void {
    this.commands.push(command);
  }

  /** Emit an already-stamped event (a recorded stream) or a body to stamp now. */
  emit(e: FleetEvent | Body<FleetEvent>): FleetEvent {
    const event = ('seq' in e ? e : { ...e, runId: this.runId, seq: this.seq, at: new Date(this.clock).toISOString() }) as FleetEvent;
    this.seq = Math.max(this.seq, event.seq + 1);
    for (const l of this.listeners) l(event);
    if (event.type === 'run-done') this.resolveDone(event);
    return event;
  }

  emitAll(events: Iterable<FleetEvent>): void {
    for (const e of events) this.emit(e);
  }

  private queued: FleetEvent[] = [];
  /** Keep events to emit once a subscriber is attached (like an engine that starts on the next tick). */
  queue(events: FleetEvent[]): void {
    this.queued.push(...events);
  }
  flush(): void {
    const q = this.queued;
    this.queued = [];
    this.emitAll(q);
  }
}

export type Fault = 'access-denied' | 'crash' | 'unreachable' | 'rollback-fails' | 'drift';

export interface FleetScriptOptions {
  hosts: number;
  prefix?: string;
  faults?: Record<number, Fault>;
  canary?: number;
  batchSize?: number;
  runId?: string;
  /** Log lines per host (besides the phase lines). */
  logLines?: number;
  startAt?: number;
  /** Simulated duration per host, ms. */
  hostMs?: number;
  /** Stop after this many hosts finished (to leave a run in progress). */
  stopAfter?: number;
}

export const hostName = (prefix: string, i: number, n: number) => `${prefix}${String(i + 1).padStart(Math.max(2, String(n).length), '0')}`;

/**
 * A whole run as a recorded stream: canary, then batches; each batch's hosts go through the phases
 * interleaved (as a concurrent engine would emit them); faults fail in their typical phase.
 */
export function fleetScript(o: FleetScriptOptions): FleetEvent[] {
  const prefix = o.prefix ?? 'web';
  const runId = o.runId ?? 'r-20250101-demo';
  const names = Array.from({ length: o.hosts }, (_, i) => hostName(prefix, i, o.hosts));
  const canary = names.slice(0, o.canary ?? 1);
  const rest = names.slice(canary.length);
  const batchSize = o.batchSize ?? 10;
  const batches: string[][] = [canary];
  for (let i = 0; i < rest.length; i += batchSize) batches.push(rest.slice(i, i + batchSize));
  const out: FleetEvent[] = [];
  let seq = 0;
  let t = o.startAt ?? Date.parse('2025-01-01T10:00:00.000Z');
  const hostMs = o.hostMs ?? 4000;
  const push = (body: Body<FleetEvent>, dt = 5) => {
    t += dt;
    out.push({ ...body, runId, seq: seq++, at: new Date(t).toISOString() } as FleetEvent);
  };
  push({
    type: 'run-start',
    mode: 'apply',
    specFile: 'hotfix.yaml',
    services: ['DemoSvc'],
    hosts: names,
    strategy: { concurrency: batchSize, canary, batches: batches.slice(1).map((b) => b.length), failureBudget: 3 },
  });
  const startedAt = new Map<string, string>();
  let failures = 0;
  let finished = 0;
  const counts: Partial<Record<TerminalState, number>> = {};
  for (const [bi, batch] of batches.entries()) {
    if (o.stopAfter !== undefined && finished >= o.stopAfter) break;
    push({ type: 'batch-start', index: bi, total: batches.length, canary: bi === 0, hosts: batch });
    const steps: [ActiveState, RemotePhase | undefined][] = [
      ['connecting', undefined],
      ['snapshot', 'snapshot'],
      ['backup', 'backup'],
      ['applying', 'apply'],
      ['restarting', 'stop'],
      ['restarting', 'start-service'],
      ['verifying', 'verify'],
    ];
    const stepMs = Math.round(hostMs / (steps.length + 1) / Math.max(1, batch.length));
    for (const [si, [state, phase]] of steps.entries()) {
      for (const h of batch) {
        const fault = o.faults?.[names.indexOf(h)];
        if (fault === 'unreachable' && si > 0) continue;
        if (fault === 'access-denied' && si > 3) continue;
        if (fault === 'drift' && si > 1) continue;
        push({ type: 'host-phase', host: h, state, remotePhase: phase, service: 'DemoSvc' }, stepMs);
        if (!startedAt.has(h)) startedAt.set(h, out[out.length - 1]!.at);
        if (state === 'snapshot' && fault !== 'unreachable') {
          push({
            type: 'host-diff',
            host: h,
            service: 'DemoSvc',
            configHash: `sha256:${h}`,
            changes: [
              { field: 'binaryPath', before: `C:\\svc\\demo.exe --port 18001`, after: `C:\\svc\\demo.exe --port 18001 --log-level warn`, restartNeeded: true },
              { field: 'description', before: 'Demo service', after: 'Demo service (hot-fixed)', restartNeeded: false },
            ],
          });
        }
        for (let l = 0; l < (o.logLines ?? 1); l++) {
          push({ type: 'host-log', host: h, level: 'info', text: `${state}: step ${l + 1} on ${h}` }, 1);
        }
      }
    }
    for (const h of batch) {
      const fault = o.faults?.[names.indexOf(h)];
      const started = startedAt.get(h)!;
      const done = (outcome: TerminalState, code: string, message: string, extra: { win32?: number; errorClass?: 'unreachable' } = {}) => {
        push(
          {
            type: 'host-done',
            host: h,
            outcome,
            reason: { code, ...extra },
            message,
            attempts: outcome === 'unreachable' ? 3 : 1,
            timings: { startedAt: started, endedAt: new Date(t + 5).toISOString(), ms: t + 5 - Date.parse(started) },
            service: 'DemoSvc',
          },
          5,
        );
        counts[outcome] = (counts[outcome] ?? 0) + 1;
        finished++;
      };
      switch (fault) {
        case 'access-denied':
          push({ type: 'host-log', host: h, level: 'error', text: 'ChangeServiceConfig: Access is denied.' }, 1);
          done('failed', 'win32', 'access denied', { win32: 5 });
          failures++;
          break;
        case 'crash':
        case 'rollback-fails':
          push({ type: 'host-log', host: h, level: 'error', text: 'service exited 2s after start (pid changed)' }, 1);
          push({ type: 'host-phase', host: h, state: 'rolling-back', remotePhase: 'rollback', service: 'DemoSvc' }, 20);
          if (fault === 'crash') done('rolled-back', 'verify-settle', 'service crashed after start; restored');
          else done('rollback-failed', 'win32', 'rollback could not restore the binary path', { win32: 1072 });
          failures++;
          break;
        case 'unreachable':
          done('unreachable', 'unreachable', 'connect ECONNREFUSED 127.0.0.1:5986', { errorClass: 'unreachable' });
          break;
        case 'drift':
          done('drifted', 'drift', 'config changed since plan');
          break;
        default:
          done('changed', 'ok', `changed 2 fields; restarted in ${(hostMs / 1000).toFixed(1)}s`);
      }
      if (fault && fault !== 'unreachable' && fault !== 'drift') {
        push({ type: 'budget', used: failures, limit: 3, exceeded: failures > 3 });
      }
    }
  }
  if (o.stopAfter === undefined) {
    push({ type: 'run-done', counts, exitCode: failures ? 2 : 0, ms: t - Date.parse(out[0]!.at) });
  }
  return out;
}
