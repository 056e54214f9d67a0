import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * A secret value (password, passphrase) that cannot leak by accident: JSON, string conversion and
 * util.inspect all print [REDACTED]. Only `reveal()` gives the value, and only transports call it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
  static readonly redacted = REDACTED;
}
