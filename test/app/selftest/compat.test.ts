/**
 * ps-scripts/selftest/host.ps1 runs under Windows PowerShell 5.1 and PowerShell 7 like the engine: the same
 * checker the engine passes (test/ps-scripts/compat-check.ps1: PowerShell's parser plus an AST walk for 6+/7-only
 * syntax, cmdlets and parameters, and non-ASCII) finds nothing in it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { here, runPwsh } from '../../ps-scripts/pwsh.js';

const hostScript = join(here, '..', '..', 'ps-scripts', 'selftest', 'host.ps1');

describe('selftest host script: Windows PowerShell 5.1 compatibility', () => {
  it('has no 6+/7-only construct and no non-ASCII character', async () => {
    const run = await runPwsh(['-File', join(here, 'compat-check.ps1'), hostScript]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim() || '[]')).toEqual([]);
  }, 120_000);
});
