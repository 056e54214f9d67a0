/**
 * `svcfleet inventory`: show an inventory the way svcfleet reads it, in the shapes of `ansible-inventory`
 * (--list JSON, --host JSON, --graph text), so an Ansible inventory can be checked before a rollout.
 * Secrets print as [REDACTED] (ansible-inventory prints them); see docs/inventory.md.
 */
import type { Command } from 'commander';
import { InputError } from '../../util/errors.js';
import { loadConfig } from '../../config/load.js';
import type { ConnectionContext } from '../../inventory/connection.js';
import { groupTree, readInventory } from '../../inventory/load.js';
import { graphInventory, hostVariables, listInventory } from '../../inventory/list.js';
import { allHosts, selectHosts } from '../../inventory/pattern.js';
import { inventoryInputs, type InventoryInputFlags } from '../../inventory/source-options.js';
import type { CliContext } from '../context.js';
import { addInventoryInputOptions } from '../flags.js';

interface InventoryFlags extends InventoryInputFlags {
  inventory?: string[];
  list?: boolean;
  host?: string;
  graph?: string | boolean;
  limit?: string[];
  export?: boolean;
  vars?: boolean;
  connections?: boolean;
  config?: string;
}

export function registerInventory(program: Command, cli: CliContext): void {
  const cmd = program
    .command('inventory')
    .description('Show hosts, groups and merged variables as svcfleet reads them (JSON shaped like ansible-inventory).')
    .option('-i, --inventory <source...>', 'inventory file, directory or host list (repeatable)');
  addInventoryInputOptions(cmd, { variadic: true })
    .option('--list', 'all groups and hosts with their merged variables (JSON)')
    .option('--host <host>', "one host's merged variables (JSON)")
    .option('--graph [group]', 'the group tree as text, from GROUP (default all)')
    .option('-l, --limit <pattern...>', 'only hosts matching an Ansible pattern, e.g. "web:&prod:!web03" or @file')
    .option('--export', "with --list: group variables under their groups, host variables only the host's own")
    .option('--vars', 'with --graph: show variables')
    .option('--connections', 'with --list: add _meta.connections, the resolved connection settings (secrets redacted)')
    .option('--config <file>', 'config file (default: searched from the current directory)')
    .addHelpText(
      'after',
      `
Examples:
  svcfleet inventory -i inventory/hosts.ini --list
  svcfleet inventory -i inventory/hosts.ini --list --limit 'web:&prod:!web03'
  svcfleet inventory -i inventory/fleet.yml --host web01
  svcfleet inventory -i inventory/ --graph
  svcfleet inventory -i inventory/lab.yml --list --connections
  svcfleet inventory -i inventory/ --list --vault-id prod@~/.vault-prod --vault-password-file ~/.vault-pass`,
    )
    .action(async (flags: InventoryFlags) => {
      const actions = [flags.list, flags.host !== undefined, flags.graph !== undefined].filter(Boolean).length;
      if (actions !== 1) throw new InputError('use exactly one of --list, --host HOST or --graph [GROUP]', { field: 'inventory' });
      if (!flags.inventory?.length) throw new InputError('no inventory given (use -i FILE)', { field: '--inventory' });
      const cwd = cli.app.cwd;
      const inputs = await inventoryInputs(flags, { env: cli.app.env, cwd, ...(cli.app.prompt ? { prompt: cli.app.prompt } : {}) });
      const data = readInventory({ sources: flags.inventory, cwd, ...inputs });
      const tree = groupTree(data);
      const limit = flags.limit?.length ? flags.limit : undefined;
      const selected = limit ? selectHosts(tree, limit, { cwd, field: '--limit' }) : undefined;
      const warnings = [...data.warnings];
      let out: string;
      if (flags.list) {
        let connections: ConnectionContext | undefined;
        if (flags.connections) {
          const config = await loadConfig({ cwd, env: cli.app.env, ...(flags.config ? { file: flags.config } : {}) });
          warnings.push(...config.warnings);
          connections = { defaults: config.connection, env: cli.app.env, warn: (m) => warnings.push(m) };
        }
        out = JSON.stringify(
          listInventory(data, { ...(selected ? { hosts: selected } : {}), ...(flags.export ? { export: true } : {}), ...(connections ? { connections } : {}) }),
          null,
          4,
        );
      } else if (flags.host !== undefined) {
        const matches = selectHosts(tree, flags.host, { cwd, field: '--host' }).filter((h) => !selected || selected.includes(h));
        if (matches.length !== 1)
          throw new InputError(`--host must name exactly one host; ${JSON.stringify(flags.host)} matches ${matches.length}`, { field: '--host' });
        out = JSON.stringify(hostVariables(data, matches[0]!), null, 4);
      } else {
        const start = typeof flags.graph === 'string' ? flags.graph : 'all';
        if (!data.model.groups.has(start)) throw new InputError(`--graph needs a group name; there is no group ${JSON.stringify(start)}`, { field: '--graph' });
        out = graphInventory(data, start, { ...(flags.vars ? { vars: true } : {}), hosts: selected ?? allHosts(tree) });
      }
      for (const w of warnings) cli.stderr.write(`svcfleet: warning: ${w}\n`);
      cli.stdout.write(`${out}\n`);
    });
}
