/**
 * The Debian OpenSSH binaries the lab drives. A missing one is reported with the command that installs it, so a
 * test needing it fails with instructions instead of a spawn ENOENT.
 */
import { findExecutable, onPath } from '../../transport/pwsh/locate.js';

export const INSTALL_HINT = 'apt-get install -y openssh-server openssh-client';

const LOCATIONS: Record<string, string[]> = {
  sshd: ['/usr/sbin/sshd'],
  ssh: ['/usr/bin/ssh'],
  'ssh-keygen': ['/usr/bin/ssh-keygen'],
  'ssh-agent': ['/usr/bin/ssh-agent'],
  'ssh-add': ['/usr/bin/ssh-add'],
  'ssh-keyscan': ['/usr/bin/ssh-keyscan'],
};

/** Absolute path of an OpenSSH program, or an Error saying how to install it. */
export function openSshBinary(name: keyof typeof LOCATIONS | string): string {
  const found = findExecutable([...(LOCATIONS[name] ?? []), ...onPath(name)]);
  if (!found) throw new Error(`${name} not found: install OpenSSH with \`${INSTALL_HINT}\``);
  return found;
}
