/**
 * The `--faults SPEC` of `svcfleet lab up` (grammar and meaning: docs/lab-fleet.md):
 *
 *   SPEC     := ENTRY (';' ENTRY)*
 *   ENTRY    := SELECTOR (',' SELECTOR)* '=' FAULT (',' FAULT)*
 *   SELECTOR := '*' | N | N-M | NAME | NAME-M          e.g. 3, 10-12, lab003, lab010-012
 *   FAULT    := refuse | slow-connect[:MS] | drop | auth-fail | hostkey-changed | tls-untrusted
 *             | slow-receive[:MS] | scm:KIND[:KEY=VALUE]...
 *             | winrm-500 | winrm-garbage-xml | winrm-truncated
 *             | (sshd-restart | winrm-reset | link-stall)[:KEY=VALUE]...
 *
 * Host indexes are 1-based (`lab003` is index 3). SCM faults are the emulated SCM's (docs/lab.md "Faults"):
 * `scm:crash-after-start:afterMs=800`, `scm:start-timeout:contains=--workers%209`, `scm:access-denied:ops=config+start`,
 * `scm:engine-dies:ops=config:nth=3:when=after` (the remote engine is killed once the 3rd config write is stored);
 * values are percent-decoded (write ',' ';' ':' '=' as %2C %3B %3A %3D). Any malformed token is an InputError
 * naming it. The connection faults (sshd-restart, winrm-reset, link-stall) happen at a call of the remote engine, chosen
 * with the SCM fault keys (`link-stall:ops=config:nth=2:when=after`): see connection-faults.ts.
 */
import type { LabFaultKind, LabFaultOp, LabFaultSpec } from '../scm/state.js';
import { InputError } from '../../util/errors.js';
import type { LabBadReply } from '../winrm/faults.js';

export type LabTransportSet = 'ssh' | 'winrm' | 'both';

export interface HostFaults {
  refuse?: boolean;
  slowConnectMs?: number;
  drop?: boolean;
  authFailure?: boolean;
  hostKeyChanged?: boolean;
  tlsUntrusted?: boolean;
  slowReceiveMs?: number;
  scm?: LabFaultSpec[];
  /** The WinRM listener answers every request broken (src/lab/winrm/faults.ts). */
  winrmBadReply?: LabBadReply;
  /** Set off at a call of the remote engine (an SCM `connection-fault`): connection-faults.ts. */
  connection?: ConnectionFaultKind;
}

export type ConnectionFaultKind = 'sshd-restart' | 'winrm-reset' | 'link-stall';

export const DEFAULT_SLOW_CONNECT_MS = 5_000;
export const DEFAULT_SLOW_RECEIVE_MS = 5_000;

/** The emulated SCM's fault kinds a spec may name (`svcfleet lab host --fault` takes the same). */
export const SCM_KINDS: readonly LabFaultKind[] = [
  'access-denied',
  'no-such-service',
  'marked-for-delete',
  'start-timeout',
  'logon-failure',
  'crash-after-start',
  'stuck-stop-pending',
  'engine-dies',
  'session-drops',
];
export const SCM_OPS: readonly LabFaultOp[] = ['query', 'config', 'start', 'stop', 'registry-read', 'registry-write'];

/** Which transports a fault acts on (the lab must run at least one of them). */
const NEEDS: Record<string, LabTransportSet> = {
  refuse: 'both',
  'slow-connect': 'both',
  drop: 'both',
  'auth-fail': 'both',
  'hostkey-changed': 'ssh',
  'tls-untrusted': 'winrm',
  'slow-receive': 'winrm',
  scm: 'both',
  'winrm-500': 'winrm',
  'winrm-garbage-xml': 'winrm',
  'winrm-truncated': 'winrm',
  'sshd-restart': 'ssh',
  'winrm-reset': 'winrm',
  'link-stall': 'both',
};

/** The broken-reply faults of the WinRM listener, by token. */
const WINRM_BAD_REPLIES: Record<string, LabBadReply> = {
  'winrm-500': 'http-500',
  'winrm-garbage-xml': 'garbage-xml',
  'winrm-truncated': 'truncated',
};

function bad(token: string, why: string): InputError {
  return new InputError(`bad fault spec token "${token}": ${why}`, { field: 'faults' });
}

function positiveMs(token: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0) throw bad(token, `"${text}" is not a positive number of milliseconds`);
  return Number(text);
}

function decode(token: string, v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    throw bad(token, `"${v}" has a bad %-escape`);
  }
}

function parseScm(token: string, rest: string[], kinds: readonly LabFaultKind[] = SCM_KINDS): LabFaultSpec {
  const [kind, ...opts] = rest;
  if (!kind || !kinds.includes(kind as LabFaultKind)) {
    throw bad(token, `unknown SCM fault "${kind ?? ''}" (one of ${SCM_KINDS.join(', ')})`);
  }
  const spec: LabFaultSpec = { kind: kind as LabFaultKind };
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    if (eq <= 0) throw bad(token, `SCM fault option "${opt}" is not KEY=VALUE`);
    const key = opt.slice(0, eq);
    const value = decode(token, opt.slice(eq + 1));
    switch (key) {
      case 'service':
        spec.service = value;
        break;
      case 'contains':
        spec.contains = value;
        break;
      case 'ops': {
        const ops = value.split('+');
        const unknown = ops.find((o) => !SCM_OPS.includes(o as LabFaultOp));
        if (unknown !== undefined) throw bad(token, `unknown op "${unknown}" (one of ${SCM_OPS.join(', ')})`);
        spec.ops = ops as LabFaultOp[];
        break;
      }
      case 'when':
        if (value !== 'before' && value !== 'after') throw bad(token, 'when must be before or after');
        spec.when = value;
        break;
      case 'since':
        if (!SCM_OPS.includes(value as LabFaultOp)) throw bad(token, `unknown op "${value}" (one of ${SCM_OPS.join(', ')})`);
        spec.since = value as LabFaultOp;
        break;
      case 'nth':
      case 'times':
      case 'afterMs':
        if (!/^\d+$/.test(value)) throw bad(token, `${key} must be a whole number`);
        spec[key] = Number(value);
        break;
      default:
        throw bad(token, `unknown SCM fault option "${key}" (service, contains, ops, nth, times, afterMs, when, since)`);
    }
  }
  return spec;
}

function applyFault(target: HostFaults, token: string, transports: LabTransportSet): void {
  const parts = token.split(':');
  const name = parts[0] ?? '';
  const need = NEEDS[name];
  if (!need) {
    throw bad(
      token,
      'unknown fault (refuse, slow-connect[:ms], drop, auth-fail, hostkey-changed, tls-untrusted, slow-receive[:ms], scm:KIND, winrm-500, winrm-garbage-xml, winrm-truncated, sshd-restart, winrm-reset, link-stall)',
    );
  }
  if (need !== 'both' && transports !== 'both' && need !== transports) {
    throw bad(token, `${name} only applies to ${need} hosts; start the lab with --transport ${need} or both`);
  }
  const arg = parts.slice(1);
  const connection = name === 'sshd-restart' || name === 'winrm-reset' || name === 'link-stall';
  if (!connection && name !== 'scm' && name !== 'slow-connect' && name !== 'slow-receive' && arg.length) {
    throw bad(token, `${name} takes no argument`);
  }
  switch (name) {
    case 'refuse':
      target.refuse = true;
      break;
    case 'slow-connect':
      if (arg.length > 1) throw bad(token, 'slow-connect takes one argument (ms)');
      target.slowConnectMs = arg[0] ? positiveMs(token, arg[0]) : DEFAULT_SLOW_CONNECT_MS;
      break;
    case 'slow-receive':
      if (arg.length > 1) throw bad(token, 'slow-receive takes one argument (ms)');
      target.slowReceiveMs = arg[0] ? positiveMs(token, arg[0]) : DEFAULT_SLOW_RECEIVE_MS;
      break;
    case 'drop':
      target.drop = true;
      break;
    case 'auth-fail':
      target.authFailure = true;
      break;
    case 'hostkey-changed':
      target.hostKeyChanged = true;
      break;
    case 'tls-untrusted':
      target.tlsUntrusted = true;
      break;
    case 'scm':
      (target.scm ??= []).push(parseScm(token, arg));
      break;
    case 'sshd-restart':
    case 'winrm-reset':
    case 'link-stall':
      // One trigger file per host (connection-faults.ts): a second connection fault could not be told apart.
      if (target.connection) throw bad(token, `the host already has the connection fault ${target.connection}`);
      target.connection = name;
      (target.scm ??= []).push(parseScm(token, ['connection-fault', ...arg], ['connection-fault']));
      break;
    default:
      target.winrmBadReply = WINRM_BAD_REPLIES[name];
  }
}

/** Host indexes (0-based) a selector names. */
function select(token: string, names: readonly string[]): number[] {
  if (token === '*') return names.map((_, i) => i);
  const exact = names.indexOf(token);
  if (exact >= 0) return [exact];
  const m = /^([A-Za-z_-]*?)(\d+)(?:-(\d+))?$/.exec(token);
  if (!m) throw bad(token, 'not a host selector (N, N-M, NAME, NAME-M or *)');
  const [, prefix = '', fromText = '', toText] = m;
  const from = Number(fromText);
  const to = toText === undefined ? from : Number(toText);
  if (to < from) throw bad(token, 'range runs backwards');
  const picked: number[] = [];
  for (let n = from; n <= to; n++) {
    if (prefix === '') {
      if (n < 1 || n > names.length) throw bad(token, `host index ${n} is outside 1-${names.length}`);
      picked.push(n - 1);
    } else {
      // NAME-M ranges keep the digits' width: lab010-012 → lab010, lab011, lab012.
      const name = `${prefix}${String(n).padStart(fromText.length, '0')}`;
      const i = names.indexOf(name);
      if (i < 0) throw bad(token, `no lab host named ${name}`);
      picked.push(i);
    }
  }
  return picked;
}

/** Parses SPEC for the lab's hosts (by name, in index order). Returns faults per host name (only hosts with faults). */
export function parseFaultSpec(spec: string, names: readonly string[], transports: LabTransportSet): Map<string, HostFaults> {
  const out = new Map<string, HostFaults>();
  for (const raw of spec.split(';')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) throw bad(entry, 'expected SELECTOR=FAULT');
    const selectors = entry
      .slice(0, eq)
      .split(',')
      .map((s) => s.trim());
    const faults = entry
      .slice(eq + 1)
      .split(',')
      .map((s) => s.trim());
    const hosts = new Set<number>();
    for (const s of selectors) {
      if (s === '') throw bad(entry, 'empty host selector');
      for (const i of select(s, names)) hosts.add(i);
    }
    for (const f of faults) {
      if (f === '') throw bad(entry, 'empty fault');
      for (const i of hosts) {
        const name = names[i] as string;
        const target = out.get(name) ?? {};
        applyFault(target, f, transports);
        out.set(name, target);
      }
    }
  }
  return out;
}
