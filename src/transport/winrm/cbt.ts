/**
 * TLS channel binding for NTLM over HTTPS (RFC 5929 §4 "tls-server-end-point"): a hash of the server's DER
 * certificate, using the certificate's own signature hash, except MD5/SHA-1 which are replaced by SHA-256.
 * Node's X509Certificate does not expose the signature algorithm, so we read its OID from the DER directly.
 */
import { createHash } from 'node:crypto';

/** signatureAlgorithm OID → hash name, for the algorithms certificates actually use. */
const OID_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSA → SHA-256 per RFC 5929
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSA → SHA-256 per RFC 5929
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1 → SHA-256
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
}

function readTlv(der: Buffer, at: number): Tlv {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  if (start + len > der.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function decodeOid(bytes: Buffer): string {
  const first = bytes[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (const b of bytes.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The certificate's signatureAlgorithm OID (Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature }). */
export function signatureAlgorithmOid(der: Buffer): string {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.start);
  const algo = readTlv(der, tbs.end);
  const oid = readTlv(der, algo.start);
  if (oid.tag !== 0x06) throw new Error('certificate signatureAlgorithm has no OID');
  return decodeOid(der.subarray(oid.start, oid.end));
}

/** "tls-server-end-point:" ‖ hash(certificate) — the application data of the channel bindings. */
export function tlsServerEndPoint(certDer: Buffer): Buffer {
  let hash = 'sha256';
  try {
    hash = OID_HASH[signatureAlgorithmOid(certDer)] ?? 'sha256';
  } catch {
    // An unparseable certificate gets SHA-256; a mismatch only weakens the binding, the TLS check still ran.
  }
  return Buffer.concat([Buffer.from('tls-server-end-point:'), createHash(hash).update(certDer).digest()]);
}
