/**
 * The `local` transport (lab only): the "host" is an emulated Windows host's state dir on this machine
 * (ConnectionSettings.local.stateDir), and each invocation runs in local pwsh with the emulated SCM through the
 * lab runner (src/lab/runner). Never used for a real host. Not a built-in transport: the CLI registers it under
 * the name `local` through a dynamic import of this module, the only entry point of the lab's transport.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLabRunner, type LabRunner, type LabRunnerOptions } from '../runner/index.js';
import {
  TransportError,
  type ConnectionSettings,
  type ExecOptions,
  type ExecResult,
  type Invocation,
  type OpenOptions,
  type Session,
  type Transport,
} from '../../transport/types.js';

export interface LocalTransportOptions {
  /** Share a runner (e.g. a warm pool) between transports; otherwise one is created from `runner`. */
  labRunner?: LabRunner;
  /** Default { mode: 'spawn' }: a fresh pwsh per call, as a real host does. */
  runner?: LabRunnerOptions;
}

export function createLocalTransport(options: LocalTransportOptions = {}): Transport {
  const owned = options.labRunner ? null : createLabRunner(options.runner ?? { mode: 'spawn' });
  const runner = options.labRunner ?? owned!;
  return {
    kind: 'local',
    async open(host: string, settings: ConnectionSettings, open: OpenOptions): Promise<Session> {
      if (open.signal?.aborted) throw new TransportError('aborted', 'connect', 'aborted');
      const stateDir = settings.local?.stateDir;
      if (!stateDir) throw new TransportError('unreachable', 'connect', `${host}: transport local needs local.stateDir`);
      const dir = path.resolve(stateDir);
      // "Connecting" = the emulated host exists.
      if (!fs.existsSync(path.join(dir, 'host.json'))) {
        throw new TransportError('unreachable', 'connect', `${host}: no emulated host in ${dir} (create it with 'svcfleet lab host init')`);
      }
      let closed = false;
      return {
        exec(invocation: Invocation, exec: ExecOptions): Promise<ExecResult> {
          if (closed) return Promise.reject(new TransportError('remote-failed', 'command', `${host}: session closed`));
          return runner.run(dir, invocation, exec);
        },
        async close() {
          closed = true;
        },
      };
    },
    async dispose() {
      await owned?.close();
    },
  };
}
