/**
 * The engine's real I/O: sessions from the transport of each host's connection settings, remote ops through
 * remote/run.ts (the one place that builds invocations and parses frames).
 */
import { runRemote } from '../remote/run.js';
import type { Transport, TransportKind } from '../transport/types.js';
import type { EngineIO } from './types.js';

export type TransportFor = (kind: TransportKind) => Transport;

export function createEngineIO(transportFor: TransportFor): EngineIO {
  return {
    openSession: (host, options) => transportFor(host.connection.transport).open(host.name, host.connection, options),
    runRemote: (session, request, options) => runRemote(session, request, options),
  };
}
