/**
 * The composition root: what `svcfleet` is made of. bin/svcfleet.js calls `main(process.argv)`.
 *
 * - Transports: the production ones (ssh, winrm, pwsh) plus the lab's `local` transport, registered LAZILY: its
 *   module (and the lab runner behind it) is imported only when an inventory actually has a `local` host.
 * - Commands: the production commands from src/cli; `lab` and `demo` are loaded from src/lab with a dynamic
 *   import only when the command line asks for one of them. Otherwise description-only stubs stand in, so
 *   `svcfleet --help` lists them without loading any lab module.
 */
import type { Command } from 'commander';
import type { AppContext, TransportSettings } from './app/context.js';
import { processAppContext, type CliContext } from './cli/context.js';
import { DEMO_DESCRIPTION, LAB_COMMANDS, LAB_DESCRIPTION } from './cli/lab-stubs.js';
import { runCli, type CliOptions } from './cli/main.js';
import { createTransportRegistry, registerBuiltinTransports, type TransportRegistry } from './transport/registry.js';

/**
 * A fresh registry per command (the app disposes it when the command ends). The lab's `local` hosts:
 * SVCFLEET_LAB_RUNNER=pool keeps warm pwsh workers (tests, demo; SVCFLEET_LAB_POOL_SIZE, default 2); the
 * default spawns a fresh pwsh per call, as a real host does.
 */
export function productionTransports(env: Record<string, string | undefined>): (settings: TransportSettings) => TransportRegistry {
  return (settings) => {
    const registry = registerBuiltinTransports(createTransportRegistry(), { ssh: { maxConcurrentHandshakes: settings.handshakeConcurrency } });
    const pool = env.SVCFLEET_LAB_RUNNER === 'pool';
    registry.register('local', async () => {
      // The lab's local transport (moving to ./lab/transport/index.js).
      const { createLocalTransport } = await import('./lab/transport/index.js');
      return createLocalTransport({ runner: pool ? { mode: 'pool', size: Number(env.SVCFLEET_LAB_POOL_SIZE ?? 2) || 2 } : { mode: 'spawn' } });
    });
    return registry;
  };
}

/** The command named on the command line (`help X` names X), if any. */
function commandOf(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/** Registers the lab's commands: the real ones when asked for, else stubs that only describe them. */
export async function registerLab(program: Command, cli: CliContext, argv: readonly string[]): Promise<void> {
  const wanted = commandOf(argv);
  if (wanted && (LAB_COMMANDS as readonly string[]).includes(wanted)) {
    const lab = await import('./lab/cli/index.js');
    lab.registerLabCommands(program, cli);
    return;
  }
  program.command('demo').description(DEMO_DESCRIPTION);
  program.command('lab').description(LAB_DESCRIPTION);
}

export interface MainOverrides {
  /** Replace parts of the process's context (tests). */
  app?: Partial<AppContext>;
  stdout?: CliOptions['stdout'];
  stderr?: CliOptions['stderr'];
}

export function main(argv: string[], overrides: MainOverrides = {}): Promise<number> {
  const base = processAppContext(productionTransports(process.env));
  const app: AppContext = { ...base, ...overrides.app };
  return runCli(argv, {
    app,
    stdout: overrides.stdout ?? process.stdout,
    stderr: overrides.stderr ?? process.stderr,
    extend: (program, cli) => registerLab(program, cli, argv),
  });
}
