/**
 * Ansible host entries: `name[:port]`, IPv4/IPv6 addresses (`[::1]:22`), and ranges `web[01:20]`,
 * `db-[a:f]`, `node[1:10:2]` (begin:end[:step], several per name), read the way ansible-core does
 * (parsing/utils/addresses.py and plugins/inventory expand_hostname_range).
 *
 * Difference: a range that yields nothing (`[5:1]`) or more than MAX_RANGE_HOSTS names is an error here;
 * Ansible silently yields no host for the first.
 */

export const MAX_RANGE_HOSTS = 100_000;

export class HostPatternError extends Error {}

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const IPV6_COMPONENT = `(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const IPV4_COMPONENT = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
const WORD = String.raw`[\p{L}\p{N}_]`;
const LABEL = `(?:${WORD}|${ALNUM_RANGE})(?:[\\p{L}\\p{N}_-]|${ALNUM_RANGE})*(?<![_-])`;

const C6 = IPV6_COMPONENT;
const IPV4_IN_6 = `(?:${IPV4_COMPONENT}\\.){3}${IPV4_COMPONENT}`;
const PATTERNS = {
  bracketedHostport: /^\[(.+)\]:([0-9]+)$/,
  hostport: /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/,
  ipv4: new RegExp(`^(?:${IPV4_COMPONENT}\\.){3}${IPV4_COMPONENT}$`, 'i'),
  ipv6: new RegExp(
    '^(?:' +
      [
        `(?:${C6}:){7}${C6}`,
        `(?:${C6}:){1,6}:`,
        `(?:${C6}:)(?::${C6}){1,6}`,
        `(?:${C6}:){2}(?::${C6}){1,5}`,
        `(?:${C6}:){3}(?::${C6}){1,4}`,
        `(?:${C6}:){4}(?::${C6}){1,3}`,
        `(?:${C6}:){5}(?::${C6}){1,2}`,
        `(?:${C6}:){6}(?::${C6})`,
        `:(?::${C6}){1,6}`,
        `${C6}?::`,
        `(?:0:){6}${IPV4_IN_6}`,
        `::(?:ffff:)?${IPV4_IN_6}`,
        `(?:0:){5}ffff:${IPV4_IN_6}`,
      ].join('|') +
      ')$',
    'i',
  ),
  hostname: new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'iu'),
};

/** An IPv4 or IPv6 address (no ranges), as Ansible decides whether a name is an address. */
export function isIpAddress(name: string): boolean {
  return !name.includes('[') && (PATTERNS.ipv4.test(name) || PATTERNS.ipv6.test(name));
}

/**
 * Split `host[:port]` like ansible's parse_address(allow_ranges=True). Returns undefined when the text is not
 * a recognisable host (Ansible then uses the whole text as the name, with no port).
 */
export function parseAddress(text: string): { host: string; port?: number } | undefined {
  let address = text;
  let port: number | undefined;
  for (const re of [PATTERNS.bracketedHostport, PATTERNS.hostport]) {
    const m = re.exec(address);
    if (m) {
      address = m[1]!;
      port = Number(m[2]);
    }
  }
  if (PATTERNS.ipv4.test(address) || PATTERNS.ipv6.test(address) || PATTERNS.hostname.test(address)) {
    return port === undefined ? { host: address } : { host: address, port };
  }
  return undefined;
}

/** A host entry as Ansible reads it: its names (ranges expanded) and the port, if one was given. */
export function expandHostEntry(entry: string): { names: string[]; port?: number } {
  const parsed = parseAddress(entry);
  const pattern = parsed ? parsed.host : entry;
  const names = pattern.includes('[') ? expandHostnameRange(pattern) : [pattern];
  return parsed?.port === undefined ? { names } : { names, port: parsed.port };
}

const ASCII_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `db[01:03]-[a:b]` → db01-a, db01-b, db02-a, ... (first bracket outermost, like Ansible). */
export function expandHostnameRange(line: string, out: string[] = []): string[] {
  const open = line.indexOf('[');
  const close = line.indexOf(']');
  if (open < 0) {
    out.push(line);
    return out;
  }
  if (close < open) throw new HostPatternError(`unbalanced brackets in host range ${JSON.stringify(line)}`);
  const head = line.slice(0, open);
  const nrange = line.slice(open + 1, close);
  const tail = line.slice(close + 1);
  const bounds = nrange.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) {
    throw new HostPatternError(`host range must be begin:end or begin:end:step, got [${nrange}]`);
  }
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostPatternError(`host range must specify an end value, got [${nrange}]`);
  if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
    throw new HostPatternError(`host range step must be a positive integer, got [${nrange}]`);
  }
  const step = Number(stepText);
  let width = 0;
  if (beg.startsWith('0') && beg.length > 1) {
    if (beg.length !== end.length) {
      throw new HostPatternError(`host range must use equal-length begin and end, got [${nrange}]`);
    }
    width = beg.length;
  }
  const seq: string[] = [];
  const iBeg = beg.length === 1 ? ASCII_LETTERS.indexOf(beg) : -1;
  const iEnd = end.length === 1 ? ASCII_LETTERS.indexOf(end) : -1;
  if (iBeg >= 0 && iEnd >= 0) {
    if (iBeg > iEnd) throw new HostPatternError(`host range must have begin <= end, got [${nrange}]`);
    for (let i = iBeg; i <= iEnd; i += step) seq.push(ASCII_LETTERS[i]!);
  } else {
    if (!/^\d+$/.test(beg) || !/^\d+$/.test(end)) {
      throw new HostPatternError(`host range bounds must be numbers or single letters, got [${nrange}]`);
    }
    const a = Number(beg);
    const b = Number(end);
    if (b < a) throw new HostPatternError(`host range [${nrange}] runs backwards and names no host`);
    if ((b - a) / step >= MAX_RANGE_HOSTS) {
      throw new HostPatternError(`host range [${nrange}] names more than ${MAX_RANGE_HOSTS} hosts`);
    }
    for (let n = a; n <= b; n += step) seq.push(String(n).padStart(width, '0'));
  }
  for (const part of seq) {
    expandHostnameRange(`${head}${part}${tail}`, out);
    if (out.length > MAX_RANGE_HOSTS) throw new HostPatternError(`host range names more than ${MAX_RANGE_HOSTS} hosts`);
  }
  return out;
}
