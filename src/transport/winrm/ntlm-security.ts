/**
 * NTLM session security with extended session security (MS-NLMP §3.4.4.2 signing/sealing, §3.4.5.2 SIGNKEY,
 * §3.4.5.3 SEALKEY). Each direction has its own sign key, seal key, RC4 handle and sequence number; the RC4
 * handles run on across every message of the security context and are never reset (§3.4.3), which is why one
 * context belongs to exactly one TCP connection.
 */
import { hmacMd5, md5, Rc4 } from './crypto.js';
import { Flags } from './ntlm-messages.js';

export type NtlmRole = 'client' | 'server';

const MAGIC = {
  clientSign: 'session key to client-to-server signing key magic constant\0',
  serverSign: 'session key to server-to-client signing key magic constant\0',
  clientSeal: 'session key to client-to-server sealing key magic constant\0',
  serverSeal: 'session key to server-to-client sealing key magic constant\0',
};

/** SIGNKEY (§3.4.5.2), extended session security only. */
export function signKey(exportedSessionKey: Buffer, direction: NtlmRole): Buffer {
  return md5(exportedSessionKey, Buffer.from(direction === 'client' ? MAGIC.clientSign : MAGIC.serverSign, 'latin1'));
}

/** SEALKEY (§3.4.5.3), extended session security only: the key is truncated by the negotiated strength first. */
export function sealKey(exportedSessionKey: Buffer, flags: number, direction: NtlmRole): Buffer {
  const strength = flags & Flags.NEGOTIATE_128 ? 16 : flags & Flags.NEGOTIATE_56 ? 7 : 5;
  const base = exportedSessionKey.subarray(0, strength);
  return md5(base, Buffer.from(direction === 'client' ? MAGIC.clientSeal : MAGIC.serverSeal, 'latin1'));
}

export class NtlmIntegrityError extends Error {
  override readonly name = 'NtlmIntegrityError';
}

interface Direction {
  signKey: Buffer;
  handle: Rc4;
  seq: number;
}

export class NtlmSessionSecurity {
  readonly #keyExch: boolean;
  readonly #out: Direction;
  readonly #in: Direction;

  constructor(exportedSessionKey: Buffer, flags: number, role: NtlmRole) {
    if (!(flags & Flags.EXTENDED_SESSIONSECURITY)) {
      throw new Error('NTLM session security without extended session security is not supported');
    }
    this.#keyExch = (flags & Flags.KEY_EXCH) !== 0;
    const peer: NtlmRole = role === 'client' ? 'server' : 'client';
    this.#out = { signKey: signKey(exportedSessionKey, role), handle: new Rc4(sealKey(exportedSessionKey, flags, role)), seq: 0 };
    this.#in = { signKey: signKey(exportedSessionKey, peer), handle: new Rc4(sealKey(exportedSessionKey, flags, peer)), seq: 0 };
  }

  /** The 16-byte NTLMSSP_MESSAGE_SIGNATURE (§2.2.2.9.1); must run after sealing, on the same RC4 handle. */
  #signature(dir: Direction, plaintext: Buffer): Buffer {
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(dir.seq >>> 0, 0);
    let checksum = hmacMd5(dir.signKey, seq, plaintext).subarray(0, 8);
    if (this.#keyExch) checksum = dir.handle.update(checksum);
    return Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seq]);
  }

  /** GSS_WrapEx with confidentiality: returns the sealed bytes and their signature. */
  wrap(plaintext: Buffer): { sealed: Buffer; signature: Buffer } {
    const sealed = this.#out.handle.update(plaintext);
    const signature = this.#signature(this.#out, plaintext);
    this.#out.seq++;
    return { sealed, signature };
  }

  /** GSS_UnwrapEx: unseals and verifies the signature and the sequence number; throws NtlmIntegrityError. */
  unwrap(sealed: Buffer, signature: Buffer): Buffer {
    if (signature.length !== 16) throw new NtlmIntegrityError(`NTLM signature must be 16 bytes, got ${signature.length}`);
    const plaintext = this.#in.handle.update(sealed);
    const expected = this.#signature(this.#in, plaintext);
    this.#in.seq++;
    if (!expected.equals(signature)) {
      throw new NtlmIntegrityError('NTLM message signature or sequence number does not match (tampered or out of order)');
    }
    return plaintext;
  }
}
