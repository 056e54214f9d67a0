/**
 * NTLM wire messages (MS-NLMP §2.2.1): NEGOTIATE (type 1), CHALLENGE (type 2) and AUTHENTICATE (type 3), and the
 * AV_PAIR list carried in TargetInfo (§2.2.2.1). Encoding and decoding only; the cryptography is in ntlm.ts.
 * Both our client and the lab server use these, so every decoder checks bounds and throws NtlmFormatError on
 * anything malformed instead of reading past the buffer.
 */

export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** NEGOTIATE flags (MS-NLMP §2.2.2.5). */
export const Flags = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** AV_PAIR ids (MS-NLMP §2.2.2.1). */
export const AvId = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
export const AV_FLAG_MIC_PRESENT = 0x2;

export class NtlmFormatError extends Error {
  override readonly name = 'NtlmFormatError';
}

export interface AvPair {
  id: number;
  value: Buffer;
}

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pairs) {
    if (p.id === AvId.EOL) continue;
    const head = Buffer.alloc(4);
    head.writeUInt16LE(p.id, 0);
    head.writeUInt16LE(p.value.length, 2);
    parts.push(head, p.value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

export function decodeAvPairs(buf: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const id = buf.readUInt16LE(off);
    const len = buf.readUInt16LE(off + 2);
    off += 4;
    if (id === AvId.EOL) return pairs;
    if (off + len > buf.length) throw new NtlmFormatError('AV_PAIR runs past the end of TargetInfo');
    pairs.push({ id, value: Buffer.from(buf.subarray(off, off + len)) });
    off += len;
  }
  throw new NtlmFormatError('TargetInfo has no MsvAvEOL terminator');
}

export function utf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

/** An 8-byte VERSION structure (§2.2.2.10); the values are informational only. */
function versionBytes(major: number, minor: number, build: number): Buffer {
  const v = Buffer.alloc(8);
  v[0] = major;
  v[1] = minor;
  v.writeUInt16LE(build, 2);
  v[7] = 0x0f; // NTLMSSP_REVISION_W2K3
  return v;
}
export const CLIENT_VERSION = versionBytes(10, 0, 19041);
export const SERVER_VERSION = versionBytes(10, 0, 17763);

function checkHeader(buf: Buffer, type: number, minLength: number): void {
  if (buf.length < minLength) throw new NtlmFormatError(`NTLM message type ${type} is too short (${buf.length} bytes)`);
  if (!buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) throw new NtlmFormatError('not an NTLMSSP message');
  const got = buf.readUInt32LE(8);
  if (got !== type) throw new NtlmFormatError(`expected NTLM message type ${type}, got ${got}`);
}

function readField(buf: Buffer, at: number): Buffer {
  const len = buf.readUInt16LE(at);
  const off = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (off + len > buf.length) throw new NtlmFormatError('NTLM message field points past the end of the message');
  return Buffer.from(buf.subarray(off, off + len));
}

/** Lays out a fixed header with (len, maxlen, offset) descriptors followed by the payload fields in order. */
class MessageWriter {
  readonly #fixed: Buffer;
  readonly #payload: Buffer[] = [];
  #offset: number;
  constructor(type: number, fixedLength: number) {
    this.#fixed = Buffer.alloc(fixedLength);
    NTLMSSP_SIGNATURE.copy(this.#fixed, 0);
    this.#fixed.writeUInt32LE(type, 8);
    this.#offset = fixedLength;
  }
  get fixed(): Buffer {
    return this.#fixed;
  }
  field(at: number, value: Buffer): void {
    this.#fixed.writeUInt16LE(value.length, at);
    this.#fixed.writeUInt16LE(value.length, at + 2);
    this.#fixed.writeUInt32LE(this.#offset, at + 4);
    this.#payload.push(value);
    this.#offset += value.length;
  }
  done(): Buffer {
    return Buffer.concat([this.#fixed, ...this.#payload]);
  }
}

// ---- NEGOTIATE (§2.2.1.1) ----

export interface NegotiateMessage {
  flags: number;
}

export function encodeNegotiate(flags: number): Buffer {
  const w = new MessageWriter(1, 40);
  w.fixed.writeUInt32LE(flags >>> 0, 12);
  w.field(16, Buffer.alloc(0)); // DomainName (not supplied)
  w.field(24, Buffer.alloc(0)); // Workstation (not supplied)
  CLIENT_VERSION.copy(w.fixed, 32);
  return w.done();
}

export function decodeNegotiate(buf: Buffer): NegotiateMessage {
  checkHeader(buf, 1, 16);
  return { flags: buf.readUInt32LE(12) };
}

// ---- CHALLENGE (§2.2.1.2) ----

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  targetInfo: Buffer;
}

export function encodeChallenge(msg: ChallengeMessage): Buffer {
  const w = new MessageWriter(2, 56);
  w.field(12, utf16(msg.targetName));
  w.fixed.writeUInt32LE(msg.flags >>> 0, 20);
  msg.serverChallenge.copy(w.fixed, 24);
  w.field(40, msg.targetInfo);
  SERVER_VERSION.copy(w.fixed, 48);
  return w.done();
}

export function decodeChallenge(buf: Buffer): ChallengeMessage {
  checkHeader(buf, 2, 48);
  const flags = buf.readUInt32LE(20);
  return {
    flags,
    targetName: readField(buf, 12).toString(flags & Flags.UNICODE ? 'utf16le' : 'latin1'),
    serverChallenge: Buffer.from(buf.subarray(24, 32)),
    targetInfo: readField(buf, 40),
  };
}

// ---- AUTHENTICATE (§2.2.1.3) ----

export interface AuthenticateMessage {
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  flags: number;
  /** 16 bytes, or empty when the message carries no MIC. */
  mic: Buffer;
}

/** Offset of the MIC in an AUTHENTICATE message that carries a VERSION (§2.2.1.3). */
export const MIC_OFFSET = 72;

export function encodeAuthenticate(msg: AuthenticateMessage): Buffer {
  const w = new MessageWriter(3, 88);
  w.field(12, msg.lmChallengeResponse);
  w.field(20, msg.ntChallengeResponse);
  w.field(28, utf16(msg.domain));
  w.field(36, utf16(msg.user));
  w.field(44, utf16(msg.workstation));
  w.field(52, msg.encryptedRandomSessionKey);
  w.fixed.writeUInt32LE(msg.flags >>> 0, 60);
  CLIENT_VERSION.copy(w.fixed, 64);
  if (msg.mic.length === 16) msg.mic.copy(w.fixed, MIC_OFFSET);
  return w.done();
}

export function decodeAuthenticate(buf: Buffer): AuthenticateMessage {
  checkHeader(buf, 3, 64);
  const flags = buf.readUInt32LE(60);
  const text = (b: Buffer): string => b.toString(flags & Flags.UNICODE ? 'utf16le' : 'latin1');
  // The payload starts at the lowest field offset; a MIC fits only if that leaves room after the VERSION.
  let payloadStart = buf.length;
  for (const at of [12, 20, 28, 36, 44, 52]) {
    if (buf.readUInt16LE(at) > 0) payloadStart = Math.min(payloadStart, buf.readUInt32LE(at + 4));
  }
  return {
    lmChallengeResponse: readField(buf, 12),
    ntChallengeResponse: readField(buf, 20),
    domain: text(readField(buf, 28)),
    user: text(readField(buf, 36)),
    workstation: text(readField(buf, 44)),
    encryptedRandomSessionKey: readField(buf, 52),
    flags,
    mic: payloadStart >= MIC_OFFSET + 16 ? Buffer.from(buf.subarray(MIC_OFFSET, MIC_OFFSET + 16)) : Buffer.alloc(0),
  };
}
