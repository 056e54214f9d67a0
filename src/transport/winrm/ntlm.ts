/**
 * NTLMv2 (MS-NLMP §3.3.2) and the client side of the handshake (§3.1.5.1). Only NTLMv2 with extended session
 * security, key exchange and a MIC is spoken: that is what a default Windows Server accepts, and LM/NTLMv1 are
 * broken. The lab server's acceptor (src/lab/winrm/ntlm-acceptor.ts) reuses the same computations.
 */
import { randomBytes } from 'node:crypto';
import { hmacMd5, md4, md5, rc4Once } from './crypto.js';
import {
  AV_FLAG_MIC_PRESENT,
  AvId,
  type AvPair,
  decodeAvPairs,
  decodeChallenge,
  encodeAuthenticate,
  encodeAvPairs,
  encodeNegotiate,
  Flags,
  MIC_OFFSET,
  utf16,
} from './ntlm-messages.js';
import { NtlmSessionSecurity } from './ntlm-security.js';

/** NTOWFv2 (§3.3.2): the user name is upper-cased, the domain is not. */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(md4(utf16(password)), utf16(user.toUpperCase() + domain));
}

export interface Ntlmv2Response {
  ntChallengeResponse: Buffer;
  ntProofStr: Buffer;
  sessionBaseKey: Buffer;
}

/** The `temp` blob of §3.3.2 (NTLMv2_CLIENT_CHALLENGE): version 1/1, time, client challenge, AV pairs. */
export function clientChallengeBlob(timestamp: Buffer, clientChallenge: Buffer, targetInfo: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), timestamp, clientChallenge, Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
}

export function ntlmv2Response(responseKeyNT: Buffer, serverChallenge: Buffer, blob: Buffer): Ntlmv2Response {
  const ntProofStr = hmacMd5(responseKeyNT, serverChallenge, blob);
  return {
    ntChallengeResponse: Buffer.concat([ntProofStr, blob]),
    ntProofStr,
    sessionBaseKey: hmacMd5(responseKeyNT, ntProofStr),
  };
}

export function lmv2Response(responseKeyLM: Buffer, serverChallenge: Buffer, clientChallenge: Buffer): Buffer {
  return Buffer.concat([hmacMd5(responseKeyLM, serverChallenge, clientChallenge), clientChallenge]);
}

/** MIC (§3.1.5.1.2): HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE-with-zero-MIC). */
export function computeMic(exportedSessionKey: Buffer, negotiate: Buffer, challenge: Buffer, authenticate: Buffer): Buffer {
  const zeroed = Buffer.from(authenticate);
  zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
  return hmacMd5(exportedSessionKey, negotiate, challenge, zeroed);
}

/** Current time as a little-endian FILETIME (100 ns ticks since 1601-01-01). */
export function filetimeNow(): Buffer {
  const ticks = (BigInt(Date.now()) + 11_644_473_600_000n) * 10_000n;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(ticks);
  return b;
}

/**
 * MsvAvChannelBindings value: MD5 of a gss_channel_bindings_struct (RFC 2744 §3.11) with no addresses and
 * `application_data` = "tls-server-end-point:" ‖ certificate hash (RFC 5929 §4).
 */
export function channelBindingsHash(applicationData: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(applicationData.length, 16);
  return md5(head, applicationData);
}

/** The flags our client asks for; the server's CHALLENGE must grant ESS, and SIGN/SEAL when we encrypt. */
export const CLIENT_FLAGS =
  Flags.UNICODE |
  Flags.REQUEST_TARGET |
  Flags.SIGN |
  Flags.SEAL |
  Flags.NTLM |
  Flags.ALWAYS_SIGN |
  Flags.EXTENDED_SESSIONSECURITY |
  Flags.TARGET_INFO |
  Flags.VERSION |
  Flags.NEGOTIATE_128 |
  Flags.KEY_EXCH |
  Flags.NEGOTIATE_56;

export interface NtlmCredentials {
  user: string;
  domain: string;
  password: string;
}

export interface NtlmInitiatorOptions {
  /** SPN for MsvAvTargetName, e.g. HTTP/host. */
  targetName?: string;
  /** "tls-server-end-point:..." application data when running over TLS (channel binding). */
  channelBindings?: Buffer;
  /** Deterministic inputs for test vectors; random in real use. */
  clientChallenge?: Buffer;
  exportedSessionKey?: Buffer;
  timestamp?: Buffer;
}

export class NtlmHandshakeError extends Error {
  override readonly name = 'NtlmHandshakeError';
}

/** Client side of one NTLM handshake: negotiate() then authenticate(challenge). */
export class NtlmInitiator {
  readonly #creds: NtlmCredentials;
  readonly #opts: NtlmInitiatorOptions;
  #negotiate: Buffer | undefined;

  constructor(creds: NtlmCredentials, opts: NtlmInitiatorOptions = {}) {
    this.#creds = creds;
    this.#opts = opts;
  }

  negotiate(): Buffer {
    this.#negotiate = encodeNegotiate(CLIENT_FLAGS);
    return this.#negotiate;
  }

  /** `channelBindings` may be given here because over TLS they are only known once the connection exists. */
  authenticate(
    challengeBytes: Buffer,
    extra: { channelBindings?: Buffer | undefined } = {},
  ): { message: Buffer; security: NtlmSessionSecurity; flags: number } {
    if (!this.#negotiate) throw new Error('negotiate() must come first');
    const challenge = decodeChallenge(challengeBytes);
    if (!(challenge.flags & Flags.EXTENDED_SESSIONSECURITY)) {
      throw new NtlmHandshakeError('server did not grant NTLM extended session security');
    }
    if (challenge.targetInfo.length === 0) throw new NtlmHandshakeError('server sent no TargetInfo: NTLMv2 is impossible');
    const flags = (challenge.flags & CLIENT_FLAGS) >>> 0;

    const serverPairs = decodeAvPairs(challenge.targetInfo);
    const serverTime = serverPairs.find((p) => p.id === AvId.Timestamp)?.value;
    const timestamp = this.#opts.timestamp ?? serverTime ?? filetimeNow();
    const channelBindings = extra.channelBindings ?? this.#opts.channelBindings;
    const pairs: AvPair[] = serverPairs.filter((p) => p.id !== AvId.Flags && p.id !== AvId.ChannelBindings && p.id !== AvId.TargetName);
    const serverFlags = serverPairs.find((p) => p.id === AvId.Flags)?.value.readUInt32LE(0) ?? 0;
    const avFlags = Buffer.alloc(4);
    avFlags.writeUInt32LE((serverFlags | AV_FLAG_MIC_PRESENT) >>> 0);
    pairs.push({ id: AvId.Flags, value: avFlags });
    pairs.push({
      id: AvId.ChannelBindings,
      value: channelBindings ? channelBindingsHash(channelBindings) : Buffer.alloc(16),
    });
    if (this.#opts.targetName) pairs.push({ id: AvId.TargetName, value: utf16(this.#opts.targetName) });

    const clientChallenge = this.#opts.clientChallenge ?? randomBytes(8);
    const responseKey = ntowfv2(this.#creds.password, this.#creds.user, this.#creds.domain);
    const blob = clientChallengeBlob(timestamp, clientChallenge, encodeAvPairs(pairs));
    const v2 = ntlmv2Response(responseKey, challenge.serverChallenge, blob);
    // §3.1.5.1.2: with a server timestamp the LM response SHOULD be Z(24).
    const lm = serverTime ? Buffer.alloc(24) : lmv2Response(responseKey, challenge.serverChallenge, clientChallenge);

    const keyExchangeKey = v2.sessionBaseKey; // NTLMv2: KXKEY is the session base key (§3.4.5.1)
    let exportedSessionKey: Buffer = keyExchangeKey;
    let encryptedRandomSessionKey: Buffer = Buffer.alloc(0);
    if (flags & Flags.KEY_EXCH) {
      exportedSessionKey = this.#opts.exportedSessionKey ?? randomBytes(16);
      encryptedRandomSessionKey = rc4Once(keyExchangeKey, exportedSessionKey);
    }

    const fields = {
      lmChallengeResponse: lm,
      ntChallengeResponse: v2.ntChallengeResponse,
      domain: this.#creds.domain,
      user: this.#creds.user,
      workstation: '',
      encryptedRandomSessionKey,
      flags,
    };
    const unsigned = encodeAuthenticate({ ...fields, mic: Buffer.alloc(16) });
    const mic = computeMic(exportedSessionKey, this.#negotiate, challengeBytes, unsigned);
    mic.copy(unsigned, MIC_OFFSET);
    return { message: unsigned, security: new NtlmSessionSecurity(exportedSessionKey, flags, 'client'), flags };
  }
}

/** Split `DOMAIN\user` into its parts; `user@domain` (UPN) goes whole into the user field, as Windows expects. */
export function splitUser(user: string): { user: string; domain: string } {
  const slash = user.indexOf('\\');
  if (slash >= 0) return { domain: user.slice(0, slash), user: user.slice(slash + 1) };
  return { user, domain: '' };
}
