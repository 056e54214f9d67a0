/**
 * TransportKind → Transport, for the orchestrator. One instance per kind per run, created on first use: each
 * holds shared resources (the ssh handshake limiter and key cache, idle local PowerShells, the lab runner), so
 * call `dispose()` when the run ends.
 */
import type { LabRunner, LabRunnerOptions } from '../lab/runner/index.js';
import { createLocalTransport } from '../lab/transport/index.js';
import { PwshTransport, type PwshTransportOptions } from './pwsh/transport.js';
import { SshTransport, type SshTransportOptions } from './ssh/transport.js';
import type { Transport, TransportKind } from './types.js';
import { createWinrmTransport, type WinrmTransportOptions } from './winrm/index.js';

export interface TransportRegistryOptions {
  ssh?: SshTransportOptions;
  winrm?: WinrmTransportOptions;
  pwsh?: PwshTransportOptions;
  /** The `local` (lab-only) transport: a shared runner, or options for one it creates (default spawn). */
  local?: { labRunner?: LabRunner; runner?: LabRunnerOptions };
}

export interface TransportRegistry {
  get(kind: TransportKind): Transport;
  /** Disposes every transport created so far. */
  dispose(): Promise<void>;
}

export function createTransportRegistry(options: TransportRegistryOptions = {}): TransportRegistry {
  const made = new Map<TransportKind, Transport>();
  const create = (kind: TransportKind): Transport => {
    switch (kind) {
      case 'ssh':
        return new SshTransport(options.ssh);
      case 'winrm':
        return createWinrmTransport(options.winrm);
      case 'pwsh':
        return new PwshTransport(options.pwsh);
      case 'local':
        return createLocalTransport(options.local ?? {});
      default:
        throw new Error(`svcfleet: no transport is registered as ${JSON.stringify(kind)}`);
    }
  };
  return {
    get(kind) {
      let t = made.get(kind);
      if (!t) {
        t = create(kind);
        made.set(kind, t);
      }
      return t;
    },
    async dispose() {
      const all = [...made.values()];
      made.clear();
      await Promise.all(all.map((t) => t.dispose?.()));
    },
  };
}
