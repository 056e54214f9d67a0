/**
 * svcfleet's public API: the use cases of the command line as typed functions (docs/api.md).
 *
 *   import { plan, apply, createTransportRegistry, registerBuiltinTransports } from 'svcfleet';
 *
 * Each use case takes its options and an explicit context (env, cwd, where hosts are reached, an optional
 * prompt and terminal) and resolves with a typed result; follow a run live through `context.onEvent`.
 * Bad input rejects with an InputError before any host is contacted.
 */
export { plan, type PlanOptions, type PlanResult } from './app/plan.js';
export { apply, type ApplyOptions, type RunResult } from './app/apply.js';
export { rollback, type RollbackOptions, type RollbackResult, type NothingToDo } from './app/rollback.js';
export { resume, retry, type ContinueOptions, type ContinueResult } from './app/continue.js';
export { listRuns, readRun, type RunListing, type ShowOptions } from './app/runs.js';
export { inspect, type InspectOptions, type InspectResult } from './app/inspect.js';
export { ping, type PingOptions, type PingResult } from './app/ping.js';
export { render, type RenderOptions, type RenderResult, type RenderedRequest } from './app/render.js';
export type { AppContext, DashboardHook, TransportSettings, TransportSource } from './app/context.js';
export type { ConfigOptions } from './app/config.js';
export type { TargetOptions } from './app/targets.js';
export type { LiveOptions, LiveView, RunView } from './app/run.js';
export type { ProbeResult } from './app/probe.js';

export { loadInventory, type LoadInventoryOptions, type LoadedInventory } from './inventory/load.js';
export type { HostSpec } from './inventory/types.js';
export { loadSpec, type ChangeSpec } from './spec/load.js';
export type { ConfigInput } from './config/schema.js';

export {
  createTransportRegistry,
  registerBuiltinTransports,
  type BuiltinTransportOptions,
  type TransportFactory,
  type TransportRegistry,
} from './transport/registry.js';
export type { Transport, Session, ConnectionSettings } from './transport/types.js';

export {
  ExitCode,
  type FleetEvent,
  type FleetEventType,
  type RunStartEvent,
  type BatchStartEvent,
  type HostPhaseEvent,
  type HostLogEvent,
  type HostDiffEvent,
  type HostDoneEvent,
  type BudgetEvent,
  type RunPausedEvent,
  type RunResumedEvent,
  type RunAbortEvent,
  type RunDoneEvent,
  type RunHandle,
  type RunMode,
  type HostState,
  type TerminalState,
  type EngineCommand,
} from './engine/events.js';
export type { Outcome, FieldChange } from './remote/protocol.js';
export type { PlanEntry, PlanSummary } from './plan/group.js';
export { InputError } from './util/errors.js';
