/** Start-failure evidence is bounded and scrubbed on the controller, whatever a host sends. */
import { describe, expect, it } from 'vitest';
import { boundEvidence, scrubText } from '../../src/engine/scrub.js';
import type { StartEvidence } from '../../src/remote/protocol.js';

const line = (i: number, text: string) => ({ at: `2026-12-04T22:00:${String(i % 60).padStart(2, '0')}.000Z`, source: 'Application/AppSvc', id: 0, text });

describe('start-failure evidence on the controller', () => {
  it('keeps the newest 20 lines within 4 KB and says that older ones were left out', () => {
    const ev: StartEvidence = {
      service: 'AppSvc',
      win32ExitCode: 1067,
      serviceExitCode: 2,
      truncated: false,
      lines: Array.from({ length: 200 }, (_, i) => line(i, `line ${i}`)),
    };
    const b = boundEvidence(ev);
    expect(b.lines.map((l) => l.text)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${180 + i}`));
    expect(b.truncated).toBe(true);
    const big = boundEvidence({ ...ev, lines: Array.from({ length: 20 }, (_, i) => line(i, 'x'.repeat(2000))) });
    expect(big.lines.every((l) => l.text.length === 512)).toBe(true);
    expect(big.lines.reduce((n, l) => n + Buffer.byteLength(l.text), 0)).toBeLessThanOrEqual(4096);
    expect(big.truncated).toBe(true);
  });

  it("never carries the request's password or a name=value secret", () => {
    const ev: StartEvidence = {
      service: 'AppSvc',
      win32ExitCode: 1067,
      serviceExitCode: 1,
      truncated: false,
      lines: [line(1, 'logon as svcuser with hunter2-Pw failed'), line(2, 'DB_PASSWORD=s3cr3t host=db1'), line(3, '--api-key abc123 rejected')],
    };
    const b = boundEvidence(ev, ['hunter2-Pw']);
    const text = b.lines.map((l) => l.text).join('\n');
    expect(text).not.toMatch(/hunter2|s3cr3t|abc123/);
    expect(text).toContain('host=db1');
    expect(scrubText('token: "a b c" next')).toBe('token: [REDACTED] next');
  });
});
