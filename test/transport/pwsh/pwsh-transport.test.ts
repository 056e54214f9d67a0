/**
 * The `pwsh` transport (node-powershell driving the controller's pwsh 7) doing PowerShell remoting over SSH
 * (`New-PSSession -HostName`) into a REAL OpenSSH sshd whose `Subsystem powershell` runs `pwsh -sshs` with the
 * host's "powershell.exe" first on PATH. Here that is the cheap fake (test/transport/ssh/fixtures); the emulated-SCM shim
 * is covered end to end in test/transport/ssh/e2e.test.ts. pwsh starts are costly (2 cores): few sessions, reused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PwshTransport } from '../../../src/transport/pwsh/transport.js';
import { TransportError, type Deadlines } from '../../../src/transport/types.js';
import { fakeInvocation, makeLab, pidAlive, type Lab } from '../ssh/helpers.js';

const D: Deadlines = { connectMs: 20_000, authMs: 10_000, commandMs: 60_000 };
let lab: Lab;
const transport = new PwshTransport();

beforeAll(async () => {
  lab = await makeLab();
});
afterAll(async () => {
  await transport.dispose();
  await lab?.cleanup();
});

async function errorOf(p: Promise<unknown>): Promise<TransportError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TransportError);
  return e as TransportError;
}

describe('pwsh -HostName remoting through real sshd', () => {
  test('runs the bootstrap with a 200 KB payload; exit codes; abort kills local and remote; next exec respawns', async () => {
    const h = await lab.start('ps01');
    const session = await transport.open('ps01', { ...lab.settings(h), transport: 'pwsh' }, { deadlines: D });
    try {
      const payload = Buffer.from('x‘y’“z”$(Remove-Item /)`n'.repeat(10_000), 'utf8');
      expect(payload.length).toBeGreaterThan(200_000);
      const { createHash } = await import('node:crypto');
      const r = await session.exec(fakeInvocation('sha256-stdin', payload), { commandMs: 60_000 });
      expect(r).toEqual({ exitCode: 0, stdout: `sha256=${createHash('sha256').update(payload).digest('hex')}\n`, stderr: '' });
      const st = await session.exec(fakeInvocation('state'), { commandMs: 60_000 });
      expect(st.stdout.trim()).toBe(`state=${join(lab.dir, 'state', 'ps01')}`);

      const ac = new AbortController();
      const pidFile = join(lab.dir, 'state', 'ps01', 'sleep.pid');
      const poll = setInterval(() => {
        if (existsSync(pidFile)) ac.abort();
      }, 50);
      const e = await errorOf(session.exec(fakeInvocation('sleep'), { commandMs: 60_000, signal: ac.signal }));
      clearInterval(poll);
      expect([e.errorClass, e.phase]).toEqual(['aborted', 'command']);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      const end = Date.now() + 5_000;
      while (pidAlive(pid) && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
      expect(pidAlive(pid)).toBe(false);

      // Deadlines are enforced by killing and respawning the local PowerShell: the session keeps working.
      const after = await session.exec(fakeInvocation('exit-5'), { commandMs: 60_000 });
      expect(after.exitCode).toBe(5);
    } finally {
      await session.close();
    }
  });

  // The next two reuse the idle local PowerShell left by the first test's clean close (one start saved each).
  test('a changed host key is refused (hostkey-mismatch) by the ssh client under StrictHostKeyChecking', async () => {
    const h = await lab.start('ps-changed', { faults: { hostKeyChanged: true } });
    const e = await errorOf(transport.open('ps-changed', { ...lab.settings(h), transport: 'pwsh' }, { deadlines: D }));
    expect([e.errorClass, e.phase]).toEqual(['hostkey-mismatch', 'connect']);
  });

  test('connection values are data: a hostile user name fails authentication and runs nothing', async () => {
    const h = await lab.start('ps-hostile');
    const marker = join(lab.dir, 'pwned');
    const user = `x'; New-Item -ItemType File '${marker}'; '‘’“”$(New-Item ${marker})`;
    const e = await errorOf(transport.open('ps-hostile', { ...lab.settings(h), transport: 'pwsh', user }, { deadlines: D }));
    expect(['auth-failed', 'unreachable']).toContain(e.errorClass);
    expect(existsSync(marker)).toBe(false);
  });
});
