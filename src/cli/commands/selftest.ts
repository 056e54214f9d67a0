/**
 * `svcfleet selftest -i INVENTORY --limit HOST [--junit FILE]`: prove svcfleet on one host before trusting it with
 * a fleet (docs/selftest.md). Thin: flags → src/app/selftest.ts → exit code.
 */
import type { Command } from 'commander';
import { selftestCommand } from '../../app/selftest.js';
import type { SetExit } from './index.js';

interface SelftestFlags {
  inventory?: string[];
  limit?: string;
  junit?: string;
  config?: string;
}

export function registerSelftest(program: Command, setExit: SetExit): void {
  program
    .command('selftest')
    .description('Prove svcfleet on one host: a scratch service, every scenario through the real engine, checked independently; the host is left as found.')
    .requiredOption('-i, --inventory <source...>', 'inventory file, directory or host list')
    .requiredOption('-l, --limit <host>', 'the ONE host to test')
    .option('--junit <file>', 'also write a JUnit XML report (one testcase per scenario)')
    .option('--config <file>', 'config file (default: searched from the current directory)')
    .addHelpText('after', '\nExamples:\n  svcfleet selftest -i inventory/hosts.ini --limit web01 --junit selftest.xml')
    .action(async (flags: SelftestFlags) => {
      const code = await selftestCommand({
        inventory: flags.inventory ?? [],
        limit: flags.limit ?? '',
        ...(flags.junit !== undefined ? { junit: flags.junit } : {}),
        ...(flags.config !== undefined ? { config: flags.config } : {}),
        cwd: process.cwd(),
        env: process.env,
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      });
      setExit(code);
    });
}
