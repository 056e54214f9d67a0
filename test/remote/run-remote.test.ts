/** runRemote over a scripted Session: results, streamed events, and clear protocol errors. */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/remote/frames.js';
import { newNonce } from '../../src/remote/invocation.js';
import type { RemoteEvent, RemoteRequest, RemoteResult } from '../../src/remote/protocol.js';
import { runRemote, runRemoteDetailed } from '../../src/remote/run.js';
import { TransportError, type ExecOptions, type ExecResult, type Invocation, type Session } from '../../src/transport/types.js';

const request: RemoteRequest = { v: 1, op: 'snapshot', nonce: newNonce(), runId: 'r1', service: 'Svc' };
const event: RemoteEvent = { kind: 'event', phase: 'snapshot', at: '2025-01-01T00:00:00.000Z', message: 'state running' };
const result: RemoteResult = { kind: 'result', op: 'snapshot', outcome: 'unchanged', reason: { code: 'ok' }, message: 'ok' };

/** A session that answers with the given chunks (streamed when `stream`), stderr and exit code. */
function scripted(chunks: (nonce: string) => string[], stderr = '', exitCode: number | null = 0, stream = true): Session & { seen: Invocation[] } {
  const seen: Invocation[] = [];
  return {
    seen,
    async exec(invocation: Invocation, options: ExecOptions): Promise<ExecResult> {
      seen.push(invocation);
      const nonce = (JSON.parse(invocation.stdin.toString('ascii')) as { request: RemoteRequest }).request.nonce;
      const parts = chunks(nonce);
      if (stream) for (const p of parts) options.onStdout?.(p);
      return { exitCode, stdout: parts.join(''), stderr };
    },
    async close() {},
  };
}

describe('runRemote', () => {
  it('returns the result and streams events, whatever surrounds the frames', async () => {
    const session = scripted((n) => ['banner\n', encodeFrame(event, n).slice(0, 9), encodeFrame(event, n).slice(9), 'Write-Host\n', encodeFrame(result, n)]);
    const events: RemoteEvent[] = [];
    expect(await runRemote(session, request, { host: 'web01', commandMs: 1000, onEvent: (e) => events.push(e) })).toEqual(result);
    expect(events).toEqual([event]);
    expect(session.seen).toHaveLength(1);
  });

  it('also works with sessions that only return stdout at the end', async () => {
    const events: RemoteEvent[] = [];
    const run = await runRemoteDetailed(
      scripted((n) => [encodeFrame(event, n), encodeFrame(result, n)], '', 0, false),
      request,
      {
        commandMs: 1000,
        onEvent: (e) => events.push(e),
      },
    );
    expect(run.result).toEqual(result);
    expect(events).toEqual([event]);
  });

  it('turns a missing result into a protocol error naming the host, with the decoded stderr', async () => {
    const stderr =
      '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">Access is denied._x000D__x000A_</S></Objs>';
    const session = scripted((n) => [encodeFrame(event, n), 'then it died'], stderr, 22);
    const err = await runRemote(session, request, { host: 'web09', commandMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).errorClass).toBe('protocol');
    expect((err as TransportError).message).toMatch(
      /^web09: the remote engine ended \(exit 22\) without a result frame; stderr: Access is denied\.; stdout: .*then it died/,
    );
  });

  it('does not accept a result forged with another nonce', async () => {
    const session = scripted(() => [encodeFrame(result, 'forged_nonce_0123456789')]);
    await expect(runRemote(session, request, { host: 'web02', commandMs: 1000 })).rejects.toThrow(/web02: the remote engine ended/);
  });
});
