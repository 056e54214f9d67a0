/**
 * Algorithm preferences for ssh2. The client's order decides the SSH negotiation, so what is listed first wins
 * whenever the server supports it.
 *
 * Key exchange: curve25519 / ECDH first. Finite-field Diffie-Hellman (especially group-exchange) is computed on
 * Node's main thread and pegs the CPU with a few hundred parallel handshakes (docs/reference/ssh.md#connection-limits, ssh2 #934,
 * #821); it stays at the end only for old servers.
 *
 * Host key: the key types already in known_hosts for the host go first, as OpenSSH does, so a server that has
 * several host keys presents the one we can verify instead of one that would look "changed".
 */
import type { Algorithms, KexAlgorithm, ServerHostKeyAlgorithm } from 'ssh2';

export const KEX_PREFERENCE: KexAlgorithm[] = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group-exchange-sha256',
];

const HOST_KEY_DEFAULT: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** known_hosts key type → the host key algorithms that present it. */
function algorithmsForKeyType(type: string): ServerHostKeyAlgorithm[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return HOST_KEY_DEFAULT.includes(type as ServerHostKeyAlgorithm) ? [type as ServerHostKeyAlgorithm] : [];
}

export function sshAlgorithms(knownKeyTypes: readonly string[]): Algorithms {
  const preferred = knownKeyTypes.flatMap(algorithmsForKeyType);
  const serverHostKey = [...preferred, ...HOST_KEY_DEFAULT.filter((a) => !preferred.includes(a))];
  return { kex: KEX_PREFERENCE, serverHostKey };
}
