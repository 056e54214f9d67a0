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

/** Length of an ed25519 public key blob: string "ssh-ed25519" (4 + 11) + string key (4 + 32). */
const ED25519_BLOB_BYTES = 51;

/**
 * One key pair as OpenSSH text. ssh2 (1.17) drops a leading zero byte of an ed25519 public key, so about 1 key
 * in 256 comes out 31 bytes long and OpenSSH refuses to load it ("error in libcrypto"): such keys are drawn again.
 */
export function generateLabKeyPair(type: LabKeyType, comment: string): { private: string; public: string } {
  for (;;) {
    const pair =
      type === 'ed25519'
        ? ssh2.utils.generateKeyPairSync('ed25519', { comment })
        : type === 'ecdsa'
          ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256, comment })
          : ssh2.utils.generateKeyPairSync('rsa', { bits: 2048, comment });
    if (type !== 'ed25519') return pair;
    const blob = Buffer.from(pair.public.trim().split(/\s+/)[1] ?? '', 'base64');
    if (blob.length === ED25519_BLOB_BYTES) return pair;
  }
}

export async function writeKeyPair(path: string, comment: string, type: LabKeyType = 'ed25519'): Promise<LabKeyPair> {
  const pair = generateLabKeyPair(type, comment);
  await writeFile(path, pair.private, { mode: 0o600 });
  await writeFile(`${path}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
  const publicLine = pair.public.trim();
  const blob = Buffer.from(publicLine.split(/\s+/)[1] ?? '', 'base64');
  return { privatePath: path, publicPath: `${path}.pub`, publicLine, blob };
}
