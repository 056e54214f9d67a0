/**
 * NTLM against the published test vectors of MS-NLMP §4.2.4 ("NTLMv2 Authentication"), with the common values of
 * §4.2.1: user "User", domain "Domain", password "Password", server challenge 0123456789abcdef, client challenge
 * aa×8, time 0, random session key 55×16, and the AV pairs MsvAvNbDomainName "Domain", MsvAvNbComputerName
 * "Server". Then a full handshake between our initiator and the lab acceptor.
 */
import { describe, expect, it } from 'vitest';
import { Rc4, md4, rc4Once } from '../../../src/transport/winrm/crypto.js';
import { decryptBody, encryptBody } from '../../../src/transport/winrm/encryption.js';
import { clientChallengeBlob, lmv2Response, NtlmInitiator, ntlmv2Response, ntowfv2, splitUser } from '../../../src/transport/winrm/ntlm.js';
import { AvId, decodeAuthenticate, encodeAvPairs, Flags, utf16 } from '../../../src/transport/winrm/ntlm-messages.js';
import { NtlmIntegrityError, NtlmSessionSecurity, sealKey, signKey } from '../../../src/transport/winrm/ntlm-security.js';
import { NtlmAcceptor, NtlmAuthError } from '../../../src/lab/winrm/ntlm-acceptor.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// MS-NLMP §4.2.1 common values
const SERVER_CHALLENGE = hex('01 23 45 67 89 ab cd ef');
const CLIENT_CHALLENGE = hex('aa aa aa aa aa aa aa aa');
const TIME = Buffer.alloc(8);
const RANDOM_SESSION_KEY = Buffer.alloc(16, 0x55);
// MS-NLMP §4.2.4 flags: KEY_EXCH | 56 | 128 | VERSION | TARGET_INFO | ESS | TARGET_TYPE_DOMAIN | ALWAYS_SIGN |
// NTLM | SEAL | SIGN | OEM | UNICODE (33 82 8a e2 on the wire)
const FLAGS_4_2_4 = 0xe28a8233;
const TARGET_INFO = encodeAvPairs([
  { id: AvId.NbDomainName, value: utf16('Domain') },
  { id: AvId.NbComputerName, value: utf16('Server') },
]);

describe('MS-NLMP §4.2.4 NTLMv2 test vectors', () => {
  it('crypto primitives: MD4 (RFC 1320 vector) and RC4 keeps its key stream across updates', () => {
    expect(md4(Buffer.from('abc')).toString('hex')).toBe('a448017aaf21d8525fc10ae87aa6729d');
    const whole = rc4Once(Buffer.from('Key'), Buffer.from('Plaintext'));
    expect(whole.toString('hex')).toBe('bbf316e8d940af0ad3'); // RFC 6229 / Wikipedia RC4 example
    const r = new Rc4(Buffer.from('Key'));
    expect(Buffer.concat([r.update(Buffer.from('Plain')), r.update(Buffer.from('text'))])).toEqual(whole);
  });

  it('§4.2.4.1.1 NTOWFv2 (ResponseKeyNT)', () => {
    expect(ntowfv2('Password', 'User', 'Domain').toString('hex')).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('§4.2.4.2.1 LMv2 response', () => {
    const key = ntowfv2('Password', 'User', 'Domain');
    expect(lmv2Response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE).toString('hex')).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
  });

  it('§4.2.4.2.2 NTLMv2 response (NTProofStr) and §4.2.4.1.2 session base key', () => {
    const key = ntowfv2('Password', 'User', 'Domain');
    const v2 = ntlmv2Response(key, SERVER_CHALLENGE, clientChallengeBlob(TIME, CLIENT_CHALLENGE, TARGET_INFO));
    expect(v2.ntProofStr.toString('hex')).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(v2.sessionBaseKey.toString('hex')).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(v2.ntChallengeResponse.subarray(16).toString('hex')).toBe(
      '0101000000000000' +
        '0000000000000000' +
        'aaaaaaaaaaaaaaaa' +
        '00000000' +
        '02000c0044006f006d00610069006e00' +
        '01000c005300650072007600650072000000' +
        '0000' +
        '00000000',
    );
  });

  it('§4.2.4.2.3 encrypted session key (RC4 of the random session key under KeyExchangeKey)', () => {
    const kxkey = hex('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(rc4Once(kxkey, RANDOM_SESSION_KEY).toString('hex')).toBe('c5dad2544fc9799094ce1ce90bc9d03e');
  });

  it('§4.2.4.4 GSS_WrapEx: sealing key, signing key, sealed "Plaintext" and its signature', () => {
    expect(sealKey(RANDOM_SESSION_KEY, FLAGS_4_2_4, 'client').toString('hex')).toBe('59f600973cc4960a25480a7c196e4c58');
    expect(signKey(RANDOM_SESSION_KEY, 'client').toString('hex')).toBe('4788dc861b4782f35d43fd98fe1a2d39');
    const sec = new NtlmSessionSecurity(RANDOM_SESSION_KEY, FLAGS_4_2_4, 'client');
    const { sealed, signature } = sec.wrap(utf16('Plaintext'));
    expect(sealed.toString('hex')).toBe('54e50165bf1936dc996020c1811b0f06fb5f');
    expect(signature.toString('hex')).toBe('010000007fb38ec5c55d497600000000');
  });

  it('the server side unseals the §4.2.4.4 message, and the sequence number is enforced', () => {
    const server = new NtlmSessionSecurity(RANDOM_SESSION_KEY, FLAGS_4_2_4, 'server');
    expect(server.unwrap(hex('54e50165bf1936dc996020c1811b0f06fb5f'), hex('010000007fb38ec5c55d497600000000'))).toEqual(utf16('Plaintext'));
    // Replaying the same message is out of sequence now.
    expect(() => server.unwrap(hex('54e50165bf1936dc996020c1811b0f06fb5f'), hex('010000007fb38ec5c55d497600000000'))).toThrow(NtlmIntegrityError);
  });
});

describe('NTLM handshake: our initiator against the lab acceptor', () => {
  const acceptor = (password = 'S3cret’“pass'): NtlmAcceptor =>
    new NtlmAcceptor({ computerName: 'LAB01', lookupPassword: (u) => (u.toLowerCase() === 'administrator' ? password : undefined) });

  it('authenticates, carries a MIC, and both directions seal and unseal through the multipart body', () => {
    const a = acceptor();
    const init = new NtlmInitiator({ user: 'Administrator', domain: 'LAB01', password: 'S3cret’“pass' }, { targetName: 'HTTP/127.0.0.1' });
    const challenge = a.challenge(init.negotiate());
    const { message, security: client, flags } = init.authenticate(challenge);
    expect(flags & Flags.SEAL && flags & Flags.KEY_EXCH && flags & Flags.EXTENDED_SESSIONSECURITY).toBeTruthy();
    expect(decodeAuthenticate(message).mic).toHaveLength(16);
    const { security: server, user } = a.accept(message);
    expect(user).toBe('Administrator');
    for (let i = 0; i < 3; i++) {
      const req = Buffer.from(`<request n="${i}">päyload ${'x'.repeat(i * 1000)}</request>`);
      expect(decryptBody(encryptBody(req, client), server)).toEqual(req);
      const resp = Buffer.from(`<response n="${i}"/>`);
      expect(decryptBody(encryptBody(resp, server), client)).toEqual(resp);
    }
  });

  it('rejects a wrong password, a tampered MIC and a tampered sealed body', () => {
    const init = new NtlmInitiator({ user: 'administrator', domain: '', password: 'wrong' });
    const a = acceptor();
    expect(() => a.accept(init.authenticate(a.challenge(init.negotiate())).message)).toThrow(NtlmAuthError);

    const init2 = new NtlmInitiator({ user: 'administrator', domain: '', password: 'S3cret’“pass' });
    const a2 = acceptor();
    const msg = init2.authenticate(a2.challenge(init2.negotiate())).message;
    msg[72] = msg[72]! ^ 1; // MIC byte
    expect(() => a2.accept(msg)).toThrow(/MIC/);

    const init3 = new NtlmInitiator({ user: 'administrator', domain: '', password: 'S3cret’“pass' });
    const a3 = acceptor();
    const { message, security } = init3.authenticate(a3.challenge(init3.negotiate()));
    const { security: server } = a3.accept(message);
    const body = encryptBody(Buffer.from('<x>hello</x>'), security);
    body[body.length - 30] = body[body.length - 30]! ^ 0xff;
    expect(() => decryptBody(body, server)).toThrow(NtlmIntegrityError);
  });

  it('checks TLS channel bindings when both sides have them', () => {
    const cbt = Buffer.from('tls-server-end-point:' + 'ab'.repeat(32));
    const a = new NtlmAcceptor({ computerName: 'LAB01', lookupPassword: () => 'pw', channelBindings: cbt });
    const good = new NtlmInitiator({ user: 'u', domain: '', password: 'pw' }, { channelBindings: cbt });
    expect(() => a.accept(good.authenticate(a.challenge(good.negotiate())).message)).not.toThrow();
    const b = new NtlmAcceptor({ computerName: 'LAB01', lookupPassword: () => 'pw', channelBindings: cbt });
    const other = new NtlmInitiator({ user: 'u', domain: '', password: 'pw' }, { channelBindings: Buffer.from('tls-server-end-point:00') });
    expect(() => b.accept(other.authenticate(b.challenge(other.negotiate())).message)).toThrow(/channel binding/);
  });

  it('splits DOMAIN\\user and leaves UPNs whole', () => {
    expect(splitUser('CORP\\alice')).toEqual({ domain: 'CORP', user: 'alice' });
    expect(splitUser('alice@corp.example')).toEqual({ domain: '', user: 'alice@corp.example' });
  });
});
