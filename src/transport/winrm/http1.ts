/**
 * A minimal HTTP/1.1 client on ONE socket we own. WinRM's NTLM context (and its RC4 streams) belongs to a TCP
 * connection, so the channel must know exactly which connection each request used, when it died, and never have
 * a pool hand it another one; Node's http.Agent hides all three (a stale free socket can be handed out, or a
 * fresh one silently swapped in). Requests are strictly sequential; responses are framed by Content-Length,
 * chunked encoding, or connection close.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface Http1Response {
  status: number;
  /** Header names lower-cased, in arrival order (repeated headers kept). */
  headers: [string, string][];
  body: Buffer;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** TLS options for HTTPS; absent for plain HTTP. */
  tls?: tls.ConnectionOptions;
  connectMs: number;
  signal?: AbortSignal | undefined;
}

export type Http1FailureKind = 'connect-timeout' | 'read-timeout' | 'aborted' | 'closed' | 'malformed' | 'too-large';

export class Http1Failure extends Error {
  override readonly name = 'Http1Failure';
  constructor(
    readonly kind: Http1FailureKind,
    message: string,
    /** Bytes of the response received before the failure (0: the server may never have seen the request). */
    readonly receivedBytes = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const MAX_HEAD = 64 * 1024;

export function header(res: Http1Response, name: string): string | undefined {
  return res.headers.find(([n]) => n === name)?.[1];
}

export class Http1Connection {
  readonly socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  #pending: ((err?: Error) => void) | undefined;
  #closed = false;
  #reusable = true;
  /** Completed requests on this connection. */
  requests = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      if (this.#pending) this.#pending();
      else if (this.#buf.length) this.#reusable = false; // unsolicited bytes: the framing is lost
    });
    const onGone = (err?: Error): void => {
      this.#closed = true;
      this.#pending?.(err ?? new Error('closed'));
    };
    socket.on('end', () => onGone());
    socket.on('close', () => onGone());
    socket.on('error', (err) => onGone(err));
  }

  /** Connect (and for HTTPS, finish the TLS handshake, verifying the peer unless told otherwise). */
  static connect(o: ConnectOptions): Promise<Http1Connection> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(new Http1Failure('aborted', 'aborted'));
      const socket = o.tls
        ? tls.connect({ host: o.host, port: o.port, ...(net.isIP(o.host) ? {} : { servername: o.host }), ALPNProtocols: ['http/1.1'], ...o.tls })
        : net.connect({ host: o.host, port: o.port });
      const done = (err?: unknown): void => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        socket.removeListener('error', done);
        if (err) {
          socket.destroy();
          reject(err);
        } else {
          resolve(new Http1Connection(socket));
        }
      };
      const onAbort = (): void => done(new Http1Failure('aborted', 'aborted'));
      const timer = setTimeout(() => done(new Http1Failure('connect-timeout', `no connection within ${o.connectMs} ms`)), o.connectMs);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', done);
      socket.once(o.tls ? 'secureConnect' : 'connect', () => done());
    });
  }

  /** Usable for another request: connected, not closed by either side, framing intact. */
  get alive(): boolean {
    return !this.#closed && this.#reusable && !this.socket.destroyed && this.socket.readyState === 'open';
  }

  destroy(): void {
    this.#closed = true;
    this.socket.destroy();
  }

  /**
   * Send one request and read its response. `readTimeoutMs` runs from the moment the request is written.
   * Any failure leaves the connection unusable (destroyed), because its framing can no longer be trusted.
   */
  request(head: string, body: Buffer, o: { readTimeoutMs: number; signal?: AbortSignal | undefined }): Promise<Http1Response> {
    if (!this.alive) return Promise.reject(new Http1Failure('closed', 'connection is closed'));
    if (this.#pending) return Promise.reject(new Error('Http1Connection: one request at a time'));
    return new Promise<Http1Response>((resolve, reject) => {
      let received = 0;
      const finish = (err: Error | undefined, res?: Http1Response): void => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        this.#pending = undefined;
        if (err) {
          this.destroy();
          reject(err);
        } else {
          this.requests++;
          if (!this.#reusable) this.destroy();
          resolve(res!);
        }
      };
      const onAbort = (): void => finish(new Http1Failure('aborted', 'aborted', received));
      const timer = setTimeout(() => finish(new Http1Failure('read-timeout', `no complete response within ${o.readTimeoutMs} ms`, received)), o.readTimeoutMs);
      if (o.signal?.aborted) return finish(new Http1Failure('aborted', 'aborted'));
      o.signal?.addEventListener('abort', onAbort, { once: true });

      const parse = (closedErr?: Error): void => {
        received = this.#buf.length || received;
        let parsed: { res: Http1Response; consumed: number } | 'more';
        try {
          parsed = parseResponse(this.#buf, closedErr !== undefined || this.#closed);
        } catch (err) {
          return finish(new Http1Failure('malformed', (err as Error).message, received || 1));
        }
        if (parsed === 'more') {
          if (closedErr || this.#closed) {
            return finish(new Http1Failure('closed', `connection closed by the peer (${closedErr?.message ?? 'EOF'})`, received, { cause: closedErr }));
          }
          if (this.#buf.length > 16 * 1024 * 1024) return finish(new Http1Failure('too-large', 'response too large', received));
          return;
        }
        this.#buf = this.#buf.subarray(parsed.consumed);
        if (this.#buf.length) this.#reusable = false;
        const conn = header(parsed.res, 'connection')?.toLowerCase();
        if (conn === 'close') this.#reusable = false;
        finish(undefined, parsed.res);
      };
      this.#pending = parse;
      // One segment for head and body where possible (Nagle is off).
      this.socket.cork();
      this.socket.write(head, 'latin1');
      if (body.length) this.socket.write(body);
      this.socket.uncork();
      if (this.#buf.length) parse();
    });
  }
}

/** Parse one response from the front of `buf`; 'more' when incomplete. Throws on anything that is not HTTP/1.x. */
function parseResponse(buf: Buffer, eof: boolean): { res: Http1Response; consumed: number } | 'more' {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    if (buf.length >= 5 && !buf.subarray(0, 5).equals(Buffer.from('HTTP/'))) throw new Error('not an HTTP response');
    if (buf.length > MAX_HEAD) throw new Error('HTTP response head too large');
    return 'more';
  }
  const lines = buf.toString('latin1', 0, headEnd).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
  const status = Number(m[1]);
  const headers: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c <= 0) throw new Error(`malformed HTTP header line: ${JSON.stringify(l.slice(0, 40))}`);
    headers.push([l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()]);
  }
  const bodyStart = headEnd + 4;
  const res = (body: Buffer): Http1Response => ({ status, headers, body });
  const get = (n: string): string | undefined => headers.find(([k]) => k === n)?.[1];
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { res: res(Buffer.alloc(0)), consumed: bodyStart };
  if (/chunked/i.test(get('transfer-encoding') ?? '')) {
    const chunks: Buffer[] = [];
    let pos = bodyStart;
    while (true) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return 'more';
      const size = parseInt(buf.toString('latin1', pos, lineEnd).split(';')[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new Error('malformed chunk size');
      const dataStart = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
        if (buf.toString('latin1', dataStart, dataStart + 2) === '\r\n') return { res: res(Buffer.concat(chunks)), consumed: dataStart + 2 };
        if (trailerEnd < 0) return 'more';
        return { res: res(Buffer.concat(chunks)), consumed: trailerEnd + 4 };
      }
      if (buf.length < dataStart + size + 2) return 'more';
      chunks.push(buf.subarray(dataStart, dataStart + size));
      pos = dataStart + size + 2;
    }
  }
  const cl = get('content-length');
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new Error('malformed Content-Length');
    const n = Number(cl);
    if (buf.length < bodyStart + n) return 'more';
    return { res: res(Buffer.from(buf.subarray(bodyStart, bodyStart + n))), consumed: bodyStart + n };
  }
  // No framing: the body runs to the end of the connection.
  if (!eof) return 'more';
  return { res: res(Buffer.from(buf.subarray(bodyStart))), consumed: buf.length };
}
