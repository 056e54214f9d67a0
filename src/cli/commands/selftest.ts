/**
 * `svcfleet selftest -i INVENTORY --limit HOST [--junit FILE]`: prove svcfleet on one host before trusting it with
 * a fleet (docs/selftest.md). Thin: flags → src/app/selftest.ts → exit code.
 */
import type { Command } from 'commander';
import { selftest } from '../../app/selftest.js';
import { type CliContext, printer } from '../context.js';

interface SelftestFlags {
  inventory?: string[];
  limit?: string;
  junit?: string;
  config?: string;
}

export function registerSelftest(program: Command, cli: CliContext): void {
  program
    .command('selftest')
    .description('Prove svcfleet on one host: a scratch service, every scenario through the real engine, checked independently; the host is left as found.')
    .requiredOption('-i, --inventory <source...>', 'inventory file, directory or host list')
    .requiredOption('-l, --limit <host>', 'the ONE host to test')
    .option('--junit <file>', 'also write a JUnit XML report (one testcase per scenario)')
    .option('--config <file>', 'config file (default: searched from the current directory)')
    .addHelpText('after', '\nExamples:\n  svcfleet selftest -i inventory/hosts.ini --limit web01 --junit selftest.xml')
    .action(async (flags: SelftestFlags) => {
      const { out } = printer(cli);
      const { exitCode } = await selftest(
        {
          inventory: flags.inventory ?? [],
          limit: flags.limit ?? '',
          out,
          ...(flags.junit !== undefined ? { junit: flags.junit } : {}),
          ...(flags.config !== undefined ? { configFile: flags.config } : {}),
        },
        cli.app,
      );
      cli.setExit(exitCode);
    });
}
