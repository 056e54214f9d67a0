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
/** A whole frame at `lastIndex` (sticky): it must end at the first `>>` after its marker. */
const FRAME_AT = /<<svcfleet:([A-Za-z0-9_-]{1,128}):([A-Za-z0-9+/]*={0,2})>>/y;
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

  /**
   * Feeds a chunk of stdout; frames may be split across chunks anywhere. Throws a protocol TransportError.
   * Walks the text by position and slices once at the end: slicing the rest after every frame, and matching each
   * frame as a string of its own, was most of the parser's cost at 10,000 hosts (bench/fleet).
   */
  push(chunk: string): void {
    const text = this.#buffer + chunk;
    let at = 0;
    for (;;) {
      const open = text.indexOf(FRAME_OPEN, at);
      if (open < 0) {
        // Keep what could be the start of a split marker.
        const keep = Math.max(at, text.length - (FRAME_OPEN.length - 1));
        this.#addNoise(text.slice(at, keep));
        this.#buffer = text.slice(keep);
        return;
      }
      this.#addNoise(text.slice(at, open));
      const close = text.indexOf(FRAME_CLOSE, open + FRAME_OPEN.length);
      if (close < 0) {
        if (text.length - open > MAX_FRAME_CHARS) {
          this.#addNoise(FRAME_OPEN);
          this.#buffer = text.slice(open + FRAME_OPEN.length);
        } else this.#buffer = text.slice(open);
        return;
      }
      FRAME_AT.lastIndex = open;
      const m = FRAME_AT.exec(text);
      if (!m || FRAME_AT.lastIndex !== close + FRAME_CLOSE.length) {
        // "<<svcfleet:" in someone's text, not a frame.
        this.#addNoise(FRAME_OPEN);
        at = open + FRAME_OPEN.length;
        continue;
      }
      at = FRAME_AT.lastIndex;
      this.#accept(m[1]!, m[2]!);
    }
  }

  /** Everything seen so far; call after the stream ended. */
  finish(): ParsedFrames {
    this.#addNoise(this.#buffer);
    this.#buffer = '';
    const out: ParsedFrames = { events: this.#events, ignored: this.#ignored, noise: this.#noise.slice(-NOISE_KEEP_CHARS) };
    if (this.#result) out.result = this.#result;
    return out;
  }

  /** Noise is cut to its tail only now and then: cutting after every piece flattened the string each time. */
  #addNoise(text: string): void {
    if (!text) return;
    this.#noise += text;
    if (this.#noise.length > 2 * NOISE_KEEP_CHARS) this.#noise = this.#noise.slice(-NOISE_KEEP_CHARS);
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
