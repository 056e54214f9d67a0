/**
 * The lab runner: runs one Invocation (the -EncodedCommand bootstrap + its stdin payload) in pwsh with the
 * emulated Windows SCM loaded for an emulated host's state dir.
 *  - 'spawn': a fresh pwsh per call, what a real host does (slow: ~2 s of pwsh start-up per call);
 *  - 'pool':  warm pwsh workers, a fresh runspace per call (fast; for big test fleets and the demo).
 * Both behave like `powershell.exe -EncodedCommand <b64>` with a redirected stdin under Windows PowerShell 5.1:
 * native arguments use 5.1's legacy quoting unless `nativeArgs: 'Standard'` (see docs/lab.md).
 */
import type { ExecOptions, ExecResult, Invocation } from '../../transport/types.js';
import { LabPool } from './pool.js';
import { runSpawned, type NativeArgumentPassing } from './spawn.js';

export type { NativeArgumentPassing } from './spawn.js';

export interface LabRunnerOptions {
  mode: 'spawn' | 'pool';
  /** pool: number of warm workers (default 2). */
  size?: number;
  /** How PowerShell passes arguments to native programs (sc.exe, icacls.exe). Default 'Legacy' (5.1). */
  nativeArgs?: NativeArgumentPassing;
}

export interface LabRunner {
  readonly mode: 'spawn' | 'pool';
  run(stateDir: string, invocation: Invocation, options: ExecOptions): Promise<ExecResult>;
  /** pool: start the workers now instead of on first use. */
  warm(): Promise<void>;
  close(): Promise<void>;
}

export function createLabRunner(options: LabRunnerOptions): LabRunner {
  const nativeArgs = options.nativeArgs ?? 'Legacy';
  if (options.mode === 'spawn') {
    return {
      mode: 'spawn',
      run: (stateDir, invocation, o) => runSpawned(stateDir, invocation, o, nativeArgs),
      warm: async () => {},
      close: async () => {},
    };
  }
  const pool = new LabPool(Math.max(1, options.size ?? 2), nativeArgs);
  return {
    mode: 'pool',
    run: (stateDir, invocation, o) => pool.run(stateDir, invocation, o),
    warm: () => pool.warm(),
    close: () => pool.close(),
  };
}
