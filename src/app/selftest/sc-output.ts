/**
 * Parsing sc.exe's output (qc, qdescription, qfailure, qfailureflag, queryex), the selftest's independent reader.
 * Shapes from docs/reference/sc-exe.md: `        LABEL              : value`, continuation lines for extra
 * dependencies and failure actions. sc.exe's text is the console code page's, so a value with characters outside
 * it comes back with '?' in their place: `scTextMatches` accepts exactly that and nothing else, and the registry
 * value (read by the same host script) is compared exactly.
 */
import type { Raw } from './host-script.js';

/** `LABEL : value` lines of a qc/qfailure block, with continuation lines appended to the previous label's list. */
export function scFields(raw: Raw): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let last: string | undefined;
  for (const line of raw.lines) {
    const m = /^\s+([A-Z_0-9]+(?: \(in seconds\))?)\s*:\s?(.*)$/.exec(line);
    if (m) {
      last = m[1]!;
      out.set(last, [m[2]!.replace(/\s+$/, '')]);
      continue;
    }
    const cont = /^\s{20,}(?::\s)?(\S.*)$/.exec(line);
    if (cont && last) out.get(last)!.push(cont[1]!.replace(/\s+$/, ''));
  }
  return out;
}

export function scField(raw: Raw, label: string): string | undefined {
  return scFields(raw).get(label)?.[0];
}

export interface QcView {
  startType: string;
  delayed: boolean;
  errorControl: string;
  binaryPath: string;
  loadOrderGroup: string;
  displayName: string;
  dependencies: string[];
  account: string;
}

export function parseQc(raw: Raw): QcView {
  const f = scFields(raw);
  const one = (k: string): string => f.get(k)?.[0] ?? '';
  const start = one('START_TYPE');
  return {
    startType: (/^\d+\s+(\S+)/.exec(start)?.[1] ?? start).toUpperCase(),
    delayed: /\(DELAYED\)/i.test(start),
    errorControl: (/^\d+\s+(\S+)/.exec(one('ERROR_CONTROL'))?.[1] ?? '').toUpperCase(),
    binaryPath: one('BINARY_PATH_NAME'),
    loadOrderGroup: one('LOAD_ORDER_GROUP'),
    displayName: one('DISPLAY_NAME'),
    dependencies: (f.get('DEPENDENCIES') ?? []).filter((d) => d !== ''),
    account: one('SERVICE_START_NAME'),
  };
}

/** The start type as sc.exe shows it, in the protocol's words. */
export function qcStartType(q: QcView): string {
  switch (q.startType) {
    case 'AUTO_START':
      return q.delayed ? 'delayed-auto' : 'auto';
    case 'DEMAND_START':
      return 'demand';
    case 'DISABLED':
      return 'disabled';
    case 'BOOT_START':
      return 'boot';
    case 'SYSTEM_START':
      return 'system';
    default:
      return `unknown (${q.startType})`;
  }
}

export interface QFailureView {
  resetPeriod: string;
  rebootMessage: string;
  command: string;
  /** e.g. 'RESTART -- Delay = 60000 milliseconds.' */
  actions: string[];
}

export function parseQFailure(raw: Raw): QFailureView {
  const f = scFields(raw);
  return {
    resetPeriod: f.get('RESET_PERIOD (in seconds)')?.[0] ?? '',
    rebootMessage: f.get('REBOOT_MESSAGE')?.[0] ?? '',
    command: f.get('COMMAND_LINE')?.[0] ?? '',
    actions: f.get('FAILURE_ACTIONS') ?? [],
  };
}

/** qdescription: `DESCRIPTION:  text` (two spaces), possibly continued on following lines. */
export function parseQDescription(raw: Raw): string {
  const i = raw.lines.findIndex((l) => l.startsWith('DESCRIPTION:'));
  if (i < 0) return '';
  const rest = raw.lines.slice(i + 1);
  const end = rest.indexOf('');
  const tail = end < 0 ? rest : rest.slice(0, end);
  return [raw.lines[i]!.replace(/^DESCRIPTION:\s?\s?/, ''), ...tail].join('\n').replace(/\s+$/, '');
}

export function parseQueryEx(raw: Raw): { state: string; pid: number } {
  return {
    state: /^\d+\s+(\S+)/.exec(scField(raw, 'STATE') ?? '')?.[1] ?? '',
    pid: Number(scField(raw, 'PID') ?? '0') || 0,
  };
}

export function parseFailureFlag(raw: Raw): boolean | undefined {
  const line = raw.lines.find((l) => /FAILURE_ACTIONS_ON_NONCRASH_FAILURES/.test(l));
  if (!line) return undefined;
  return /TRUE/.test(line);
}

/**
 * The binary path as sc.exe qc shows it: equal, or with each %VAR% expanded (QueryServiceConfig may return the
 * expanded path; docs/reference/sc-exe.md, "Believed") and characters outside the code page as one character.
 */
export function scPathMatches(expected: string, got: string): boolean {
  if (scTextMatches(expected, got)) return true;
  const pattern = expected
    .split(/(%[A-Za-z_][A-Za-z0-9_]*%)/)
    .map((part, i) => (i % 2 ? `(?:${part}|[^"]+?)` : [...part].map((c) => (c.charCodeAt(0) > 0x7e ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')))
    .join('');
  return new RegExp(`^${pattern}$`, 'u').test(got);
}

/**
 * SERVICE_FAILURE_ACTIONS as stored in the FailureActions REG_BINARY value (docs/reference/windows-services.md):
 * little-endian DWORDs reset period, two placeholders, action count, offset, then {type, delay} pairs.
 */
export function decodeFailureActions(base64: string | null): { resetPeriod: number; actions: Array<{ type: string; delayMs: number }> } | null {
  if (base64 === null) return null;
  const b = Buffer.from(base64, 'base64');
  if (b.length < 20) return { resetPeriod: -1, actions: [] };
  const names = ['none', 'restart', 'reboot', 'run'];
  const count = b.readUInt32LE(12);
  const offset = b.readUInt32LE(16) || 20;
  const actions: Array<{ type: string; delayMs: number }> = [];
  for (let i = 0; i < count && offset + 8 * i + 8 <= b.length; i++) {
    const t = b.readUInt32LE(offset + 8 * i);
    actions.push({ type: names[t] ?? `type-${t}`, delayMs: b.readUInt32LE(offset + 8 * i + 4) });
  }
  return { resetPeriod: b.readUInt32LE(0), actions };
}

/**
 * sc.exe's rendering of `expected`: equal, or equal with each character the console code page cannot show
 * replaced by one '?' (or by any one character, for code pages that map it to a look-alike).
 */
export function scTextMatches(expected: string, got: string): boolean {
  if (expected === got) return true;
  const a = [...expected];
  const b = [...got];
  if (a.length !== b.length) return false;
  return a.every((c, i) => c === b[i] || c.charCodeAt(0) > 0x7e);
}
