/**
 * Response envelopes of the lab WinRM server, shaped like a Windows Server 2016+ listener's
 * (docs/reference/winrm.md#winrs-command-flow; recorded shapes in pypsrp's tests/tests_pypsrp/responses/*.yml): a:Action …Response, a fresh
 * a:MessageID, a:To anonymous and a:RelatesTo = the request's MessageID, with the usual prefixes s/a/x/w/rsp/p.
 */
import { escapeXml } from '../../transport/winrm/xml.js';
import { ANONYMOUS, CommandState, newMessageId, NS, SHELL_CMD_URI, WSMAN_OPERATION_TIMEOUT } from '../../transport/winrm/wsman.js';

function envelope(action: string, relatesTo: string, body: string): string {
  return (
    `<s:Envelope xml:lang="en-US" xmlns:s="${NS.s}" xmlns:a="${NS.a}" xmlns:x="${NS.x}" xmlns:w="${NS.w}" xmlns:rsp="${NS.rsp}" xmlns:p="${NS.p}">` +
    `<s:Header><a:Action>${escapeXml(action)}</a:Action><a:MessageID>${newMessageId()}</a:MessageID>` +
    `<a:To>${ANONYMOUS}</a:To><a:RelatesTo>${escapeXml(relatesTo)}</a:RelatesTo></s:Header>` +
    `<s:Body>${body}</s:Body></s:Envelope>`
  );
}

export function createResponse(relatesTo: string, o: { endpoint: string; shellId: string; owner: string; clientIp: string; idleTimeoutS: number }): string {
  const id = escapeXml(o.shellId);
  return envelope(
    'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse',
    relatesTo,
    `<x:ResourceCreated><a:Address>${escapeXml(o.endpoint)}</a:Address><a:ReferenceParameters>` +
      `<w:ResourceURI>${SHELL_CMD_URI}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">${id}</w:Selector></w:SelectorSet>` +
      `</a:ReferenceParameters></x:ResourceCreated>` +
      `<rsp:Shell xmlns:rsp="${NS.rsp}"><rsp:ShellId>${id}</rsp:ShellId><rsp:ResourceUri>${SHELL_CMD_URI}</rsp:ResourceUri>` +
      `<rsp:Owner>${escapeXml(o.owner)}</rsp:Owner><rsp:ClientIP>${escapeXml(o.clientIp)}</rsp:ClientIP>` +
      `<rsp:IdleTimeOut>PT${o.idleTimeoutS}.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>` +
      `<rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>` +
      `<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`,
  );
}

export function commandResponse(relatesTo: string, commandId: string): string {
  return envelope(`${NS.rsp}/CommandResponse`, relatesTo, `<rsp:CommandResponse><rsp:CommandId>${escapeXml(commandId)}</rsp:CommandId></rsp:CommandResponse>`);
}

export function sendResponse(relatesTo: string): string {
  return envelope(`${NS.rsp}/SendResponse`, relatesTo, '<rsp:SendResponse/>');
}

export interface StreamPiece {
  name: 'stdout' | 'stderr';
  data: Buffer;
  end?: boolean;
}

export function receiveResponse(relatesTo: string, commandId: string, pieces: StreamPiece[], done: { exitCode: number } | null): string {
  const cid = escapeXml(commandId);
  const streams = pieces
    .map((p) => `<rsp:Stream Name="${p.name}" CommandId="${cid}"${p.end ? ' End="true"' : ''}>${p.data.toString('base64')}</rsp:Stream>`)
    .join('');
  const state = done
    ? `<rsp:CommandState CommandId="${cid}" State="${CommandState.done}"><rsp:ExitCode>${done.exitCode}</rsp:ExitCode></rsp:CommandState>`
    : `<rsp:CommandState CommandId="${cid}" State="${CommandState.running}"></rsp:CommandState>`;
  return envelope(`${NS.rsp}/ReceiveResponse`, relatesTo, `<rsp:ReceiveResponse>${streams}${state}</rsp:ReceiveResponse>`);
}

export function signalResponse(relatesTo: string): string {
  return envelope(`${NS.rsp}/SignalResponse`, relatesTo, '<rsp:SignalResponse/>');
}

export function deleteResponse(relatesTo: string): string {
  return envelope('http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse', relatesTo, '');
}

export interface FaultSpec {
  /** 'Sender' or 'Receiver'. */
  code: 'Sender' | 'Receiver';
  /** w:-namespace subcode, e.g. 'TimedOut', 'InvalidSelectors', 'InternalError'. */
  subcode: string;
  reason: string;
  wsmanCode: number;
  machine: string;
}

export function faultResponse(relatesTo: string, f: FaultSpec): string {
  const reason = escapeXml(f.reason);
  return envelope(
    'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
    relatesTo,
    `<s:Fault><s:Code><s:Value>s:${f.code}</s:Value><s:Subcode><s:Value>w:${escapeXml(f.subcode)}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en-US">${reason}</s:Text></s:Reason><s:Detail>` +
      `<f:WSManFault xmlns:f="${NS.f}" Code="${f.wsmanCode}" Machine="${escapeXml(f.machine)}"><f:Message>${reason}</f:Message></f:WSManFault>` +
      `</s:Detail></s:Fault>`,
  );
}

export const Faults = {
  operationTimeout: (machine: string): FaultSpec => ({
    code: 'Receiver',
    subcode: 'TimedOut',
    reason: 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
    wsmanCode: WSMAN_OPERATION_TIMEOUT,
    machine,
  }),
  unknownShell: (machine: string): FaultSpec => ({
    code: 'Sender',
    subcode: 'InvalidSelectors',
    reason: 'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
    wsmanCode: 2150858843,
    machine,
  }),
  unknownCommand: (machine: string): FaultSpec => ({
    code: 'Sender',
    subcode: 'InvalidSelectors',
    reason: 'The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist.',
    wsmanCode: 2150858843,
    machine,
  }),
  unsupportedAction: (machine: string, action: string): FaultSpec => ({
    code: 'Sender',
    subcode: 'ActionNotSupported',
    reason: `The action is not supported by the service: ${action}`,
    wsmanCode: 2150858754,
    machine,
  }),
  badRequest: (machine: string, why: string): FaultSpec => ({ code: 'Sender', subcode: 'SchemaValidationError', reason: why, wsmanCode: 2150858817, machine }),
  processFailed: (machine: string, why: string): FaultSpec => ({ code: 'Receiver', subcode: 'InternalError', reason: why, wsmanCode: 2147942606, machine }),
};
