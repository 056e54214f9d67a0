/**
 * The three legacy primitives NTLM needs. Node 20 on OpenSSL 3 refuses `md4` and `rc4` (legacy provider), so MD4
 * comes from the js-md4 package and RC4 is implemented here: it is a stateful stream cipher whose handle must
 * persist across messages (MS-NLMP §3.4.3), which a one-shot cipher API could not give us anyway.
 */
import { createHash, createHmac } from 'node:crypto';
import md4js from 'js-md4';

export function md4(data: Uint8Array): Buffer {
  return Buffer.from(md4js.arrayBuffer(data));
}

export function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('md5', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RC4 with a persistent key stream: each `update` continues where the previous one stopped. */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0) throw new Error('RC4 key must not be empty');
    const s = this.#s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      j = (j + s[k]! + key[k % key.length]!) & 0xff;
      const t = s[k]!;
      s[k] = s[j]!;
      s[j] = t;
    }
  }

  update(data: Uint8Array): Buffer {
    const s = this.#s;
    const out = Buffer.allocUnsafe(data.length);
    let i = this.#i;
    let j = this.#j;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
      out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return out;
  }
}

/** One-shot RC4 (RC4K in MS-NLMP), e.g. for the exchanged session key. */
export function rc4Once(key: Uint8Array, data: Uint8Array): Buffer {
  return new Rc4(key).update(data);
}
