/**
 * The scheduler: runs every host of a run to a recorded terminal state under the rollout strategy, and turns
 * the per-host work into the run's one event stream.
 *
 * - Canary hosts form batch 0; every one must end changed/unchanged before any other host starts.
 * - Batches run one after the other (a wave finishes before the next starts); inside a batch, p-limit keeps at
 *   most `concurrency` hosts in flight (a sliding window).
 * - Failure budget: when counted failures exceed it, no new host starts; in-flight hosts finish (SSM MaxErrors
 *   semantics, docs/reference/fleet-rollout.md#concurrency-and-error-budget); optionally the current batch's changed hosts are rolled back.
 * - Commands (pause, resume, abort finish|cancel, retry, exclude, rollback) are the only way to steer a run.
 * - Abort `finish` (also the budget's and a canary's): queued hosts end `skipped`; in-flight hosts that have not
 *   sent an apply request yet (connecting, retry backoff, planning) stop and end `skipped`; those that have
 *   finish. Abort `cancel`: in-flight hosts are cut off through their AbortSignal and restored from their
 *   before-snapshot (host-flow.ts).
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { DEFAULT_DEADLINES, type Deadlines } from '../transport/types.js';
import { EventBus, type EventBody } from './bus.js';
import type { EngineCommand, FleetEvent, HostDoneEvent, RunAbortEvent, RunDoneEvent, RunHandle, RunPausedEvent, TerminalState } from './events.js';
import { restoreHost, runHost, type AppliedService, type HostAbortReason, type HostContext, type HostHaltReason, type HostResult } from './host-flow.js';
import { countsAsFailure, exitCodeFor, isOk } from './outcome.js';
import { newRunId } from './run-id.js';
import { DEFAULT_STRATEGY, resolveBudget, resolveSize, splitBatches, type Strategy } from '../config/strategy.js';
import type { HostTask, RunOptions } from './types.js';

type SlotState = 'pending' | 'running' | 'done';

interface Slot {
  name: string;
  task: HostTask;
  state: SlotState;
  canary: boolean;
  outcome?: TerminalState;
  /** Rolled back on request (command or batch rollback): does not count against the failure budget. */
  onRequest?: boolean;
  /** Currently counted against the failure budget. */
  counted?: boolean;
  attempts: number;
  applied: AppliedService[];
  /** Fires on cancel or the host deadline. */
  controller?: AbortController;
  /** Fires on cancel, the host deadline or a halt: what the host's read-only steps listen to (host-flow.ts). */
  readOnly?: AbortController;
  /** Why the run was aborted while the host ran: it stops if it has not sent a change yet (host-flow.ts). */
  halt?: HostHaltReason;
}

/** Cut a running host off (cancel or its deadline): both of its signals fire (a halt fired `readOnly` already). */
function stopHost(slot: Slot, reason: HostAbortReason): void {
  slot.controller?.abort(reason);
  slot.readOnly?.abort(reason);
}

export function startRun(options: RunOptions): RunHandle {
  return new Run(options).handle;
}

const DEFAULT_ROLLBACK_MS = 180_000;

class Run {
  readonly handle: RunHandle;
  readonly #bus: EventBus;
  readonly #opts: RunOptions;
  readonly #strategy: Strategy;
  readonly #deadlines: Deadlines;
  readonly #slots = new Map<string, Slot>();
  readonly #order: string[] = [];
  readonly #limit: LimitFunction;
  readonly #budgetLimit: number;
  readonly #extra = new Set<Promise<void>>();
  readonly #started = Date.now();
  #paused: RunPausedEvent['reason'] | undefined;
  #resumeWaiters: (() => void)[] = [];
  #abort: RunAbortEvent['reason'] | undefined;
  #cancelled = false;
  #budgetExceeded = false;
  #used = 0;
  #finished = false;

  constructor(opts: RunOptions) {
    this.#opts = opts;
    this.#strategy = { ...DEFAULT_STRATEGY, ...stripUndefined(opts.strategy ?? {}) };
    this.#deadlines = { ...DEFAULT_DEADLINES, ...stripUndefined(opts.deadlines ?? {}) };
    const runId = opts.runId ?? newRunId();
    this.#bus = new EventBus(runId, opts.seqStart ?? 1, opts.onSinkError);
    this.#limit = pLimit(Math.max(1, this.#strategy.concurrency));
    const canary = new Set(this.#strategy.canary);
    for (const task of opts.tasks) {
      const name = task.host.name;
      if (this.#slots.has(name)) throw new Error(`host ${name} appears twice in the run`);
      this.#slots.set(name, { name, task, state: 'pending', canary: canary.has(name), attempts: 0, applied: [] });
      this.#order.push(name);
    }
    this.#budgetLimit = resolveBudget(this.#strategy.maxFailures, this.#order.length);
    let resolveDone!: (e: RunDoneEvent) => void;
    let rejectDone!: (err: unknown) => void;
    const done = new Promise<RunDoneEvent>((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    this.handle = {
      runId,
      subscribe: (listener) => this.#bus.subscribe(listener),
      send: (command) => this.#command(command),
      done,
    };
    // Start on the next turn so that callers can subscribe first and see every event.
    setImmediate(() => {
      this.#main().then(resolveDone, rejectDone);
    });
  }

  #emit(body: EventBody): FleetEvent {
    return this.#bus.emit(body);
  }

  async #main(): Promise<RunDoneEvent> {
    const s = this.#strategy;
    const canaryNames = this.#order.filter((n) => this.#slots.get(n)!.canary);
    const rest = this.#order.filter((n) => !this.#slots.get(n)!.canary);
    const batches: { hosts: string[]; canary: boolean }[] = [];
    if (canaryNames.length) batches.push({ hosts: canaryNames, canary: true });
    for (const b of splitBatches(rest, s.batches)) batches.push({ hosts: b, canary: false });

    const services = new Set<string>();
    for (const slot of this.#slots.values()) {
      for (const c of slot.task.changes ?? []) services.add(c.service);
      for (const c of slot.task.restores ?? []) services.add(c.service);
    }
    this.#emit({
      type: 'run-start',
      mode: this.#opts.mode,
      ...(this.#opts.specFile ? { specFile: this.#opts.specFile } : {}),
      ...(this.#opts.planDigest ? { planDigest: this.#opts.planDigest } : {}),
      services: [...services],
      hosts: [...this.#order],
      strategy: {
        concurrency: s.concurrency,
        canary: canaryNames,
        batches: s.batches.map((b) => resolveSize(b, rest.length)),
        failureBudget: this.#budgetLimit,
        ...(s.canaryDefault && canaryNames.length ? { canaryDefault: true } : {}),
      },
    });

    for (const [index, batch] of batches.entries()) {
      if (this.#stopped()) break;
      this.#emit({ type: 'batch-start', index, total: batches.length, canary: batch.canary, hosts: batch.hosts });
      await Promise.all(batch.hosts.map((name) => this.#limit(() => this.#startHost(name, false))));
      await this.#settle();
      if (batch.canary && !this.#abort) {
        const bad = batch.hosts.filter((n) => !isOk(this.#slots.get(n)!.outcome ?? 'skipped', this.#opts.mode));
        if (bad.length) this.#doAbort('canary', 'finish');
      }
      if (this.#budgetExceeded && s.rollbackBatchOnBudget) {
        const changed = batch.hosts.filter((n) => this.#slots.get(n)!.outcome === 'changed');
        if (changed.length) {
          this.#rollbackHosts(changed, 'batch-rollback');
          await this.#settle();
        }
      }
    }
    this.#skipPending();
    await this.#settle();

    this.#finished = true;
    const counts: Partial<Record<TerminalState, number>> = {};
    for (const slot of this.#slots.values()) {
      const o = slot.outcome ?? 'skipped';
      counts[o] = (counts[o] ?? 0) + 1;
    }
    return this.#emit({
      type: 'run-done',
      counts,
      exitCode: exitCodeFor(counts, this.#abort !== undefined, this.#opts.mode),
      ms: Date.now() - this.#started,
    }) as RunDoneEvent;
  }

  /** Wait until command-started work is done and no on-failure question is open. */
  async #settle(): Promise<void> {
    for (;;) {
      while (this.#extra.size) await Promise.all([...this.#extra]);
      if (this.#paused !== 'on-failure') return;
      await this.#gate();
    }
  }

  #stopped(): boolean {
    return this.#abort !== undefined;
  }

  #gate(): Promise<void> {
    if (!this.#paused) return Promise.resolve();
    return new Promise<void>((res) => this.#resumeWaiters.push(res)).then(() => this.#gate());
  }

  async #startHost(name: string, explicit: boolean): Promise<void> {
    await this.#gate();
    const slot = this.#slots.get(name)!;
    if (slot.state !== 'pending') return; // excluded or skipped while queued
    // Explicit retries may run past an exceeded budget (a person asked for them), never past an abort.
    if (this.#abort && (!explicit || this.#abort !== 'budget')) {
      this.#finish(slot, skippedResult(slot, this.#abort));
      return;
    }
    slot.state = 'running';
    // Two signals, fired directly rather than linked by listeners: linking (AbortSignal.any, or listeners of our
    // own) cost an AbortController and four listener calls per host, ~4% of the controller's CPU at 10,000 hosts.
    const controller = new AbortController();
    const readOnly = new AbortController();
    slot.controller = controller;
    slot.readOnly = readOnly;
    slot.halt = undefined;
    if (this.#cancelled) stopHost(slot, { kind: 'cancel' });
    const deadlineMs = this.#strategy.hostDeadlineMs;
    const timer = deadlineMs > 0 ? setTimeout(() => stopHost(slot, { kind: 'deadline' }), deadlineMs) : undefined;
    const started = Date.now();
    const result = await runHost({
      ...this.#context(slot, controller.signal, deadlineMs > 0 ? started + deadlineMs : Infinity),
      readOnly: readOnly.signal,
      halted: () => slot.halt,
    });
    if (timer) clearTimeout(timer);
    slot.controller = undefined;
    slot.readOnly = undefined;
    slot.halt = undefined;
    slot.applied = result.applied;
    this.#finish(slot, result, started);
  }

  #context(slot: Slot, signal: AbortSignal, deadlineAt: number): HostContext {
    const o = this.#opts;
    return {
      runId: this.handle.runId,
      mode: o.mode,
      task: slot.task,
      io: o.io,
      ...(o.snapshots ? { snapshots: o.snapshots } : {}),
      deadlines: this.#deadlines,
      retries: this.#strategy.retries,
      retryBaseMs: this.#strategy.retryBaseMs,
      rollbackMs: o.rollbackMs ?? DEFAULT_ROLLBACK_MS,
      signal,
      deadlineAt,
      emit: (body) => this.#emit(body),
      sleep: o.sleep ?? ((ms, sig) => sleepTimer(ms, undefined, sig ? { signal: sig } : {})),
    };
  }

  #finish(slot: Slot, result: Omit<HostResult, 'applied'>, startedAt?: number): void {
    slot.state = 'done';
    slot.outcome = result.outcome;
    slot.attempts += result.attempts;
    const ended = new Date();
    const body: Omit<HostDoneEvent, 'runId' | 'seq' | 'at'> = {
      type: 'host-done',
      host: slot.name,
      outcome: result.outcome,
      reason: result.reason,
      message: result.message,
      attempts: slot.attempts,
      timings: {
        ...(startedAt !== undefined ? { startedAt: new Date(startedAt).toISOString() } : {}),
        endedAt: ended.toISOString(),
        ms: startedAt !== undefined ? ended.getTime() - startedAt : 0,
      },
      ...(result.service ? { service: result.service } : {}),
    };
    this.#emit(body);
    this.#updateBudget(slot);
  }

  #updateBudget(slot: Slot): void {
    // O(1) per host-done: each slot remembers whether it is currently counted (a retry or a requested
    // rollback can change that), so 1,000 hosts do not rescan 1,000 slots each.
    const failedNow = slot.outcome !== undefined && !slot.onRequest && countsAsFailure(slot.outcome, this.#strategy.countUnreachable, this.#opts.mode);
    const changed = failedNow !== (slot.counted ?? false);
    if (changed) {
      this.#used += failedNow ? 1 : -1;
      slot.counted = failedNow;
    }
    if (changed || failedNow) {
      const exceeded = this.#used > this.#budgetLimit;
      this.#emit({ type: 'budget', used: this.#used, limit: this.#budgetLimit, exceeded });
      if (exceeded && !this.#budgetExceeded) {
        this.#budgetExceeded = true;
        if (!this.#abort) this.#doAbort('budget', 'finish');
      }
    }
    // Guided failure asks about every host that did not make it, unreachable ones included.
    const asks =
      slot.outcome !== undefined && !isOk(slot.outcome, this.#opts.mode) && slot.outcome !== 'skipped' && slot.outcome !== 'drifted' && !slot.onRequest;
    if (asks && this.#strategy.onFailure === 'ask' && !this.#abort && !this.#finished) {
      this.#pause('on-failure', slot.name);
    }
  }

  #pause(reason: RunPausedEvent['reason'], host?: string): void {
    if (this.#paused) return;
    this.#paused = reason;
    this.#emit({ type: 'run-paused', reason, ...(host ? { host } : {}) });
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = undefined;
    this.#emit({ type: 'run-resumed' });
    const waiters = this.#resumeWaiters;
    this.#resumeWaiters = [];
    for (const w of waiters) w();
  }

  #doAbort(reason: RunAbortEvent['reason'], inFlight: 'finish' | 'cancel'): void {
    const escalate = inFlight === 'cancel' && !this.#cancelled;
    if (this.#abort && !escalate) return;
    this.#abort ??= reason;
    this.#emit({ type: 'run-abort', reason, inFlight });
    // Hosts in flight that have not sent a change yet stop before changing anything (an explicit retry past an
    // exceeded budget started after this point, so it is not touched by the budget's abort).
    for (const slot of this.#slots.values()) {
      if (slot.state === 'running' && slot.readOnly && !slot.halt) {
        slot.halt = { kind: 'halt', abort: reason };
        slot.readOnly.abort(slot.halt);
      }
    }
    if (inFlight === 'cancel') {
      this.#cancelled = true;
      for (const slot of this.#slots.values()) {
        if (slot.state === 'running') stopHost(slot, { kind: 'cancel' });
      }
    }
    this.#skipPending();
    // Hosts parked at the pause gate must see the abort and end `skipped`.
    if (this.#paused) this.#resume();
  }

  #skipPending(): void {
    for (const name of this.#order) {
      const slot = this.#slots.get(name)!;
      if (slot.state === 'pending') this.#finish(slot, skippedResult(slot, this.#abort));
    }
  }

  #track(p: Promise<void>): void {
    this.#extra.add(p);
    void p.finally(() => this.#extra.delete(p));
  }

  #rollbackHosts(names: string[], why: 'batch-rollback' | 'user-rollback'): void {
    for (const name of names) {
      const slot = this.#slots.get(name);
      if (slot?.state !== 'done' || slot.applied.length === 0) {
        this.#log(
          name,
          'warn',
          `rollback: nothing to roll back (${slot ? (slot.state === 'done' ? 'no change was sent' : 'still running') : 'not in this run'})`,
        );
        continue;
      }
      if (slot.outcome === 'rolled-back') continue;
      slot.state = 'running';
      const applied = slot.applied;
      this.#track(
        this.#limit(async () => {
          const started = Date.now();
          const controller = new AbortController();
          const result = await restoreHost(this.#context(slot, controller.signal, Infinity), applied);
          slot.onRequest = true;
          const outcome = result.outcome === 'unchanged' ? 'rolled-back' : result.outcome;
          this.#finish(slot, { ...result, outcome, reason: outcome === 'rolled-back' ? { code: why } : result.reason }, started);
        }),
      );
    }
  }

  #log(host: string, level: 'info' | 'warn', text: string): void {
    this.#emit({ type: 'host-log', host, level, text });
  }

  #command(command: EngineCommand): void {
    if (this.#finished) return;
    switch (command.type) {
      case 'pause':
        this.#pause('user');
        return;
      case 'resume':
        this.#resume();
        return;
      case 'abort':
        this.#doAbort(command.reason ?? 'user', command.inFlight);
        return;
      case 'exclude': {
        const slot = this.#slots.get(command.host);
        if (!slot) return;
        if (slot.state === 'pending') this.#finish(slot, { outcome: 'skipped', reason: { code: 'excluded' }, message: 'excluded by the user', attempts: 0 });
        else this.#log(slot.name, 'warn', `exclude: host is ${slot.state === 'running' ? 'already running' : 'already done'}; not changed`);
        return;
      }
      case 'retry': {
        for (const name of command.hosts) {
          const slot = this.#slots.get(name);
          if (slot?.state !== 'done' || isOk(slot.outcome!) || slot.outcome === 'rollback-failed') {
            this.#log(name, 'warn', 'retry: only a host that ended failed, rolled-back, unreachable, unknown, drifted or skipped can be retried');
            continue;
          }
          if (this.#abort && this.#abort !== 'budget') {
            this.#log(name, 'warn', 'retry: the run was aborted');
            continue;
          }
          slot.state = 'pending';
          slot.outcome = undefined;
          slot.onRequest = false;
          this.#track(this.#limit(() => this.#startHost(name, true)));
        }
        if (this.#paused === 'on-failure') this.#resume();
        return;
      }
      case 'rollback':
        this.#rollbackHosts(command.hosts, 'user-rollback');
        return;
    }
  }
}

function skippedResult(_slot: Slot, abort: RunAbortEvent['reason'] | undefined): Omit<HostResult, 'applied'> {
  const why = abort === 'budget' ? 'failure budget exceeded' : abort === 'canary' ? 'a canary host failed' : 'run aborted';
  return { outcome: 'skipped', reason: { code: abort ? `abort-${abort}` : 'not-started' }, message: `not started: ${why}; nothing changed`, attempts: 0 };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
