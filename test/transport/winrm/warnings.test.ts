import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_DEADLINES } from '../../../src/transport/types.js';
import { createWinrmTransport } from '../../../src/transport/winrm/index.js';
import { Secret } from '../../../src/util/secret.js';
import { reservePorts } from '../../../src/lab/fleet/ports.js';

/** A port nothing listens on: claimed outside the ephemeral range, so nothing else binds it meanwhile. */
async function closedPort(): Promise<number> {
  return (await reservePorts(1))[0]!;
}

afterEach(() => vi.restoreAllMocks());

describe('WinRM security warnings without an onWarning handler', () => {
  it('go to stderr directly, not through process.emitWarning (which NODE_NO_WARNINGS silences)', async () => {
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const port = await closedPort();
    const settings = { transport: 'winrm' as const, address: '127.0.0.1', port, user: 'u', password: new Secret('p') };
    const transport = createWinrmTransport();
    await expect(
      transport.open('tls-off', { ...settings, winrm: { scheme: 'https', auth: 'ntlm', certValidation: 'ignore' } }, { deadlines: DEFAULT_DEADLINES }),
    ).rejects.toThrow();
    await expect(
      transport.open('plain', { ...settings, winrm: { scheme: 'http', auth: 'basic', allowUnencryptedBasic: true } }, { deadlines: DEFAULT_DEADLINES }),
    ).rejects.toThrow();
    await transport.dispose?.();
    expect(emitted).not.toHaveBeenCalled();
    expect(written.join('')).toMatch(/svcfleet: warning: tls-off: TLS certificate verification is DISABLED/);
    expect(written.join('')).toMatch(/svcfleet: warning: plain: Basic authentication over plain HTTP/);
  });
});

describe('WinRM security warnings with an onWarning handler (what the engine gives every host)', () => {
  it('go to the handler only: the engine makes them host-log warn lines, so a dashboard is never torn by stderr', async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const port = await closedPort();
    const settings = { transport: 'winrm' as const, address: '127.0.0.1', port, user: 'u', password: new Secret('p') };
    const transport = createWinrmTransport();
    const said: string[] = [];
    await expect(
      transport.open(
        'tls-off',
        { ...settings, winrm: { scheme: 'https', auth: 'ntlm', certValidation: 'ignore' } },
        { deadlines: DEFAULT_DEADLINES, onWarning: (m) => said.push(m) },
      ),
    ).rejects.toThrow();
    await transport.dispose?.();
    expect(said).toEqual([expect.stringMatching(/^TLS certificate verification is DISABLED/)]);
    expect(written.join('')).toBe('');
  });
});
