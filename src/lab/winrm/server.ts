/**
 * The lab WS-Management server: one emulated Windows host's WinRM listener (HTTP 5985-style with NTLM and
 * message encryption, or HTTPS with NTLM/Basic), implementing WinRS Create, Command, Send, Receive (long-poll
 * with the w:TimedOut fault), Signal and Delete, plus per-host fault injection for `svcfleet lab up --faults`.
 *
 * Each host is one small listener (a paused net.Server handing sockets to an http/https server object), so a
 * few hundred hosts fit in one process. Commands run through a LabExecutor; PowerShell -EncodedCommand goes to
 * a PowerShellHandler (the lab runner with the emulated SCM).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { decryptBody, ENCRYPTED_CONTENT_TYPE, encryptBody, isEncryptedContentType } from '../../transport/winrm/encryption.js';
import type { NtlmSessionSecurity } from '../../transport/winrm/ntlm-security.js';
import { tlsServerEndPoint } from '../../transport/winrm/cbt.js';
import { Action, parseEnvelope, type ParsedEnvelope } from '../../transport/winrm/wsman.js';
import { child, children, find, path } from '../../transport/winrm/xml.js';
import { ensureLabPki, type TlsMaterial } from './certs.js';
import { createLabExecutor, LabStartError, type LabExecutor, type PowerShellHandler } from './executor.js';
import { NtlmAcceptor } from './ntlm-acceptor.js';
import { isNtlmToken, KerberosAcceptor, KerberosRefusal, type KerberosRefusalCode, type LabKerberosOptions } from './kerberos-acceptor.js';
import { labPowerShell } from './lab-powershell.js';
import type { LabRunner } from '../runner/index.js';
import {
  commandResponse,
  createResponse,
  deleteResponse,
  faultResponse,
  Faults,
  type FaultSpec,
  receiveResponse,
  sendResponse,
  signalResponse,
  type StreamPiece,
} from './responses.js';
import { LabShell } from './shells.js';
import { sendBadReply, type LabBadReply } from './faults.js';
import { releasePorts, reservePorts } from '../fleet/ports.js';

export interface LabWinrmFaults {
  /** Do not listen: the host's port refuses connections. */
  refuse?: boolean;
  /** Hold each new connection silent this long before TLS/HTTP starts (TCP itself cannot be slowed on loopback). */
  connectDelayMs?: number;
  /** Destroy the connection when a Receive arrives for a running command: true = every time, n = the first n times. */
  dropMidCommand?: boolean | number;
  /** Reject every credential with HTTP 401. */
  authFailure?: boolean;
  /** Serve a certificate from a CA that no client trusts (HTTPS only). */
  untrustedCert?: boolean;
  /** Delay every Receive response by this long. */
  receiveDelayMs?: number;
  /** Answer the first n Receives of each command with the w:TimedOut fault, as if OperationTimeout had passed. */
  receiveTimeouts?: number;
  /** Cap the Receive long-poll: w:TimedOut after min(request OperationTimeout, this). */
  maxOperationTimeoutMs?: number;
  /** Answer WS-Man requests with a body that is not SOAP ('xml') or with bytes that are not HTTP ('http'). */
  garbage?: 'xml' | 'http';
  /** Close idle keep-alive connections after this long (default 120 s, like http.sys). */
  keepAliveTimeoutMs?: number;
  /** Answer every authenticated WS-Man request with a broken reply (faults.ts). */
  badReply?: LabBadReply;
}

export interface LabWinrmAuth {
  /** Negotiate/NTLM (default true). */
  ntlm?: boolean;
  /** Basic (default false, like Windows). */
  basic?: boolean;
  /** AllowUnencrypted (default false, like Windows): plain SOAP over HTTP. */
  allowUnencrypted?: boolean;
  /** Negotiate/Kerberos with this service keytab (HTTPS only: no Kerberos message encryption). */
  kerberos?: LabKerberosOptions;
}

export type LabWinrmHttps = TlsMaterial & { rogue?: TlsMaterial };

export interface LabWinrmServerOptions {
  host?: string;
  /** 0 or absent: any free port. */
  port?: number;
  /** HTTPS material, or { labDir } to create/load the shared lab PKI there. Absent: plain HTTP. */
  https?: LabWinrmHttps | { labDir: string };
  auth?: LabWinrmAuth;
  /** Local accounts: user name → password. */
  users: Record<string, string>;
  /** NetBIOS name of the emulated host (default LAB<port>). */
  computerName?: string;
  /** Full control over what commands do; default: cmd builtins + `powershell`. */
  executor?: LabExecutor;
  /** What `powershell.exe -EncodedCommand` runs in the default executor; see also `lab`. */
  powershell?: PowerShellHandler;
  /** Run PowerShell through the lab runner against this emulated host's state dir (share one runner per fleet). */
  lab?: { stateDir: string; runner: LabRunner };
  faults?: LabWinrmFaults;
  /** WS-Man path (default /wsman). */
  path?: string;
  /** Called with unexpected server-side errors (default: ignored). */
  onError?: (err: unknown) => void;
}

export interface LabWinrmStats {
  openShells: number;
  runningCommands: number;
  connections: number;
  requests: number;
  /** Completed NTLM and Kerberos handshakes. */
  handshakes: number;
  commandsStarted: number;
  /** WS-Man requests that arrived NTLM-sealed (multipart/encrypted). */
  sealedRequests: number;
  /** NTLM and Kerberos handshakes bound to the TLS certificate (channel binding checked and matched). */
  channelBoundHandshakes: number;
  /** Kerberos tokens refused, by cause (bad-bindings: bound to another certificate; bindings-required: strict, none sent). */
  kerberosRefusals: Record<KerberosRefusalCode, number>;
  /** Receives answered with the w:TimedOut fault. */
  timedOutReceives: number;
}

export interface LabWinrmServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly scheme: 'http' | 'https';
  readonly computerName: string;
  /** The CA clients must trust (HTTPS only). */
  readonly caPem: string | undefined;
  stats(): LabWinrmStats;
  /** Replace the fault set (listening faults — refuse — only apply at start). */
  setFaults(faults: LabWinrmFaults): void;
  /**
   * The lab's `winrm-reset` fault: resets (TCP RST) the listener's connections while a Receive of a running command
   * is waiting on one, or, when none is, as soon as the next Receive arrives: the client learns nothing of the
   * command's end, which runs on (docs/lab-fleet.md).
   */
  resetOnReceive(): void;
  /** Destroy every open connection (idle keep-alive ones included), as a restarting listener would. */
  dropConnections(): void;
  close(): Promise<void>;
}

interface ConnState {
  acceptor?: NtlmAcceptor;
  user?: string;
  security?: NtlmSessionSecurity;
}

const MAX_REQUEST_BYTES = 1024 * 1024; // a little over Windows' 500 KB MaxEnvelopeSizekb default, after MIME framing
const OPTIONAL_DOMAIN = /^(?:\.|)$/;

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** ISO-8601 duration as used by WS-Man (PT20S, PT20.000S, P0DT0H0M20S) → ms. */
export function parseDurationMs(text: string | undefined, fallbackMs: number): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec((text ?? '').trim());
  if (!m) return fallbackMs;
  const [, d, h, min, s] = m;
  return Math.round(((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000);
}

export async function startLabWinrmServer(o: LabWinrmServerOptions): Promise<LabWinrmServer> {
  const host = o.host ?? '127.0.0.1';
  const wsmanPath = o.path ?? '/wsman';
  let faults: LabWinrmFaults = { ...(o.faults ?? {}) };
  const auth = { ntlm: o.auth?.ntlm ?? true, basic: o.auth?.basic ?? false, allowUnencrypted: o.auth?.allowUnencrypted ?? false };
  const kerberos = o.auth?.kerberos ? new KerberosAcceptor(o.auth.kerberos) : undefined;

  let tls: LabWinrmHttps | undefined;
  if (o.https) {
    if ('labDir' in o.https) {
      const pki = await ensureLabPki(o.https.labDir);
      tls = { ...pki.trusted, rogue: pki.rogue };
    } else {
      tls = o.https;
    }
  }
  const scheme: 'http' | 'https' = tls ? 'https' : 'http';
  // A claimed port outside the ephemeral range (see ports.ts): with `refuse` nothing listens on it, and nothing
  // else on the machine may bind it either, so connecting is refused for certain.
  const ownPort = !(o.port && o.port > 0);
  const port = ownPort ? (await reservePorts(1, host))[0]! : (o.port as number);
  const computerName = (o.computerName ?? `LAB${port}`).toUpperCase();
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${scheme}://${urlHost}:${port}${wsmanPath}`;
  const powershell = o.powershell ?? (o.lab ? labPowerShell(o.lab.runner, o.lab.stateDir) : undefined);
  const executor =
    o.executor ?? createLabExecutor({ identity: { computerName, user: Object.keys(o.users)[0] ?? 'Administrator' }, ...(powershell ? { powershell } : {}) });

  const shells = new Map<string, LabShell>();
  const conns = new WeakMap<object, ConnState>();
  const sockets = new Set<net.Socket>();
  // winrm-reset: Receives waiting for output now, and whether the next one (or a waiting one) resets the connection.
  let receiving = 0;
  let resetArmed = false;
  /** RST on the raw TCP sockets (a TLS socket has no reset of its own): the client sees ECONNRESET. */
  const resetConnections = (): void => {
    resetArmed = false;
    for (const s of sockets) s.resetAndDestroy();
  };
  const counters = {
    requests: 0,
    handshakes: 0,
    commandsStarted: 0,
    sealedRequests: 0,
    channelBoundHandshakes: 0,
    timedOutReceives: 0,
    kerberosRefusals: { 'bad-bindings': 0, 'bindings-required': 0, rejected: 0 },
  };
  const onError = o.onError ?? (() => undefined);

  const lookupPassword = (user: string, domain: string): string | undefined => {
    if (faults.authFailure) return undefined;
    const bare = user.includes('@') ? user.slice(0, user.indexOf('@')) : user;
    if (!OPTIONAL_DOMAIN.test(domain) && domain.toUpperCase() !== computerName) return undefined;
    const key = Object.keys(o.users).find((u) => u.toLowerCase() === bare.toLowerCase());
    return key === undefined ? undefined : o.users[key];
  };

  const offers = (): string[] => {
    const list: string[] = [];
    if (auth.ntlm || kerberos) list.push('Negotiate');
    if (kerberos) list.push('Kerberos');
    if (auth.basic && (scheme === 'https' || auth.allowUnencrypted)) list.push('Basic realm="WSMAN"');
    return list;
  };

  const send = (res: http.ServerResponse, status: number, body: Buffer | string, headers: Record<string, string | string[]> = {}): void => {
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { Server: 'Microsoft-HTTPAPI/2.0', 'Content-Length': String(buf.length), ...headers });
    res.end(buf);
  };
  const unauthorized = (res: http.ServerResponse, token?: { scheme: string; value: Buffer }): void => {
    send(res, 401, '', { 'WWW-Authenticate': token ? [`${token.scheme} ${token.value.toString('base64')}`] : offers() });
  };

  // ---- WS-Man operations ----

  type Reply = { status: number; xml: string } | 'dropped';
  const fault = (relatesTo: string, f: FaultSpec): Reply => ({ status: 500, xml: faultResponse(relatesTo, f) });

  const dispatch = async (env: ParsedEnvelope, ctx: { user: string; clientIp: string; socket: net.Socket; closed: AbortSignal }): Promise<Reply> => {
    const header = path(env.root, 'Header');
    const action = child(header, 'Action')?.text.trim() ?? '';
    const messageId = child(header, 'MessageID')?.text.trim() ?? '';
    const shellId = children(child(header, 'SelectorSet'), 'Selector')
      .find((s) => s.attrs['Name'] === 'ShellId')
      ?.text.trim();
    const options: Record<string, string> = {};
    for (const opt of children(child(header, 'OptionSet'), 'Option')) options[opt.attrs['Name'] ?? ''] = opt.text.trim();
    const operationTimeoutMs = parseDurationMs(child(header, 'OperationTimeout')?.text, 60_000);
    const maxEnvelope = Number(child(header, 'MaxEnvelopeSize')?.text.trim()) || 153600;
    const shell = shellId ? shells.get(shellId.toUpperCase()) : undefined;
    const needShell = (): Reply | undefined => (shell ? undefined : fault(messageId, Faults.unknownShell(computerName)));

    switch (action) {
      case Action.Create: {
        const s = new LabShell(ctx.user, options);
        shells.set(s.id, s);
        return { status: 200, xml: createResponse(messageId, { endpoint: url, shellId: s.id, owner: ctx.user, clientIp: ctx.clientIp, idleTimeoutS: 7200 }) };
      }
      case Action.Command: {
        const missing = needShell();
        if (missing) return missing;
        const line = find(env.body, 'CommandLine');
        const command = (child(line, 'Command')?.text ?? '').trim();
        const args = children(line, 'Arguments').map((a) => a.text);
        const skipCmdShell = /^true$/i.test(options['WINRS_SKIP_CMD_SHELL'] ?? '');
        const cmdLine = { command, args, skipCmdShell };
        try {
          executor.validate?.(cmdLine);
        } catch (err) {
          if (err instanceof LabStartError) return fault(messageId, Faults.processFailed(computerName, err.message));
          throw err;
        }
        const cmd = shell!.start(executor, cmdLine, onError);
        counters.commandsStarted++;
        return { status: 200, xml: commandResponse(messageId, cmd.id) };
      }
      case Action.Send: {
        const missing = needShell();
        if (missing) return missing;
        for (const s of children(find(env.body, 'Send'), 'Stream')) {
          const cmd = shell!.commands.get((s.attrs['CommandId'] ?? '').toUpperCase());
          if (!cmd) return fault(messageId, Faults.unknownCommand(computerName));
          cmd.pushStdin(Buffer.from(s.text.replace(/\s+/g, ''), 'base64'), s.attrs['End'] === 'true');
        }
        return { status: 200, xml: sendResponse(messageId) };
      }
      case Action.Receive: {
        const missing = needShell();
        if (missing) return missing;
        const desired = find(env.body, 'DesiredStream');
        const commandId = (desired?.attrs['CommandId'] ?? '').toUpperCase();
        const cmd = shell!.commands.get(commandId);
        if (!cmd) return fault(messageId, Faults.unknownCommand(computerName));
        cmd.receives++;
        if (resetArmed) {
          resetConnections();
          return 'dropped';
        }
        const drop = faults.dropMidCommand;
        if (drop && !cmd.done && (drop === true || cmd.receives <= drop)) {
          setTimeout(() => ctx.socket.destroy(), 20);
          return 'dropped';
        }
        // A client that never sends stdin (pywinrm's run_cmd) will not send it later either.
        if (!cmd.stdinStarted) cmd.endStdin();
        if (faults.receiveTimeouts && cmd.receives <= faults.receiveTimeouts) {
          await delay(20, ctx.closed);
          counters.timedOutReceives++;
          return fault(messageId, Faults.operationTimeout(computerName));
        }
        const wait = Math.min(operationTimeoutMs, faults.maxOperationTimeoutMs ?? Infinity);
        receiving++;
        const ready = await cmd.waitForOutput(wait, ctx.closed).finally(() => receiving--);
        if (ctx.closed.aborted) return 'dropped';
        if (!ready) {
          counters.timedOutReceives++;
          return fault(messageId, Faults.operationTimeout(computerName));
        }
        if (!cmd.done) await new Promise((r) => setImmediate(r)); // let a burst of output share one response
        await delay(faults.receiveDelayMs ?? 0, ctx.closed);
        if (ctx.closed.aborted) return 'dropped';
        // Raw bytes that fit the client's MaxEnvelopeSize once base64'd, with room for the envelope itself.
        const budget = Math.max(1024, Math.floor(((maxEnvelope - 2048) * 3) / 4));
        const pieces: StreamPiece[] = cmd.take(budget);
        const finished = cmd.done && cmd.queue.length === 0;
        if (finished) {
          pieces.push({ name: 'stdout', data: Buffer.alloc(0), end: true }, { name: 'stderr', data: Buffer.alloc(0), end: true });
        }
        return { status: 200, xml: receiveResponse(messageId, cmd.id, pieces, finished ? { exitCode: cmd.exitCode ?? 0 } : null) };
      }
      case Action.Signal: {
        const missing = needShell();
        if (missing) return missing;
        const sig = find(env.body, 'Signal');
        const commandId = (sig?.attrs['CommandId'] ?? '').toUpperCase();
        const code = (child(sig, 'Code')?.text ?? '').trim().toLowerCase();
        if (code.endsWith('/terminate')) shell!.terminate(commandId);
        else shell!.commands.get(commandId)?.abort.abort(); // ctrl_c / ctrl_break: interrupt, keep the command
        return { status: 200, xml: signalResponse(messageId) };
      }
      case Action.Delete: {
        const missing = needShell();
        if (missing) return missing;
        shell!.close();
        shells.delete(shell!.id);
        return { status: 200, xml: deleteResponse(messageId) };
      }
      default:
        return fault(messageId, Faults.unsupportedAction(computerName, action));
    }
  };

  // ---- HTTP ----

  const readBody = (req: http.IncomingMessage): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_REQUEST_BYTES) chunks.push(c);
      });
      req.on('end', () => resolve(size > MAX_REQUEST_BYTES ? null : Buffer.concat(chunks)));
      req.on('error', () => resolve(null));
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    counters.requests++;
    const socket = req.socket;
    const body = await readBody(req);
    if (req.method !== 'POST') return send(res, 405, '', { Allow: 'POST' });
    if ((req.url ?? '').split('?')[0]!.toLowerCase() !== wsmanPath.toLowerCase()) return send(res, 404, '');
    if (body === null) return send(res, 413, '');
    let conn = conns.get(socket);
    if (!conn) conns.set(socket, (conn = {}));

    // Authentication: NTLM binds to this connection; Basic rides on every request.
    let user = conn.user;
    const authz = req.headers.authorization ?? '';
    const ntlmHeader = /^(Negotiate|NTLM)\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authz);
    const krbHeader = kerberos ? /^(Negotiate|Kerberos)\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authz) : null;
    if (krbHeader && !isNtlmToken(Buffer.from(krbHeader[2]!, 'base64'))) {
      // Kerberos: one leg; the connection is authenticated and the AP-REP rides on this request's answer.
      try {
        const accepted = await kerberos!.accept(Buffer.from(krbHeader[2]!, 'base64'), scheme === 'https' ? tlsBindings() : undefined);
        const at = accepted.principal.lastIndexOf('@');
        const name = at >= 0 ? accepted.principal.slice(0, at) : accepted.principal;
        if (lookupPassword(name, '') === undefined) throw new Error(`${accepted.principal} is not a user of ${computerName}`);
        conn.user = user = name;
        conn.acceptor = undefined;
        conn.security = undefined;
        counters.handshakes++;
        if (accepted.channelBound) counters.channelBoundHandshakes++;
        if (accepted.response) res.setHeader('WWW-Authenticate', `${krbHeader[1]} ${accepted.response}`);
      } catch (err) {
        onError(err);
        if (err instanceof KerberosRefusal) counters.kerberosRefusals[err.code]++;
        conn.user = undefined;
        return unauthorized(res);
      }
    } else if (ntlmHeader && auth.ntlm) {
      const token = Buffer.from(ntlmHeader[2]!, 'base64');
      const type = token.length >= 12 ? token.readUInt32LE(8) : 0;
      if (type === 1) {
        const acceptor = new NtlmAcceptor({
          computerName,
          lookupPassword,
          ...(scheme === 'https' ? { channelBindings: tlsBindings() } : {}),
        });
        conn.acceptor = acceptor;
        conn.user = undefined;
        conn.security = undefined;
        try {
          return unauthorized(res, { scheme: ntlmHeader[1]!, value: acceptor.challenge(token) });
        } catch {
          return unauthorized(res);
        }
      }
      if (type === 3 && conn.acceptor) {
        try {
          const accepted = conn.acceptor.accept(token);
          conn.user = user = accepted.user;
          conn.security = accepted.security;
          counters.handshakes++;
          if (accepted.channelBound) counters.channelBoundHandshakes++;
        } catch {
          conn.acceptor = undefined;
          return unauthorized(res);
        }
        conn.acceptor = undefined;
      } else {
        return unauthorized(res);
      }
    } else if (/^Basic\s+/i.test(authz) && auth.basic && (scheme === 'https' || auth.allowUnencrypted)) {
      const raw = Buffer.from(authz.replace(/^Basic\s+/i, ''), 'base64');
      // RFC 7617 leaves the charset open: UTF-8 when it decodes cleanly, else latin-1 (what python-requests sends).
      const utf8 = raw.toString('utf8');
      const decoded = utf8.includes('\uFFFD') ? raw.toString('latin1') : utf8;
      const colon = decoded.indexOf(':');
      const [name, domain] = splitBasicUser(colon >= 0 ? decoded.slice(0, colon) : decoded);
      const expected = lookupPassword(name, domain);
      if (colon < 0 || expected === undefined || expected !== decoded.slice(colon + 1)) return unauthorized(res);
      user = name;
    } else if (!user) {
      return unauthorized(res);
    }

    if (body.length === 0) return send(res, 200, ''); // completes pywinrm's (and our) empty-POST handshake
    if (faults.badReply) return sendBadReply(faults.badReply, res, socket);

    let xml: string;
    let sealed = false;
    if (isEncryptedContentType(req.headers['content-type'])) {
      if (!conn.security) return send(res, 400, '');
      try {
        xml = decryptBody(body, conn.security).toString('utf8');
        sealed = true;
        counters.sealedRequests++;
      } catch (err) {
        onError(err);
        socket.destroy(); // the RC4 streams are out of step now; nothing on this connection can be trusted
        return;
      }
    } else {
      // AllowUnencrypted=false: Windows answers clear-text SOAP over HTTP with 401.
      if (scheme === 'http' && !auth.allowUnencrypted) return unauthorized(res);
      xml = body.toString('utf8');
    }

    const reply = (status: number, text: string): void => {
      const plain = Buffer.from(text, 'utf8');
      if (sealed && conn.security) send(res, status, encryptBody(plain, conn.security), { 'Content-Type': ENCRYPTED_CONTENT_TYPE });
      else send(res, status, plain, { 'Content-Type': 'application/soap+xml;charset=UTF-8' });
    };

    if (faults.garbage === 'http') {
      socket.end('ESMTP? this is not HTTP\r\n\0\0\0\r\n\r\n');
      return;
    }
    if (faults.garbage === 'xml') return reply(200, 'this is not SOAP <<< \u0000');

    let env: ParsedEnvelope;
    try {
      env = parseEnvelope(xml);
    } catch (err) {
      return reply(400, faultResponse('', Faults.badRequest(computerName, (err as Error).message)));
    }
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    let out: Reply;
    try {
      out = await dispatch(env, { user: user ?? '', clientIp: socket.remoteAddress ?? '', socket, closed: closed.signal });
    } catch (err) {
      onError(err);
      out = { status: 500, xml: faultResponse('', Faults.processFailed(computerName, String(err))) };
    }
    if (out === 'dropped' || res.destroyed || socket.destroyed) return;
    reply(out.status, out.xml);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((err) => {
      onError(err);
      if (!res.headersSent) send(res, 500, '');
      else res.destroy();
    });
  };

  const app = tls ? https.createServer({ key: tls.keyPem, cert: tls.certPem }, onRequest) : http.createServer(onRequest);
  // Receive long-polls last as long as the client's OperationTimeout; Node's request timeout must not cut them.
  app.requestTimeout = 0;
  app.headersTimeout = 60_000;
  const applyFaults = (): void => {
    app.keepAliveTimeout = faults.keepAliveTimeoutMs ?? 120_000;
    if (tls && app instanceof https.Server) {
      const material = faults.untrustedCert ? tls.rogue : tls;
      if (faults.untrustedCert && !material) throw new Error('untrustedCert fault needs rogue TLS material (use https: { labDir })');
      app.setSecureContext({ key: material!.keyPem, cert: material!.certPem });
    }
  };
  applyFaults();

  /** Channel-binding data of the certificate this listener currently serves. */
  function tlsBindings(): Buffer | undefined {
    const pem = (faults.untrustedCert ? tls?.rogue : tls)?.certPem;
    if (!pem) return undefined;
    return tlsServerEndPoint(Buffer.from(new X509Certificate(pem).raw));
  }

  const front = net.createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const handOver = (): void => {
      if (socket.destroyed) return;
      app.emit('connection', socket);
      socket.resume();
    };
    const d = faults.connectDelayMs ?? 0;
    if (d > 0) setTimeout(handOver, d);
    else handOver();
  });

  if (!faults.refuse) {
    await new Promise<void>((resolve, reject) => front.once('error', reject).listen(port, host, () => resolve()));
  }

  return {
    url,
    host,
    port,
    scheme,
    computerName,
    caPem: tls?.caPem,
    stats: () => ({
      openShells: shells.size,
      runningCommands: [...shells.values()].reduce((n, s) => n + [...s.commands.values()].filter((c) => !c.done).length, 0),
      connections: sockets.size,
      requests: counters.requests,
      handshakes: counters.handshakes,
      commandsStarted: counters.commandsStarted,
      sealedRequests: counters.sealedRequests,
      channelBoundHandshakes: counters.channelBoundHandshakes,
      kerberosRefusals: { ...counters.kerberosRefusals },
      timedOutReceives: counters.timedOutReceives,
    }),
    setFaults(f: LabWinrmFaults): void {
      faults = { ...f };
      applyFaults();
    },
    resetOnReceive(): void {
      resetArmed = true;
      if (receiving > 0) resetConnections();
    },
    dropConnections(): void {
      for (const s of sockets) s.destroy();
    },
    async close(): Promise<void> {
      for (const s of shells.values()) s.close();
      shells.clear();
      for (const s of sockets) s.destroy();
      if (front.listening) await new Promise<void>((resolve) => front.close(() => resolve()));
      if (ownPort) releasePorts([port]);
    },
  };
}

/** `DOMAIN\user` or `user` → [user, domain]. */
function splitBasicUser(name: string): [string, string] {
  const i = name.indexOf('\\');
  return i >= 0 ? [name.slice(i + 1), name.slice(0, i)] : [name, ''];
}
