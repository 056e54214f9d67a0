/**
 * HTTP verify under Windows PowerShell 5.1 (.NET Framework, old target): the engine turns on TLS 1.2 (and 1.3 where
 * the enum has it) before its request, keeping what is on, and leaves the OS choice (SystemDefault) and PowerShell 7
 * alone (docs/reference/powershell.md "TLS defaults in Windows PowerShell").
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { callEngine, okValue, type HarnessResult } from './pwsh.js';

let results: HarnessResult[] = [];

beforeAll(async () => {
  results = await callEngine([
    { fn: 'Get-ModernTlsProtocol', args: ['Ssl3, Tls', 'Desktop'] },
    { fn: 'Get-ModernTlsProtocol', args: ['Tls, Tls11', 'Desktop'] },
    { fn: 'Get-ModernTlsProtocol', args: ['SystemDefault', 'Desktop'] },
    { fn: 'Get-ModernTlsProtocol', args: ['Tls', 'Core'] },
  ]);
}, 120_000);

/** System.Net.SecurityProtocolType values (the harness returns enums as numbers). */
const P = { SystemDefault: 0, Ssl3: 48, Tls: 192, Tls11: 768, Tls12: 3072, Tls13: 12288 };
const value = (r: HarnessResult | undefined) => Number(okValue(r)[0]);

describe('TLS for HTTP verify', () => {
  it('5.1: TLS 1.2 and 1.3 are added to what the framework offers', () => {
    expect(value(results[0])).toBe(P.Ssl3 | P.Tls | P.Tls12 | P.Tls13);
    expect(value(results[1])).toBe(P.Tls | P.Tls11 | P.Tls12 | P.Tls13);
  });

  it('the OS default (SystemDefault) and PowerShell 7 are left alone', () => {
    expect(value(results[2])).toBe(P.SystemDefault);
    expect(value(results[3])).toBe(P.Tls);
  });
});
