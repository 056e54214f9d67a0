/**
 * WinRM HTTP message encryption with an NTLM security context (MS-WSMV §2.2.9.1.1; docs/reference/winrm.md#ntlm-message-encryption):
 * the SOAP body travels as a multipart/encrypted MIME document whose second part holds
 * <uint32 LE signature length><signature><sealed bytes>. Used in both directions: by our client and by the lab
 * server. Parsing relies on the declared plaintext length (RC4 preserves length), not on searching for the
 * boundary inside binary data.
 */
import type { NtlmSessionSecurity } from './ntlm-security.js';

export const SPNEGO_PROTOCOL = 'application/HTTP-SPNEGO-session-encrypted';
export const ENCRYPTED_CONTENT_TYPE = `multipart/encrypted;protocol="${SPNEGO_PROTOCOL}";boundary="Encrypted Boundary"`;

const BOUNDARY = '--Encrypted Boundary';
const CRLF = '\r\n';

export class EncryptionFormatError extends Error {
  override readonly name = 'EncryptionFormatError';
}

/** True when a Content-Type header announces an SPNEGO-session-encrypted body. */
export function isEncryptedContentType(contentType: string | undefined): boolean {
  return !!contentType && /multipart\/encrypted/i.test(contentType) && contentType.includes(SPNEGO_PROTOCOL);
}

export function encryptBody(plaintext: Buffer, security: NtlmSessionSecurity): Buffer {
  const { sealed, signature } = security.wrap(plaintext);
  const sigLen = Buffer.alloc(4);
  sigLen.writeUInt32LE(signature.length, 0);
  return Buffer.concat([
    Buffer.from(
      `${BOUNDARY}${CRLF}` +
        `\tContent-Type: ${SPNEGO_PROTOCOL}${CRLF}` +
        `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${plaintext.length}${CRLF}` +
        `${BOUNDARY}${CRLF}` +
        `\tContent-Type: application/octet-stream${CRLF}`,
      'latin1',
    ),
    sigLen,
    signature,
    sealed,
    Buffer.from(`${BOUNDARY}--${CRLF}`, 'latin1'),
  ]);
}

/** Unwraps every encrypted part of the body, in order, and returns the concatenated plaintext. */
export function decryptBody(body: Buffer, security: NtlmSessionSecurity): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  const expect = (text: string, optionalTab = false): void => {
    if (optionalTab && body[pos] === 0x09) pos++;
    if (body.toString('latin1', pos, pos + text.length) !== text) {
      throw new EncryptionFormatError(`encrypted body: expected ${JSON.stringify(text)} at byte ${pos}`);
    }
    pos += text.length;
  };
  const line = (): string => {
    const end = body.indexOf(CRLF, pos, 'latin1');
    if (end < 0) throw new EncryptionFormatError('encrypted body: unterminated header line');
    const l = body.toString('latin1', pos, end);
    pos = end + 2;
    return l;
  };
  while (true) {
    expect(BOUNDARY);
    if (body.toString('latin1', pos, pos + 2) === '--') break; // closing boundary
    expect(CRLF);
    let length: number | undefined;
    // Header lines of the first part, up to the next boundary.
    while (pos < body.length && body.toString('latin1', pos, pos + BOUNDARY.length) !== BOUNDARY) {
      const m = /Length=(\d+)/.exec(line());
      if (m) length = Number(m[1]);
    }
    if (length === undefined) throw new EncryptionFormatError('encrypted body: no OriginalContent Length');
    expect(BOUNDARY + CRLF);
    expect('Content-Type: application/octet-stream' + CRLF, true);
    if (pos + 4 > body.length) throw new EncryptionFormatError('encrypted body: truncated');
    const sigLen = body.readUInt32LE(pos);
    pos += 4;
    if (sigLen !== 16 || pos + sigLen + length > body.length) throw new EncryptionFormatError('encrypted body: bad lengths');
    const signature = body.subarray(pos, pos + sigLen);
    pos += sigLen;
    const sealed = body.subarray(pos, pos + length);
    pos += length;
    out.push(security.unwrap(Buffer.from(sealed), Buffer.from(signature)));
  }
  return Buffer.concat(out);
}
