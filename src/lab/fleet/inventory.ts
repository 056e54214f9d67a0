/**
 * The native inventory (brief: "Native inventory") for a lab fleet. Paths are written relative to the inventory
 * file so the pair can be moved together; the first line names the lab dir so `svcfleet lab down --inventory`
 * finds what to stop, and marks the file as generated (lab down deletes only such a file).
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { stringify } from 'yaml';
import type { LabFleet } from './fleet.js';

export const GENERATED_MARK = '# svcfleet lab inventory; lab dir: ';

function rel(from: string, path: string): string {
  const r = relative(dirname(from), path);
  const p = r === '' ? '.' : r;
  return p.startsWith('..') || p.startsWith(sep) ? p : `./${p}`;
}

export function renderLabInventory(fleet: LabFleet, inventoryFile: string): string {
  const file = resolve(inventoryFile);
  const primary = fleet.transport === 'winrm' ? 'winrm' : 'ssh';
  const defaults: Record<string, unknown> = { transport: primary };
  if (fleet.ssh) {
    defaults.user = fleet.ssh.user;
    defaults.ssh = {
      shell: 'powershell.exe',
      knownHostsFile: rel(file, fleet.ssh.knownHostsFile),
      hostKeyPolicy: 'strict',
      identityFile: rel(file, fleet.ssh.clientKey.privatePath),
    };
  }
  // Kerberos: the lab account as a principal of the lab realm, authenticated by its keytab (no password).
  const krb5 = fleet.winrm?.kerberos;
  const winrmUser = fleet.winrm ? (krb5 ? `${fleet.winrm.user}@${krb5.realm}` : fleet.winrm.user) : undefined;
  if (!fleet.ssh && winrmUser) defaults.user = winrmUser;
  // The WinRM password goes only where WinRM is used: an ssh host never gets a password it could offer.
  const winrmPassword = fleet.winrm && !krb5 ? { file: rel(file, fleet.winrm.passwordFile) } : undefined;
  if (fleet.winrm) {
    if (!fleet.ssh && winrmPassword) defaults.password = winrmPassword;
    const krb = fleet.winrm.kerberos;
    defaults.winrm = {
      scheme: fleet.winrm.scheme,
      auth: krb ? 'kerberos' : 'ntlm',
      ...(fleet.winrm.caFile ? { caFile: rel(file, fleet.winrm.caFile), certValidation: 'validate' } : {}),
      ...(krb
        ? {
            kerberos: {
              credentials: 'keytab',
              keytab: rel(file, krb.keytab),
              krb5Config: rel(file, krb.krb5Config),
              hostnameOverride: krb.hostname,
            },
          }
        : {}),
    };
  }
  const hosts: Record<string, unknown> = {};
  for (const h of fleet.hosts) {
    const port = h.transport === 'ssh' ? h.ssh?.port : h.winrm?.port;
    const vars: Record<string, unknown> = { app_port: h.appPort, lab_index: h.index };
    if (fleet.transport === 'both') {
      if (h.ssh) vars.ssh_port = h.ssh.port;
      if (h.winrm) vars.winrm_port = h.winrm.port;
    }
    hosts[h.name] = {
      address: h.address,
      port,
      ...(h.transport !== primary ? { transport: h.transport } : {}),
      ...(h.transport === 'winrm' && fleet.ssh && fleet.winrm ? { user: winrmUser, ...(winrmPassword ? { password: winrmPassword } : {}) } : {}),
      vars,
    };
  }
  const groups: Record<string, unknown> = { lab: { hosts: fleet.hosts.map((h) => h.name) } };
  if (fleet.transport === 'both') {
    groups.lab_ssh = { hosts: fleet.hosts.filter((h) => h.transport === 'ssh').map((h) => h.name) };
    groups.lab_winrm = { hosts: fleet.hosts.filter((h) => h.transport === 'winrm').map((h) => h.name) };
  }
  const faulty = fleet.hosts.filter((h) => Object.keys(h.faults).length > 0);
  if (faulty.length) groups.lab_faulty = { hosts: faulty.map((h) => h.name) };
  const doc = {
    kind: 'svcfleet-inventory',
    version: 1,
    defaults,
    vars: { service: fleet.service.name },
    groups,
    hosts,
  };
  const header = [
    `${GENERATED_MARK}${resolve(fleet.dir)}`,
    '# Written by `svcfleet lab up`; `svcfleet lab down --inventory <this file>` stops the lab and removes it.',
    '',
  ].join('\n');
  return header + stringify(doc, { lineWidth: 0 });
}

/** The lab dir named by a generated inventory, or undefined when the file is not one. */
export async function labDirOfInventory(inventoryFile: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(inventoryFile, 'utf8');
  } catch {
    return undefined;
  }
  const first = text.split('\n', 1)[0] ?? '';
  return first.startsWith(GENERATED_MARK) ? first.slice(GENERATED_MARK.length).trim() : undefined;
}
