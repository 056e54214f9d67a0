/**
 * IN-MEMORY FAKE FLEET for scheduler tests (not the lab): each host holds one service configuration per
 * service name; `io.runRemote` answers snapshot/plan/apply/rollback like the remote engine's contract
 * (src/remote/protocol.ts) would — drift guard, backup, verify failure → restore — with injectable faults.
 * The scenarios also run on real emulated hosts in test/app/fleet/.
 */
import { createHash } from 'node:crypto';
import type { HostSpec } from '../../src/inventory/types.js';
import type { EngineIO, RemoteCallOptions, ServiceChange } from '../../src/engine/types.js';
import type { FieldChange, RemoteRequest, RemoteResult, ServiceConfig, Snapshot } from '../../src/remote/protocol.js';
import { TransportError, type Session } from '../../src/transport/types.js';
import { Secret } from '../../src/util/secret.js';

export interface Faults {
  /** Connect fails with `unreachable` this many times (Infinity: always). */
  unreachable?: number;
  authFailed?: boolean;
  /** Verification fails after the change: the remote engine restores → rolled-back. */
  verifyFails?: boolean;
  /** ...and the restore fails too → rollback-failed. */
  rollbackFails?: boolean;
  /** The connection drops during this many plan calls (read-only, before any apply request). */
  dropDuringPlan?: number;
  /** The connection drops right after the apply changed the config. */
  dropAfterApply?: boolean;
  /** Apply changes the config and then hangs until aborted. */
  hangApply?: boolean;
  /** The service is missing: plan fails. */
  noService?: boolean;
  /** Extra latency per op, ms. */
  latencyMs?: number;
  /** The session reports this warning while it opens (as a transport reports TLS verification switched off). */
  openWarning?: string;
  /** Only for this service (multi-service tests). */
  service?: string;
}

export interface Call {
  host: string;
  op: RemoteRequest['op'] | 'open';
  service?: string;
  at: number;
  expectedHash?: string;
}

export function baseConfig(name: string, binaryPath = 'C:\\app\\app.exe --port 1'): ServiceConfig {
  return {
    name,
    displayName: name,
    binaryPath,
    startType: 'auto',
    errorControl: 'normal',
    serviceType: 16,
    account: 'LocalSystem',
    description: '',
    dependencies: [],
    loadOrderGroup: '',
    failure: { resetPeriod: 0, rebootMessage: '', command: '', actions: [], nonCrashFailures: false },
    environment: null,
  };
}

export function hashConfig(c: ServiceConfig): string {
  return createHash('sha256').update(JSON.stringify(c)).digest('hex');
}

interface FakeHost {
  services: Map<string, ServiceConfig>;
  /** The host's own backups, by run id and service (what restore.fromRunId reads). */
  backups: Map<string, ServiceConfig>;
  faults: Faults;
  connectFailures: number;
}

let tick = 0;

export class FakeFleet {
  readonly hosts = new Map<string, FakeHost>();
  readonly calls: Call[] = [];
  /** Ops currently running, and the peak (concurrency checks). */
  active = 0;
  peak = 0;

  constructor(names: string[], services: string[] = ['Svc'], faults: Record<string, Faults> = {}) {
    for (const n of names) {
      const m = new Map<string, ServiceConfig>();
      for (const s of services) m.set(s, baseConfig(s));
      this.hosts.set(n, { services: m, backups: new Map(), faults: faults[n] ?? {}, connectFailures: 0 });
    }
  }

  spec(name: string): HostSpec {
    return { name, groups: [], vars: {}, connection: { transport: 'local', address: '127.0.0.1', local: { stateDir: `/nonexistent/${name}` } } };
  }

  config(host: string, service = 'Svc'): ServiceConfig {
    return this.hosts.get(host)!.services.get(service)!;
  }

  setFaults(host: string, faults: Faults): void {
    this.hosts.get(host)!.faults = faults;
  }

  /** Hosts that received an apply request. */
  applied(): string[] {
    return [...new Set(this.calls.filter((c) => c.op === 'apply').map((c) => c.host))];
  }

  contacted(): string[] {
    return [...new Set(this.calls.map((c) => c.host))];
  }

  readonly io: EngineIO = {
    openSession: async (host, options) => {
      const h = this.hosts.get(host.name)!;
      this.calls.push({ host: host.name, op: 'open', at: tick++ });
      await delay(h.faults.latencyMs ?? 0, options.signal, 'connect');
      if (h.faults.openWarning) options.onWarning?.(h.faults.openWarning);
      if (h.faults.authFailed) throw new TransportError('auth-failed', 'auth', 'access denied');
      if (h.faults.unreachable && h.connectFailures < h.faults.unreachable) {
        h.connectFailures++;
        throw new TransportError('unreachable', 'connect', 'connect ECONNREFUSED 127.0.0.1:5986');
      }
      const session: Session = {
        exec: async () => {
          throw new Error('the fake fleet answers through io.runRemote');
        },
        close: async () => undefined,
      };
      sessions.set(session, host.name);
      return session;
    },
    runRemote: async (session, request, options) => {
      const name = sessions.get(session)!;
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      try {
        // What the host would receive: the password revealed on the wire only (remote/invocation.ts).
        const pw = request.desired?.account?.password;
        const wire = (
          pw instanceof Secret ? { ...request, desired: { ...request.desired, account: { ...request.desired!.account!, password: pw.reveal() } } } : request
        ) as RemoteRequest;
        return await this.#answer(name, wire, options);
      } finally {
        this.active--;
      }
    },
  };

  async #answer(name: string, req: RemoteRequest, options: RemoteCallOptions): Promise<RemoteResult> {
    const h = this.hosts.get(name)!;
    this.calls.push({ host: name, op: req.op, service: req.service, at: tick++, ...(req.expectedHash ? { expectedHash: req.expectedHash } : {}) });
    const f = h.faults.service && h.faults.service !== req.service ? {} : h.faults;
    await delay(h.faults.latencyMs ?? 0, options.signal);
    if (options.signal?.aborted) throw new TransportError('aborted', 'command', 'aborted');
    const cfg = h.services.get(req.service);
    if (!cfg || f.noService) {
      return {
        kind: 'result',
        op: req.op,
        outcome: 'failed',
        reason: { code: 'no-such-service', win32: 1060 },
        message: `service ${req.service} does not exist`,
      };
    }
    const snap = snapshotOf(cfg);
    const ev = (phase: Parameters<NonNullable<RemoteCallOptions['onEvent']>>[0]['phase'], message?: string): void =>
      options.onEvent?.({ kind: 'event', phase, at: new Date().toISOString(), ...(message ? { message } : {}) });
    switch (req.op) {
      case 'snapshot':
        return { kind: 'result', op: 'snapshot', outcome: 'unchanged', reason: { code: 'ok' }, message: 'ok', snapshot: snap };
      case 'plan': {
        ev('snapshot');
        if (f.dropDuringPlan && f.dropDuringPlan-- > 0) throw new TransportError('remote-failed', 'command', 'connection lost mid-command');
        const diff = diffOf(cfg, req.desired ?? {});
        return { kind: 'result', op: 'plan', outcome: diff.length ? 'changed' : 'unchanged', reason: { code: 'ok' }, message: 'planned', snapshot: snap, diff };
      }
      case 'apply': {
        if (req.expectedHash && req.expectedHash !== snap.configHash) {
          return {
            kind: 'result',
            op: 'apply',
            outcome: 'drifted',
            reason: { code: 'drift' },
            message: 'configuration changed since the plan',
            snapshot: snap,
          };
        }
        ev('backup');
        if (!h.backups.has(`${req.runId}/${req.service}`)) h.backups.set(`${req.runId}/${req.service}`, cfg);
        const diff = diffOf(cfg, req.desired ?? {});
        const next = { ...cfg, ...(req.desired as Partial<ServiceConfig>) };
        ev('apply', 'applying');
        h.services.set(req.service, next);
        if (f.hangApply) {
          await new Promise<void>((_, reject) => {
            const fail = (): void => reject(new TransportError('aborted', 'command', 'aborted'));
            if (options.signal?.aborted) fail();
            options.signal?.addEventListener('abort', fail, { once: true });
          });
        }
        if (f.dropAfterApply) throw new TransportError('remote-failed', 'command', 'connection reset by peer');
        ev('stop');
        ev('start-service');
        ev('verify');
        if (f.verifyFails) {
          ev('rollback', 'verification failed: port 8081 not listening; restoring');
          if (f.rollbackFails) {
            return {
              kind: 'result',
              op: 'apply',
              outcome: 'rollback-failed',
              reason: { code: 'win32', win32: 5 },
              message: 'access denied',
              snapshot: snap,
              diff,
              rollback: { ok: false, message: 'access denied' },
            };
          }
          h.services.set(req.service, cfg);
          return {
            kind: 'result',
            op: 'apply',
            outcome: 'rolled-back',
            reason: { code: 'verify-port' },
            message: 'port 8081 not listening after start',
            snapshot: snap,
            diff,
            rollback: { ok: true, message: 'restored' },
          };
        }
        return { kind: 'result', op: 'apply', outcome: 'changed', reason: { code: 'ok' }, message: 'changed', snapshot: snap, after: snapshotOf(next), diff };
      }
      case 'rollback': {
        ev('rollback');
        const target = req.restore?.snapshot?.config ?? (req.restore?.fromRunId ? h.backups.get(`${req.restore.fromRunId}/${req.service}`) : undefined);
        if (!target) return { kind: 'result', op: 'rollback', outcome: 'rollback-failed', reason: { code: 'no-backup' }, message: 'no backup for that run' };
        if (f.rollbackFails)
          return { kind: 'result', op: 'rollback', outcome: 'rollback-failed', reason: { code: 'win32', win32: 5 }, message: 'access denied' };
        if (hashConfig(target) === snap.configHash)
          return { kind: 'result', op: 'rollback', outcome: 'unchanged', reason: { code: 'ok' }, message: 'already at the snapshot' };
        h.services.set(req.service, target);
        return {
          kind: 'result',
          op: 'rollback',
          outcome: 'rolled-back',
          reason: { code: 'ok' },
          message: req.restore?.snapshot ? 'restored' : 'restored from the host backup',
          snapshot: snapshotOf(target),
        };
      }
    }
  }
}

const sessions = new WeakMap<Session, string>();

export function snapshotOf(cfg: ServiceConfig): Snapshot {
  return { config: cfg, configHash: hashConfig(cfg), state: 'running', pid: 100, takenAt: new Date().toISOString(), findings: [] };
}

function diffOf(cfg: ServiceConfig, desired: object): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [k, v] of Object.entries(desired)) {
    const before = (cfg as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(before) !== JSON.stringify(v)) out.push({ field: k, before, after: v, restartNeeded: k === 'binaryPath' });
  }
  return out;
}

function delay(ms: number, signal?: AbortSignal, phase: 'connect' | 'command' = 'command'): Promise<void> {
  if (!ms) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new TransportError('aborted', phase, 'aborted'));
      },
      { once: true },
    );
  });
}

export const CHANGE: ServiceChange = { service: 'Svc', desired: { binaryPath: 'C:\\app\\app.exe --port 2' }, restart: 'if-needed', rollback: 'auto' };
