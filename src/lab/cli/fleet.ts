/** `svcfleet lab up` and `svcfleet lab down` (owned by the transports work); see docs/lab-fleet.md. */
import type { Command } from 'commander';
import type { SetExit } from './set-exit.js';
import { InputError } from '../../util/errors.js';
import { SCM_KINDS, type LabTransportSet } from '../fleet/fault-spec.js';
import type { CbtHardeningLevel } from '../winrm/kerberos-acceptor.js';
import { detachLabUp, labDown, runLabUp, type LabUpOptions } from '../fleet/supervisor.js';

interface UpFlags {
  hosts: string;
  transport: string;
  faults?: string;
  inventory?: string;
  dir?: string;
  detach?: boolean;
  winrmScheme?: string;
  auth?: string;
  cbtHardening?: string;
}

function upOptions(f: UpFlags): LabUpOptions {
  if (!f.inventory) throw new InputError('--inventory FILE is required (where to write the lab inventory)', { field: '--inventory' });
  if (!/^\d+$/.test(f.hosts)) throw new InputError(`--hosts must be a whole number, not ${f.hosts}`, { field: '--hosts' });
  if (f.winrmScheme !== undefined && f.winrmScheme !== 'http' && f.winrmScheme !== 'https') {
    throw new InputError(`--winrm-scheme must be http or https, not ${f.winrmScheme}`, { field: '--winrm-scheme' });
  }
  return {
    hosts: Number(f.hosts),
    transport: f.transport as LabTransportSet,
    inventory: f.inventory,
    ...(f.faults !== undefined ? { faults: f.faults } : {}),
    ...(f.dir !== undefined ? { dir: f.dir } : {}),
    ...(f.winrmScheme !== undefined ? { winrmScheme: f.winrmScheme as 'http' | 'https' } : {}),
    ...(f.auth !== undefined ? { auth: f.auth as 'ntlm' | 'kerberos' } : {}),
    ...(f.cbtHardening !== undefined ? { cbtHardening: f.cbtHardening as CbtHardeningLevel } : {}),
  };
}

export function registerLabFleetCommands(lab: Command, _setExit: SetExit): void {
  lab
    .command('up')
    .description('Start N emulated Windows hosts (real sshd and/or lab WinRM listeners on loopback) and write their inventory.')
    .requiredOption('--hosts <n>', 'number of hosts (1-1000)')
    .option('--transport <kind>', 'ssh, winrm or both (both: every host listens on both; the inventory alternates)', 'ssh')
    .option('--faults <spec>', 'per-host faults, e.g. "lab003=refuse;lab010-012=hostkey-changed;lab020=scm:crash-after-start"')
    .option('--inventory <file>', 'where to write the native inventory for the lab')
    .option('--dir <dir>', 'lab directory (default: <inventory dir>/.lab/<inventory name>)')
    .option('--winrm-scheme <scheme>', 'https (default; NTLM, lab CA) or http (NTLM with message encryption)')
    .option('--auth <kind>', 'WinRM authentication: ntlm (default) or kerberos (starts a lab KDC on loopback; https only)')
    .option(
      '--cbt-hardening <level>',
      'with --auth kerberos: channel binding the listeners demand, like WinRM CbtHardeningLevel: relaxed (default), strict or none',
    )
    .option('--detach', 'run in the background and return once the lab is up')
    .addHelpText(
      'after',
      `
Runs until \`svcfleet lab down --inventory FILE\` or Ctrl-C, which stop every server and service process and
remove the lab dir and the inventory. Faults: refuse, slow-connect[:ms], drop, auth-fail, hostkey-changed,
tls-untrusted, slow-receive[:ms], winrm-500, winrm-garbage-xml, winrm-truncated, scm:KIND[:key=value], and the
connection faults sshd-restart, winrm-reset and link-stall, set off at a call of the remote engine chosen by the
SCM keys (ops, nth, when, since). See docs/lab-fleet.md.
SCM fault kinds: ${SCM_KINDS.join(', ')}.

Examples:
  svcfleet lab up --hosts 10 --inventory lab.yml
  svcfleet lab up --hosts 20 --transport both --faults 'lab003=refuse;lab010-012=hostkey-changed' --inventory lab.yml --detach
  svcfleet lab up --hosts 4 --faults 'lab002=scm:engine-dies:ops=config:nth=2:when=after;lab003=link-stall:ops=stop' --inventory lab.yml
  svcfleet lab up --hosts 3 --transport winrm --auth kerberos --inventory lab.yml --detach
  svcfleet lab up --hosts 3 --transport winrm --auth kerberos --cbt-hardening strict --inventory lab.yml --detach`,
    )
    .action(async (flags: UpFlags) => {
      const o = upOptions(flags);
      if (flags.detach) {
        const state = await detachLabUp(o);
        process.stdout.write(
          `lab: ${state.hosts.length} hosts up (supervisor pid ${state.pid}); inventory ${state.inventory}\n` +
            `lab: stop with \`svcfleet lab down --inventory ${state.inventory}\`\n`,
        );
        return;
      }
      await runLabUp(o);
    });

  lab
    .command('down')
    .description('Stop a lab started by `svcfleet lab up` and remove its files.')
    .option('--inventory <file>', 'the inventory `lab up` wrote')
    .option('--dir <dir>', 'the lab directory (instead of --inventory)')
    .addHelpText('after', '\nExamples:\n  svcfleet lab down --inventory lab.yml\n  svcfleet lab down --dir .lab/lab')
    .action(async (flags: { inventory?: string; dir?: string }) => {
      const done = await labDown({
        ...(flags.inventory !== undefined ? { inventory: flags.inventory } : {}),
        ...(flags.dir !== undefined ? { dir: flags.dir } : {}),
      });
      process.stdout.write(`lab: ${done}\n`);
    });
}
