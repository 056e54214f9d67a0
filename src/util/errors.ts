/**
 * Bad input (inventory, spec, config, flags, remote output) is reported as an InputError that names where the
 * problem is: the file, the line or field, and the host when one is involved. The CLI prints `format()` and
 * exits 1 without contacting any host.
 */
export interface InputLocation {
  file?: string;
  line?: number;
  column?: number;
  /** Dotted path inside a structured document, e.g. 'set.failure.actions[1]'. */
  field?: string;
  host?: string;
}

export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    message: string,
    readonly where: InputLocation = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  format(): string {
    const w = this.where;
    const parts: string[] = [];
    if (w.file) parts.push(w.line !== undefined ? `${w.file}:${w.line}${w.column !== undefined ? `:${w.column}` : ''}` : w.file);
    if (w.field) parts.push(`field ${w.field}`);
    if (w.host) parts.push(`host ${w.host}`);
    return parts.length ? `${parts.join(', ')}: ${this.message}` : this.message;
  }
}
