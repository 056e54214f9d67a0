/**
 * Server side of NTLMv2 for the lab WinRM server (MS-NLMP §3.2.5): issue a CHALLENGE, then check the
 * AUTHENTICATE message (NTProofStr, MIC, channel binding) and derive the server's sealing context. Independent
 * clients (Debian's pywinrm/ntlm-auth) authenticate against this, which is what makes it a useful oracle for our
 * own initiator.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hmacMd5, rc4Once } from '../../transport/winrm/crypto.js';
import { channelBindingsHash, computeMic, filetimeNow, ntowfv2 } from '../../transport/winrm/ntlm.js';
import {
  AV_FLAG_MIC_PRESENT,
  AvId,
  decodeAuthenticate,
  decodeAvPairs,
  decodeNegotiate,
  encodeAvPairs,
  encodeChallenge,
  Flags,
  utf16,
} from '../../transport/winrm/ntlm-messages.js';
import { NtlmSessionSecurity } from '../../transport/winrm/ntlm-security.js';

export class NtlmAuthError extends Error {
  override readonly name = 'NtlmAuthError';
}

export interface NtlmAcceptorOptions {
  /** NetBIOS name of the emulated computer (also its domain: local accounts). */
  computerName: string;
  /** Password for a user name, or undefined when unknown. */
  lookupPassword(user: string, domain: string): string | undefined;
  /** Expected "tls-server-end-point:..." application data when serving over TLS. */
  channelBindings?: Buffer;
}

const SERVER_GRANTABLE =
  Flags.UNICODE | Flags.SIGN | Flags.SEAL | Flags.ALWAYS_SIGN | Flags.EXTENDED_SESSIONSECURITY | Flags.NEGOTIATE_128 | Flags.NEGOTIATE_56 | Flags.KEY_EXCH;

export interface AcceptedNtlm {
  user: string;
  domain: string;
  security: NtlmSessionSecurity;
  /** The client bound the handshake to our TLS certificate (and it matched). */
  channelBound: boolean;
}

/** One handshake on one connection. */
export class NtlmAcceptor {
  readonly #opts: NtlmAcceptorOptions;
  #negotiate: Buffer | undefined;
  #challenge: Buffer | undefined;
  #serverChallenge: Buffer | undefined;

  constructor(opts: NtlmAcceptorOptions) {
    this.#opts = opts;
  }

  challenge(negotiateBytes: Buffer): Buffer {
    const neg = decodeNegotiate(negotiateBytes);
    const name = this.#opts.computerName.toUpperCase();
    const dnsName = this.#opts.computerName.toLowerCase();
    const targetInfo = encodeAvPairs([
      { id: AvId.NbDomainName, value: utf16(name) },
      { id: AvId.NbComputerName, value: utf16(name) },
      { id: AvId.DnsDomainName, value: utf16(dnsName) },
      { id: AvId.DnsComputerName, value: utf16(dnsName) },
      { id: AvId.Timestamp, value: filetimeNow() },
    ]);
    const flags =
      (neg.flags & SERVER_GRANTABLE) |
      Flags.UNICODE |
      Flags.NTLM |
      Flags.REQUEST_TARGET |
      Flags.TARGET_TYPE_SERVER |
      Flags.TARGET_INFO |
      Flags.VERSION |
      Flags.EXTENDED_SESSIONSECURITY;
    this.#serverChallenge = randomBytes(8);
    this.#negotiate = negotiateBytes;
    this.#challenge = encodeChallenge({ flags: flags >>> 0, serverChallenge: this.#serverChallenge, targetName: name, targetInfo });
    return this.#challenge;
  }

  accept(authBytes: Buffer): AcceptedNtlm {
    if (!this.#negotiate || !this.#challenge || !this.#serverChallenge) throw new NtlmAuthError('AUTHENTICATE before CHALLENGE');
    const auth = decodeAuthenticate(authBytes);
    if (auth.ntChallengeResponse.length <= 24) throw new NtlmAuthError('NTLMv1 and anonymous logons are refused');
    const password = this.#opts.lookupPassword(auth.user, auth.domain);
    if (password === undefined) throw new NtlmAuthError(`unknown user ${auth.user}`);

    const responseKey = ntowfv2(password, auth.user, auth.domain);
    const ntProofStr = auth.ntChallengeResponse.subarray(0, 16);
    const blob = auth.ntChallengeResponse.subarray(16);
    const expected = hmacMd5(responseKey, this.#serverChallenge, blob);
    if (!timingSafeEqual(expected, ntProofStr)) throw new NtlmAuthError(`wrong password for ${auth.user}`);
    if (blob.length < 32) throw new NtlmAuthError('NTLMv2 client challenge is too short');
    const pairs = decodeAvPairs(blob.subarray(28));

    const sessionBaseKey = hmacMd5(responseKey, ntProofStr);
    let exportedSessionKey = sessionBaseKey;
    if (auth.flags & Flags.KEY_EXCH) {
      if (auth.encryptedRandomSessionKey.length !== 16) throw new NtlmAuthError('KEY_EXCH without a 16-byte session key');
      exportedSessionKey = rc4Once(sessionBaseKey, auth.encryptedRandomSessionKey);
    }

    const avFlags = pairs.find((p) => p.id === AvId.Flags)?.value.readUInt32LE(0) ?? 0;
    if (avFlags & AV_FLAG_MIC_PRESENT) {
      if (auth.mic.length !== 16) throw new NtlmAuthError('MsvAvFlags announces a MIC but the message has none');
      const mic = computeMic(exportedSessionKey, this.#negotiate, this.#challenge, authBytes);
      if (!timingSafeEqual(mic, auth.mic)) throw new NtlmAuthError('MIC does not match: the handshake was altered');
    }

    // Relaxed channel-binding hardening (the Windows default): absent or all-zero bindings are accepted,
    // but bindings that name a different TLS certificate are not.
    const cb = pairs.find((p) => p.id === AvId.ChannelBindings)?.value;
    let channelBound = false;
    if (cb && this.#opts.channelBindings && !cb.equals(Buffer.alloc(16))) {
      if (!cb.equals(channelBindingsHash(this.#opts.channelBindings))) throw new NtlmAuthError('channel binding mismatch');
      channelBound = true;
    }

    const flags = auth.flags || decodeNegotiate(this.#negotiate).flags;
    let security: NtlmSessionSecurity;
    try {
      security = new NtlmSessionSecurity(exportedSessionKey, flags, 'server');
    } catch (err) {
      throw new NtlmAuthError((err as Error).message);
    }
    return { user: auth.user, domain: auth.domain, security, channelBound };
  }
}
