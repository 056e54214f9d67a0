/** Framing of the remote engine's stdout: only well-formed frames with this call's nonce count. */
import { describe, expect, it } from 'vitest';
import { FrameParser, encodeFrame, parseFrames } from '../../src/remote/frames.js';
import type { RemoteEvent, RemoteResult } from '../../src/remote/protocol.js';
import { TransportError } from '../../src/transport/types.js';

const nonce = 'Nonce_0123456789abcdef';
const event: RemoteEvent = { kind: 'event', phase: 'apply', at: '2025-01-01T00:00:00.000Z', message: 'sc.exe description \u201cq\u201d' };
const result: RemoteResult = { kind: 'result', op: 'apply', outcome: 'changed', reason: { code: 'ok' }, message: 'changed 1 field(s)' };
const clixml =
  '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN><MS><I64 N="SourceId">1</I64></MS></Obj></Objs>';

describe('FrameParser', () => {
  it('ignores banners, Write-Host text, CLIXML and service chatter around the frames', () => {
    const stdout = [
      'Windows PowerShell\r\nCopyright (C) Microsoft Corporation.\r\n',
      clixml,
      'Write-Host says hello <<not a frame>>\n',
      encodeFrame(event, nonce),
      'stray pipeline output: {"kind":"result","outcome":"changed"}\n',
      encodeFrame(result, nonce),
      'trailing noise',
    ].join('');
    const parsed = parseFrames(stdout, nonce);
    expect(parsed.events).toEqual([event]);
    expect(parsed.result).toEqual(result);
    expect(parsed.noise).toContain('Write-Host says hello');
  });

  it('ignores well-formed frames that carry another nonce (stale or forged)', () => {
    const forged: RemoteResult = { ...result, outcome: 'unchanged', message: 'forged' };
    const parsed = parseFrames(encodeFrame(forged, 'someone_elses_nonce_1') + encodeFrame(event, `${nonce}x`) + encodeFrame(result, nonce), nonce);
    expect(parsed.result?.message).toBe('changed 1 field(s)');
    expect(parsed.events).toEqual([]);
    expect(parsed.ignored).toBe(2);
  });

  it('reassembles frames split at every possible chunk boundary, and streams events as they complete', () => {
    const stdout = `noise<<svc${encodeFrame(event, nonce)}mid${encodeFrame(result, nonce)}`;
    for (let cut = 0; cut <= stdout.length; cut += 7) {
      const seen: RemoteEvent[] = [];
      const p = new FrameParser(nonce, { onEvent: (e) => seen.push(e) });
      p.push(stdout.slice(0, cut));
      p.push(stdout.slice(cut));
      const out = p.finish();
      expect(seen).toEqual([event]);
      expect(out.result).toEqual(result);
    }
  });

  it('treats "<<svcfleet:" inside ordinary text as noise', () => {
    const parsed = parseFrames(`a <<svcfleet: not base64 !! >> b ${encodeFrame(result, nonce)}`, nonce);
    expect(parsed.result).toEqual(result);
    expect(parsed.noise).toContain('not base64');
  });

  it('reports a missing result frame as no result (the caller turns it into a protocol error)', () => {
    const parsed = parseFrames(`${encodeFrame(event, nonce)}the engine died here`, nonce);
    expect(parsed.result).toBeUndefined();
    expect(parsed.events).toHaveLength(1);
  });

  it('rejects a frame with our nonce that is not valid JSON or not the protocol, naming the host', () => {
    const badJson = `<<svcfleet:${nonce}:${Buffer.from('{nope').toString('base64')}>>`;
    const badShape = encodeFrame({ kind: 'result', outcome: 'great' }, nonce);
    for (const bad of [badJson, badShape]) {
      let caught: unknown;
      try {
        parseFrames(bad, nonce, 'web07');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(TransportError);
      expect((caught as TransportError).errorClass).toBe('protocol');
      expect((caught as TransportError).message).toMatch(/^web07: bad output from the remote engine/);
    }
  });

  it('rejects a second result, or events after the result', () => {
    expect(() => parseFrames(encodeFrame(result, nonce) + encodeFrame(result, nonce), nonce)).toThrow(/after the result/);
    expect(() => parseFrames(encodeFrame(result, nonce) + encodeFrame(event, nonce), nonce)).toThrow(/after the result/);
  });
});
