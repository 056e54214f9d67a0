/**
 * WS-Management / WinRS envelopes (MS-WSMV; shapes as in docs/transport-winrm.md and
 * docs/reference/winrm.md#winrs-command-flow): builders for the requests our client sends and parsers for the responses it reads. Everything a
 * caller supplies goes through escapeXml, so a command line or an id can never break out of its element.
 */
import { randomUUID } from 'node:crypto';
import { escapeXml, find, findAll, parseXml, path, type XNode, XmlFormatError } from './xml.js';

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  a: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  w: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  p: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  x: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  f: 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault',
} as const;

export const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';
export const SHELL_CMD_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';

const SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
export const Action = {
  Create: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
  Delete: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete',
  Command: `${SHELL}/Command`,
  Send: `${SHELL}/Send`,
  Receive: `${SHELL}/Receive`,
  Signal: `${SHELL}/Signal`,
} as const;

export const Signal = {
  terminate: `${SHELL}/signal/terminate`,
  ctrlC: `${SHELL}/signal/ctrl_c`,
} as const;

export const CommandState = {
  done: `${SHELL}/CommandState/Done`,
  running: `${SHELL}/CommandState/Running`,
  pending: `${SHELL}/CommandState/Pending`,
} as const;

/** WSManFault code for "the operation did not complete within OperationTimeout" (0x803381A6). */
export const WSMAN_OPERATION_TIMEOUT = 2150858793;

export interface RequestHeader {
  to: string;
  action: string;
  operationTimeoutSeconds: number;
  /** Largest response envelope we accept, bytes. */
  maxEnvelopeSize: number;
  messageId?: string;
  shellId?: string;
  options?: Record<string, string>;
}

export function newMessageId(): string {
  return `uuid:${randomUUID().toUpperCase()}`;
}

export function buildEnvelope(h: RequestHeader, body: string): { xml: string; messageId: string } {
  const messageId = h.messageId ?? newMessageId();
  const options = h.options
    ? `<w:OptionSet s:mustUnderstand="true">${Object.entries(h.options)
        .map(([k, v]) => `<w:Option Name="${escapeXml(k)}">${escapeXml(v)}</w:Option>`)
        .join('')}</w:OptionSet>`
    : '';
  const selector = h.shellId ? `<w:SelectorSet><w:Selector Name="ShellId">${escapeXml(h.shellId)}</w:Selector></w:SelectorSet>` : '';
  const xml =
    `<s:Envelope xmlns:s="${NS.s}" xmlns:a="${NS.a}" xmlns:w="${NS.w}" xmlns:p="${NS.p}" xmlns:rsp="${NS.rsp}">` +
    `<s:Header>` +
    `<a:To>${escapeXml(h.to)}</a:To>` +
    `<a:ReplyTo><a:Address s:mustUnderstand="true">${ANONYMOUS}</a:Address></a:ReplyTo>` +
    `<a:Action s:mustUnderstand="true">${escapeXml(h.action)}</a:Action>` +
    `<w:MaxEnvelopeSize s:mustUnderstand="true">${h.maxEnvelopeSize}</w:MaxEnvelopeSize>` +
    `<a:MessageID>${messageId}</a:MessageID>` +
    `<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>` +
    `<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>` +
    `<w:OperationTimeout>PT${h.operationTimeoutSeconds}S</w:OperationTimeout>` +
    `<w:ResourceURI s:mustUnderstand="true">${SHELL_CMD_URI}</w:ResourceURI>` +
    selector +
    options +
    `</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
  return { xml, messageId };
}

export function createShellBody(): string {
  return '<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>';
}

export function commandBody(command: string, args: readonly string[]): string {
  return `<rsp:CommandLine><rsp:Command>${escapeXml(command)}</rsp:Command>${args
    .map((a) => `<rsp:Arguments>${escapeXml(a)}</rsp:Arguments>`)
    .join('')}</rsp:CommandLine>`;
}

export function sendBody(commandId: string, data: Buffer, end: boolean): string {
  return `<rsp:Send><rsp:Stream Name="stdin" CommandId="${escapeXml(commandId)}"${end ? ' End="true"' : ''}>${data.toString('base64')}</rsp:Stream></rsp:Send>`;
}

export function receiveBody(commandId: string): string {
  return `<rsp:Receive><rsp:DesiredStream CommandId="${escapeXml(commandId)}">stdout stderr</rsp:DesiredStream></rsp:Receive>`;
}

export function signalBody(commandId: string, code: string): string {
  return `<rsp:Signal CommandId="${escapeXml(commandId)}"><rsp:Code>${escapeXml(code)}</rsp:Code></rsp:Signal>`;
}

// ---- responses ----

export class WsmanProtocolError extends Error {
  override readonly name = 'WsmanProtocolError';
}

export interface WsmanFault {
  code: string;
  /** Local part of the first Subcode value, e.g. 'TimedOut', 'InvalidSelectors'. */
  subcode: string;
  reason: string;
  /** f:WSManFault@Code, when present. */
  wsmanCode: number | undefined;
  message: string;
}

export interface ParsedEnvelope {
  root: XNode;
  body: XNode;
  relatesTo: string | undefined;
  fault: WsmanFault | undefined;
}

const localPart = (v: string): string => v.slice(v.lastIndexOf(':') + 1).trim();

export function parseEnvelope(xml: string): ParsedEnvelope {
  let root: XNode;
  try {
    root = parseXml(xml);
  } catch (err) {
    throw new WsmanProtocolError(err instanceof XmlFormatError ? err.message : String(err));
  }
  if (root.name !== 'Envelope') throw new WsmanProtocolError(`expected a SOAP Envelope, got <${root.name}>`);
  const body = path(root, 'Body');
  if (!body) throw new WsmanProtocolError('SOAP Envelope has no Body');
  const relatesTo = path(root, 'Header', 'RelatesTo')?.text.trim();
  const f = path(body, 'Fault');
  let fault: WsmanFault | undefined;
  if (f) {
    const wsf = find(f, 'WSManFault');
    const codeAttr = wsf?.attrs['Code'];
    fault = {
      code: localPart(path(f, 'Code', 'Value')?.text ?? ''),
      subcode: localPart(path(f, 'Code', 'Subcode', 'Value')?.text ?? ''),
      reason: (path(f, 'Reason', 'Text')?.text ?? '').trim(),
      wsmanCode: codeAttr !== undefined && /^\d+$/.test(codeAttr) ? Number(codeAttr) : undefined,
      message: (find(wsf, 'Message')?.text ?? '').trim(),
    };
  }
  return { root, body, relatesTo, fault };
}

export function isOperationTimeout(fault: WsmanFault): boolean {
  return fault.wsmanCode === WSMAN_OPERATION_TIMEOUT || fault.subcode === 'TimedOut';
}

export function describeFault(fault: WsmanFault): string {
  const code = fault.wsmanCode !== undefined ? ` (WSManFault ${fault.wsmanCode})` : '';
  const text = fault.message || fault.reason || 'no reason given';
  return `${fault.subcode || fault.code || 'Fault'}${code}: ${text}`;
}

/** ShellId from x:ResourceCreated's selector or, on newer Windows, rsp:Shell/rsp:ShellId. */
export function parseShellId(env: ParsedEnvelope): string {
  const selector = findAll(env.body, 'Selector').find((s) => s.attrs['Name'] === 'ShellId');
  const id = (selector?.text ?? find(env.body, 'ShellId')?.text ?? '').trim();
  if (!id) throw new WsmanProtocolError('Create response carries no ShellId');
  return id;
}

export function parseCommandId(env: ParsedEnvelope): string {
  const id = (find(env.body, 'CommandId')?.text ?? '').trim();
  if (!id) throw new WsmanProtocolError('Command response carries no CommandId');
  return id;
}

export interface ReceivedChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  end: boolean;
}

export interface ReceiveResult {
  chunks: ReceivedChunk[];
  done: boolean;
  exitCode: number | null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function parseReceive(env: ParsedEnvelope, commandId: string): ReceiveResult {
  const resp = find(env.body, 'ReceiveResponse');
  if (!resp) throw new WsmanProtocolError('expected a ReceiveResponse');
  const chunks: ReceivedChunk[] = [];
  for (const s of findAll(resp, 'Stream')) {
    const name = s.attrs['Name'];
    if (name !== 'stdout' && name !== 'stderr') continue;
    const cid = s.attrs['CommandId'];
    if (cid !== undefined && cid.toUpperCase() !== commandId.toUpperCase()) continue;
    const text = s.text.replace(/\s+/g, '');
    if (!BASE64.test(text)) throw new WsmanProtocolError(`stream ${name} is not base64`);
    chunks.push({ stream: name, data: Buffer.from(text, 'base64'), end: s.attrs['End'] === 'true' });
  }
  const state = find(resp, 'CommandState');
  const done = state?.attrs['State']?.endsWith('/Done') ?? false;
  let exitCode: number | null = null;
  if (done) {
    const ec = find(state, 'ExitCode')?.text.trim();
    if (ec !== undefined && ec !== '') {
      if (!/^-?\d+$/.test(ec)) throw new WsmanProtocolError(`ExitCode is not a number: ${ec.slice(0, 40)}`);
      // Windows reports exit codes as unsigned 32-bit; fold them back to what the process returned.
      const n = Number(ec);
      exitCode = n > 0x7fffffff ? n - 0x100000000 : n;
    }
  }
  return { chunks, done, exitCode };
}
