/** `svcfleet ping`: connect to every host (and take a service's snapshot). Changes nothing. */
import type { Command } from 'commander';
import { ping } from '../../app/ping.js';
import { foldHosts } from '../../util/hostrange.js';
import { type CliContext, printer } from '../context.js';
import { addTargetOptions, configOptions, jsonOutput, type RunFlags, targetOptions } from '../flags.js';

export function registerPing(program: Command, cli: CliContext): void {
  const cmd = addTargetOptions(
    program
      .command('ping')
      .description("Connect to every host (and, with --service, take that service's snapshot). Changes nothing.")
      .option('--service <name>', "also read this service's configuration through the remote engine"),
    { journal: false, live: false },
  );
  jsonOutput(
    cmd,
    `  svcfleet ping -i inventory/prod.ini
  svcfleet ping -i inventory/prod.ini --limit web --service MyGoService
Exit codes: 0 every host answered, 1 input error, 2 some hosts did not.`,
  ).action(async (f: RunFlags & { service?: string }) => {
    const { out } = printer(cli);
    const json = f.output === 'json';
    const result = await ping(
      {
        ...configOptions(f),
        ...targetOptions(f),
        ...(f.service ? { service: f.service } : {}),
        onResult: (r) => {
          if (!json)
            out(
              r.reachable && !r.error
                ? `${r.host} ok ${r.ms} ms`
                : `${r.host} ${r.reachable ? 'reached, but' : 'unreachable:'} ${r.error?.code ?? ''}: ${r.error?.message ?? ''}`,
            );
        },
      },
      cli.app,
    );
    if (json) out(JSON.stringify(result.results, null, 2));
    else
      out(
        `${result.results.length - result.failed.length}/${result.results.length} hosts answered${result.failed.length ? `; not ok: ${foldHosts(result.failed.map((b) => b.host))}` : ''}`,
      );
    cli.setExit(result.exitCode);
  });
}
