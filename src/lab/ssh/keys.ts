/** SSH key pairs for the lab (host keys, the lab's login key), generated in-process in OpenSSH format. */
import { writeFile } from 'node:fs/promises';
import ssh2 from 'ssh2';

export interface LabKeyPair {
  privatePath: string;
  publicPath: string;
  /** `type base64 comment`, as in a .pub file. */
  publicLine: string;
  /** The public key blob (what a client sees as the host key). */
  blob: Buffer;
}

export type LabKeyType = 'ed25519' | 'ecdsa' | 'rsa';

export async function writeKeyPair(path: string, comment: string, type: LabKeyType = 'ed25519'): Promise<LabKeyPair> {
  const pair =
    type === 'ed25519'
      ? ssh2.utils.generateKeyPairSync('ed25519', { comment })
      : type === 'ecdsa'
        ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256, comment })
        : ssh2.utils.generateKeyPairSync('rsa', { bits: 2048, comment });
  await writeFile(path, pair.private, { mode: 0o600 });
  await writeFile(`${path}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
  const publicLine = pair.public.trim();
  const blob = Buffer.from(publicLine.split(/\s+/)[1] ?? '', 'base64');
  return { privatePath: path, publicPath: `${path}.pub`, publicLine, blob };
}
