/**
 * The command line: builds the commander program and maps errors to the documented exit codes (docs/cli.md):
 * 0 ok, 1 usage/config/input error (nothing contacted), 2 hosts failed or rolled back, 3 aborted, 4 a rollback
 * failed. Which commands exist beyond the production ones (the lab's) is the caller's choice: `extend`.
 */
import { Command, CommanderError } from 'commander';
import type { AppContext } from '../app/context.js';
import { ExitCode } from '../engine/events.js';
import type { LineWriter } from '../report/ndjson.js';
import { InputError } from '../util/errors.js';
import { registerCommands } from './commands/index.js';
import type { CliContext } from './context.js';

export interface CliOptions {
  app: AppContext;
  stdout: LineWriter & { isTTY?: boolean };
  stderr: LineWriter;
  /** Register more commands (src/main.ts: the lab's, or their stubs). */
  extend?: (program: Command, cli: CliContext) => void | Promise<void>;
}

export function createProgram(): Command {
  return new Command('svcfleet')
    .description('Hot-fix already-registered Windows services across a fleet, with per-host rollback.')
    .showHelpAfterError()
    .exitOverride();
}

export async function runCli(argv: string[], options: CliOptions): Promise<number> {
  const program = createProgram();
  let exitCode: number = ExitCode.ok;
  const cli: CliContext = {
    app: options.app,
    stdout: options.stdout,
    stderr: options.stderr,
    setExit: (code) => {
      exitCode = code;
    },
  };
  registerCommands(program, cli);
  try {
    await options.extend?.(program, cli);
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof InputError) {
      options.stderr.write(`svcfleet: ${err.format()}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
}
