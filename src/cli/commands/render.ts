/** `svcfleet render`: the exact bootstrap and stdin payload one host would get (secrets redacted). Contacts nothing. */
import type { Command } from 'commander';
import { render } from '../../app/render.js';
import { asciiJson } from '../../remote/invocation.js';
import { InputError } from '../../util/errors.js';
import { type CliContext, printer } from '../context.js';
import { addTargetOptions, configOptions, jsonOutput, type RunFlags, targetOptions } from '../flags.js';

type RenderFlags = RunFlags & { host?: string; full?: boolean };

export function registerRender(program: Command, cli: CliContext): void {
  const cmd = addTargetOptions(
    program
      .command('render')
      .description('Print the exact bootstrap and stdin payload that would go to one host (secrets redacted). Contacts nothing.')
      .argument('[spec]', 'change spec')
      .option('--spec <file>', 'change spec (instead of the argument)')
      .option('--host <host>', 'the host to render for')
      .option('--full', 'include the whole remote engine script in the payload'),
    { journal: false, live: false },
  );
  jsonOutput(
    cmd,
    `  svcfleet render fix.yaml --host web01 -i inventory/prod.ini
  svcfleet render fix.yaml --host web01 -i inventory/prod.ini --output json | jq '.requests[0].payload.request'`,
  ).action(async (specArg: string | undefined, f: RenderFlags) => {
    const spec = specArg ?? f.spec;
    if (!spec) throw new InputError('no change spec given: svcfleet render SPEC --host HOST -i INVENTORY', { field: 'SPEC' });
    if (!f.host) throw new InputError('which host? use --host HOST', { field: '--host' });
    const { host, requests } = await render({ ...configOptions(f), ...targetOptions(f), spec, host: f.host, ...(f.full ? { full: true } : {}) }, cli.app);
    const { out } = printer(cli);
    if (f.output === 'json') {
      out(JSON.stringify({ host: host.name, transport: host.connection.transport, address: host.connection.address, requests }, null, 2));
      return;
    }
    out(`# host ${host.name}: transport ${host.connection.transport}, ${host.connection.address}${host.connection.port ? `:${host.connection.port}` : ''}`);
    for (const r of requests) {
      out(`# service ${r.service}${r.passwordFrom ? ` (account password from ${JSON.stringify(r.passwordFrom)}, shown as [REDACTED])` : ''}`);
      out('# command line:');
      out(`powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${r.encodedCommand}`);
      out('# bootstrap (the -EncodedCommand, decoded; the same for every host and call):');
      out(r.bootstrap.trimEnd());
      out('# stdin: one JSON line (non-ASCII escaped as \\uXXXX on the wire):');
      out(asciiJson(r.payload));
      if (r.passwordLine) {
        out('# stdin line 2: the account password, never inside the JSON line (hex of its UTF-8 bytes):');
        out(r.passwordLine);
      }
    }
  });
}
