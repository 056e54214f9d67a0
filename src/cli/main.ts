/**
 * CLI entry: builds the commander program from the command modules and maps errors to documented exit codes
 * (docs/cli.md): 0 ok, 1 usage/config/input error (nothing contacted), 2 hosts failed or rolled back,
 * 3 aborted, 4 a rollback failed.
 */
import { Command, CommanderError } from 'commander';
import { InputError } from '../util/errors.js';
import { ExitCode } from '../engine/events.js';
import { registerCommands } from './commands/index.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('svcfleet')
    .description('Hot-fix already-registered Windows services across a fleet, with per-host rollback.')
    .showHelpAfterError()
    .exitOverride();
  let exitCode: number = ExitCode.ok;
  registerCommands(program, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof InputError) {
      process.stderr.write(`svcfleet: ${err.format()}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
}
