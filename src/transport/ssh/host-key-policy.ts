/**
 * Applies the host-key policy to a presented key and words the refusal so an operator knows what to do.
 * `strict` (default): only keys already in known_hosts. `accept-new`: an UNKNOWN host's key is recorded and
 * trusted; a changed, revoked or certificate-only host is refused exactly as under strict.
 */
import { createHash } from 'node:crypto';
import { TransportError } from '../types.js';
import { keyTypeOfBlob, knownHostsName, type HostKeyVerdict, type KnownHosts } from './known-hosts.js';

export type HostKeyPolicy = 'strict' | 'accept-new';

/** OpenSSH-style fingerprint: SHA256:<unpadded base64>. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Resolves to null when the key is trusted, or to the error to fail the connection with: hostkey-unknown for a
 * host with no key on file (strict), hostkey-mismatch for a changed, revoked or CA-only one.
 */
export async function checkHostKey(knownHosts: KnownHosts, policy: HostKeyPolicy, address: string, port: number, key: Buffer): Promise<TransportError | null> {
  let verdict: HostKeyVerdict;
  try {
    verdict = await knownHosts.verify(address, port, key);
    if (verdict.kind === 'unknown' && policy === 'accept-new') verdict = await knownHosts.record(address, port, key);
  } catch (err) {
    return new TransportError('hostkey-mismatch', 'connect', `cannot use known_hosts: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const name = knownHostsName(address, port);
  const presented = `${keyTypeOfBlob(key) ?? 'unknown-type'} ${fingerprint(key)}`;
  switch (verdict.kind) {
    case 'trusted':
      return null;
    case 'unknown':
      // Not a mismatch: nothing is known to compare with. A first contact, to be verified, not an alarm.
      return new TransportError(
        'hostkey-unknown',
        'connect',
        `UNKNOWN HOST KEY for ${name}: ${presented} is not in ${knownHosts.recordFile}; refused (hostKeyPolicy strict). ` +
          `Check the fingerprint out of band, then add the key, or set ssh.hostKeyPolicy: accept-new`,
      );
    case 'changed': {
      const where = verdict.known.map((e) => `${e.keyType} at ${e.file}:${e.line}`).join(', ');
      return new TransportError(
        'hostkey-mismatch',
        'connect',
        `HOST KEY CHANGED for ${name}: presented ${presented}, known ${where}. Refused: this may be a ` +
          `man-in-the-middle. If the change is legitimate, remove the old entry (ssh-keygen -R '${name}')`,
      );
    }
    case 'revoked':
      return new TransportError(
        'hostkey-mismatch',
        'connect',
        `host key for ${name} (${presented}) is @revoked in ${verdict.entry.file}:${verdict.entry.line}; refused`,
      );
    case 'cert-authority-unsupported': {
      const e = verdict.entries[0];
      return new TransportError(
        'hostkey-mismatch',
        'connect',
        `known_hosts trusts ${name} only through @cert-authority (${e?.file}:${e?.line}); host certificates are ` +
          `not supported by the ssh transport: add the host's own key (ssh-keyscan) instead`,
      );
    }
  }
}
