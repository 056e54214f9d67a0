import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * A value that prints as a fixed marker everywhere it could leak by accident: JSON, string conversion and
 * util.inspect. Subclasses decide the marker and how (or whether) the real value can be had.
 */
export abstract class SealedValue {
  protected abstract readonly marker: string;
  toString(): string {
    return this.marker;
  }
  toJSON(): string {
    return this.marker;
  }
  [inspect.custom](): string {
    return this.marker;
  }
}

/**
 * A secret value (password, passphrase) that cannot leak by accident: it prints as [REDACTED]. Only `reveal()`
 * gives the value, and only transports call it.
 */
export class Secret extends SealedValue {
  protected readonly marker = REDACTED;
  readonly #value: string;
  constructor(value: string) {
    super();
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  static readonly redacted = REDACTED;
}

/**
 * A name that says its value is a secret (environment variables, fields): password, passwd, pwd, pass,
 * passphrase, secret, token, key, credential, case-insensitive, anywhere in the name. Deliberately broad: a
 * false positive only hides a value.
 */
export function isSecretLookingName(name: string): boolean {
  return /pass|pwd|secret|token|key|credential/i.test(name);
}
