/**
 * Framing of the remote engine's stdout (docs/reference/powershell.md#console-encoding-and-structured-output). Each frame is
 *
 *     <<svcfleet:NONCE:BASE64>>
 *
 * where BASE64 is the UTF-8 JSON of one RemoteEvent or RemoteResult and NONCE is the per-call nonce of the request.
 * Anything else on stdout (banners, Write-Host, CLIXML, a service's chatter) is noise, and a well-formed frame with
 * another nonce is ignored, so nothing but the engine called with this request can produce a result. A frame with
 * the right nonce that does not decode or validate is a protocol error: the host is talking, but not sense.
 */
import { TransportError } from '../transport/types.js';
import type { RemoteEvent, RemoteFrame, RemoteResult } from './protocol.js';
import { remoteFrameSchema } from './schema.js';

export const FRAME_OPEN = '<<svcfleet:';
const FRAME_CLOSE = '>>';
const FRAME_EXACT = /^<<svcfleet:([A-Za-z0-9_-]{1,128}):([A-Za-z0-9+/]*={0,2})>>$/;
/** A frame longer than this is not one (results with two snapshots are a few hundred KB at most). */
const MAX_FRAME_CHARS = 64 * 1024 * 1024;
const NOISE_KEEP_CHARS = 8 * 1024;

/** Encodes one frame exactly as the engine does (for fakes and tests). */
export function encodeFrame(frame: RemoteFrame | Record<string, unknown>, nonce: string): string {
  return `\n${FRAME_OPEN}${nonce}:${Buffer.from(JSON.stringify(frame), 'utf8').toString('base64')}${FRAME_CLOSE}\n`;
}

export interface FrameParserOptions {
  /** Named in protocol errors. */
  host?: string;
  onEvent?: (event: RemoteEvent) => void;
}

export interface ParsedFrames {
  events: RemoteEvent[];
  result?: RemoteResult;
  /** Well-formed frames carrying another nonce (stale or forged), ignored. */
  ignored: number;
  /** The tail of everything that was not a frame, for diagnostics. */
  noise: string;
}

export class FrameParser {
  readonly #nonce: string;
  readonly #host: string;
  readonly #onEvent: ((event: RemoteEvent) => void) | undefined;
  #buffer = '';
  #noise = '';
  #ignored = 0;
  #events: RemoteEvent[] = [];
  #result: RemoteResult | undefined;

  constructor(nonce: string, options: FrameParserOptions = {}) {
    this.#nonce = nonce;
    this.#host = options.host ?? 'remote host';
    this.#onEvent = options.onEvent;
  }

  /** Feeds a chunk of stdout; frames may be split across chunks anywhere. Throws a protocol TransportError. */
  push(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const open = this.#buffer.indexOf(FRAME_OPEN);
      if (open < 0) {
        // Keep what could be the start of a split marker.
        const keep = Math.min(this.#buffer.length, FRAME_OPEN.length - 1);
        this.#addNoise(this.#buffer.slice(0, this.#buffer.length - keep));
        this.#buffer = this.#buffer.slice(this.#buffer.length - keep);
        return;
      }
      this.#addNoise(this.#buffer.slice(0, open));
      this.#buffer = this.#buffer.slice(open);
      const close = this.#buffer.indexOf(FRAME_CLOSE, FRAME_OPEN.length);
      if (close < 0) {
        if (this.#buffer.length > MAX_FRAME_CHARS) this.#skipMarker();
        return;
      }
      const candidate = this.#buffer.slice(0, close + FRAME_CLOSE.length);
      const m = FRAME_EXACT.exec(candidate);
      if (!m) {
        // "<<svcfleet:" in someone's text, not a frame.
        this.#skipMarker();
        continue;
      }
      this.#buffer = this.#buffer.slice(candidate.length);
      this.#accept(m[1]!, m[2]!);
    }
  }

  /** Everything seen so far; call after the stream ended. */
  finish(): ParsedFrames {
    this.#addNoise(this.#buffer);
    this.#buffer = '';
    const out: ParsedFrames = { events: this.#events, ignored: this.#ignored, noise: this.#noise };
    if (this.#result) out.result = this.#result;
    return out;
  }

  #skipMarker(): void {
    this.#addNoise(FRAME_OPEN);
    this.#buffer = this.#buffer.slice(FRAME_OPEN.length);
  }

  #addNoise(text: string): void {
    if (!text) return;
    this.#noise = (this.#noise + text).slice(-NOISE_KEEP_CHARS);
  }

  #fail(message: string, cause?: unknown): never {
    throw new TransportError('protocol', 'command', `${this.#host}: bad output from the remote engine: ${message}`, { cause });
  }

  #accept(nonce: string, b64: string): void {
    if (nonce !== this.#nonce) {
      this.#ignored++;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
    } catch (err) {
      this.#fail('a frame is not base64 of JSON', err);
    }
    const parsed = remoteFrameSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.#fail(`a frame does not match the protocol (${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'})`);
    }
    const frame = parsed.data as RemoteFrame;
    if (this.#result) this.#fail('a frame arrived after the result');
    if (frame.kind === 'result') {
      this.#result = frame;
      return;
    }
    this.#events.push(frame);
    this.#onEvent?.(frame);
  }
}

/** Parses a complete stdout at once. */
export function parseFrames(stdout: string, nonce: string, host?: string): ParsedFrames {
  const parser = new FrameParser(nonce, host === undefined ? {} : { host });
  parser.push(stdout);
  return parser.finish();
}
