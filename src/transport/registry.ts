/**
 * An open registry of transports by kind. Kinds are plain strings: the production kinds (ssh, winrm, pwsh) are
 * registered by `registerBuiltinTransports`, and anything else (the lab's `local` transport) is registered by
 * whoever composes the program, so this module never loads lab code.
 *
 * Factories may be async (a lazy `import()`): `prepare(kinds)` awaits each needed factory once, after which
 * `get(kind)` is synchronous — the engine asks for a host's transport on its hot path. Each transport holds
 * shared resources (the ssh handshake limiter and key cache, idle local PowerShells), so call `dispose()` when
 * the run ends; a later `prepare` builds fresh ones.
 */
import { InputError } from '../util/errors.js';
import { PwshTransport, type PwshTransportOptions } from './pwsh/transport.js';
import { SshTransport, type SshTransportOptions } from './ssh/transport.js';
import type { Transport } from './types.js';
import { createWinrmTransport, type WinrmTransportOptions } from './winrm/index.js';

export type TransportFactory = () => Transport | Promise<Transport>;

export interface TransportRegistry {
  /** Add (or replace) the factory for a kind; nothing is built until `prepare`. */
  register(kind: string, factory: TransportFactory): void;
  /** Build the transports of these kinds (each once); an unregistered kind is an InputError naming it. */
  prepare(kinds: Iterable<string>): Promise<void>;
  /** A prepared transport (synchronous); throws if `prepare` did not build it. */
  get(kind: string): Transport;
  /** The kinds that have a factory. */
  kinds(): string[];
  /** Disposes every transport built so far. */
  dispose(): Promise<void>;
}

export function createTransportRegistry(): TransportRegistry {
  const factories = new Map<string, TransportFactory>();
  const made = new Map<string, Promise<Transport>>();
  const ready = new Map<string, Transport>();
  return {
    register(kind, factory) {
      factories.set(kind, factory);
    },
    async prepare(kinds) {
      const wanted = [...new Set(kinds)];
      const unknown = wanted.filter((k) => !factories.has(k));
      if (unknown.length) {
        const known = [...factories.keys()].join(', ') || 'none';
        throw new InputError(`no transport registered for kind ${unknown.map((k) => JSON.stringify(k)).join(', ')} (registered: ${known})`, {
          field: 'transport',
        });
      }
      await Promise.all(
        wanted.map(async (kind) => {
          let p = made.get(kind);
          if (!p) {
            p = Promise.resolve().then(() => factories.get(kind)!());
            made.set(kind, p);
          }
          ready.set(kind, await p);
        }),
      );
    },
    get(kind) {
      const t = ready.get(kind);
      if (!t) throw new Error(`transport ${JSON.stringify(kind)} was not prepared (call prepare([kind]) first)`);
      return t;
    },
    kinds: () => [...factories.keys()],
    async dispose() {
      const all = [...made.values()];
      made.clear();
      ready.clear();
      const settled = await Promise.allSettled(all);
      await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.dispose?.() : undefined)));
    },
  };
}

export interface BuiltinTransportOptions {
  ssh?: SshTransportOptions;
  winrm?: WinrmTransportOptions;
  pwsh?: PwshTransportOptions;
}

/** The production transports: ssh, winrm and pwsh (PowerShell remoting through a local pwsh). */
export function registerBuiltinTransports(registry: TransportRegistry, options: BuiltinTransportOptions = {}): TransportRegistry {
  registry.register('ssh', () => new SshTransport(options.ssh));
  registry.register('winrm', () => createWinrmTransport(options.winrm));
  registry.register('pwsh', () => new PwshTransport(options.pwsh));
  return registry;
}
