/**
 * The lab runner (spawn and pool), the `local` transport and the powershell.exe SSH shim, driven with a tiny
 * bootstrap that follows the remote-engine contract: one JSON line from $input, lines via [Console]::Out, exit <n>.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost } from '../../../src/lab/host.js';
import { createLabRunner, type LabRunner } from '../../../src/lab/runner/index.js';
import { labScmFiles } from '../../../src/lab/scm/state.js';
import { createLocalTransport } from '../../../src/lab/transport/index.js';
import { DEFAULT_DEADLINES, TransportError, type ExecResult, type Invocation } from '../../../src/transport/types.js';
import { childPids } from '../../../src/transport/pwsh/process-tree.js';
import { removeHost, freePort, requirePwsh, tempDir } from './helpers.js';

const BOOT = `$ErrorActionPreference = 'Stop'
$req = @($input)[0] | ConvertFrom-Json
if ($req.sleep) { Start-Sleep -Seconds $req.sleep }
[Console]::Out.WriteLine('leak=' + [string]$global:leak)
$global:leak = 'set'
$q = sc.exe queryex $req.service
[Console]::Out.WriteLine('sc=' + $LASTEXITCODE + ' ' + (($q | Select-String 'STATE').Line).Trim())
$argv = EmulatedScm\\Get-LabNativeArgv -Arguments @('a b', '') -Mode $PSNativeCommandArgumentPassing
[Console]::Out.WriteLine('native=' + $PSNativeCommandArgumentPassing + ' ' + $argv.Count)
[Console]::Out.WriteLine('pd=' + ($env:ProgramData -like '*fs/ProgramData'))
[Console]::Out.WriteLine('text=' + $req.text)
[Console]::Error.WriteLine('to-stderr')
exit $req.code`;

function invocation(req: Record<string, unknown>): Invocation {
  return { encodedCommand: Buffer.from(BOOT, 'utf16le').toString('base64'), stdin: Buffer.from(`${JSON.stringify(req)}\n`) };
}

let stateDir: string;
const runners: LabRunner[] = [];
const figures: string[] = [];

beforeAll(async () => {
  requirePwsh();
  stateDir = tempDir('runner');
  // The fault never fires (nth 100000); it only counts config calls, to detect lost updates under concurrency.
  await initLabHost({
    stateDir,
    faults: [{ kind: 'access-denied', ops: ['config'], nth: 100_000 }],
    services: [{ name: 'AppSvc', binaryPath: `"C:\\App\\app.exe" --port ${await freePort()}` }],
  });
}, 60_000);

afterAll(async () => {
  for (const r of runners) await r.close();
  await removeHost(stateDir);
  if (figures.length) console.log(`lab runner figures (ms per call, this machine, now):\n  ${figures.join('\n  ')}`);
});

/** pwsh processes that are children of this test process. */
function ourPwsh(): number[] {
  return childPids(process.pid).filter((pid) => {
    try {
      return /pwsh/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}

const REQ = { service: 'AppSvc', code: 7, text: 'caf\u00e9 \u2018q\u2019 $(x)' };

describe('spawn and pool give the same results', () => {
  const results: Record<string, ExecResult[]> = {};
  for (const mode of ['spawn', 'pool'] as const) {
    it(`${mode}: runs the bootstrap with the emulated SCM, stdin as $input, exit code`, async () => {
      const runner = createLabRunner({ mode, size: 1 });
      runners.push(runner);
      await runner.warm();
      const out: ExecResult[] = [];
      const times: number[] = [];
      let streamed = '';
      for (let i = 0; i < 3; i++) {
        const t = Date.now();
        out.push(
          await runner.run(stateDir, invocation(REQ), {
            commandMs: 60_000,
            onStdout: (s) => {
              streamed += s;
            },
          }),
        );
        times.push(Date.now() - t);
      }
      figures.push(`${mode}: ${times.join(', ')}`);
      results[mode] = out;
      for (const r of out) {
        expect(r.exitCode).toBe(7);
        expect(r.stdout).toBe('leak=\nsc=0 STATE              : 4  RUNNING\nnative=Legacy 1\npd=True\ntext=caf\u00e9 \u2018q\u2019 $(x)\n');
        expect(r.stderr).toContain('to-stderr');
      }
      expect(streamed).toBe(out.map((r) => r.stdout).join(''));
    }, 120_000);
  }
  it('identical stdout and exit codes in both modes; no state leaks between pool calls', () => {
    expect(results['pool']!.map((r) => [r.exitCode, r.stdout])).toEqual(results['spawn']!.map((r) => [r.exitCode, r.stdout]));
  });
});

describe('a pool worker between calls', () => {
  it("never touches the last call's host again: a host removed right after its call stays removed", async () => {
    const runner = createLabRunner({ mode: 'pool', size: 1 });
    runners.push(runner);
    await runner.warm();
    const gone = tempDir('runner-gone');
    try {
      await initLabHost({ stateDir: gone, services: [] });
      expect((await runner.run(gone, invocation({ ...REQ, service: 'Tcpip' }), { commandMs: 60_000 })).exitCode).toBe(7);
      // What a test's cleanup does meanwhile: its removal has reached fs/ (and not yet host.json) when the worker
      // prepares its next runspace.
      fs.rmSync(`${gone}/fs`, { recursive: true, force: true });
      // The worker takes the next call only once that runspace is ready, so after this call it has been prepared.
      expect((await runner.run(stateDir, invocation(REQ), { commandMs: 60_000 })).exitCode).toBe(7);
      expect(fs.readdirSync(gone)).toEqual(['host.json']);
    } finally {
      await removeHost(gone);
    }
  }, 120_000);
});

describe('errors, timeouts and aborts', () => {
  it('a terminating error exits 1 with the error as CLIXML on stderr (both modes)', async () => {
    const bad: Invocation = { encodedCommand: Buffer.from("throw 'kaput'", 'utf16le').toString('base64'), stdin: Buffer.alloc(0) };
    for (const runner of runners) {
      const r = await runner.run(stateDir, bad, { commandMs: 60_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^#< CLIXML/);
      expect(r.stderr).toContain('kaput');
    }
  }, 60_000);

  it('AbortSignal and commandMs kill the pwsh and leave none behind; the pool recovers', async () => {
    for (const runner of runners) {
      const ac = new AbortController();
      const p = runner.run(stateDir, invocation({ ...REQ, sleep: 30 }), { commandMs: 60_000, signal: ac.signal });
      setTimeout(() => ac.abort(), 1500);
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).errorClass).toBe('aborted');
      const t = await runner.run(stateDir, invocation({ ...REQ, sleep: 30 }), { commandMs: 1500 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect((t as TransportError).errorClass).toBe('timeout');
    }
    // Only the pool's respawned-on-demand workers may exist; none is left from the killed calls.
    const deadline = Date.now() + 5000;
    while (ourPwsh().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ourPwsh()).toEqual([]);
    const pool = runners.find((r) => r.mode === 'pool')!;
    const again = await pool.run(stateDir, invocation(REQ), { commandMs: 60_000 });
    expect(again.exitCode).toBe(7);
  }, 120_000);
});

describe('concurrency', () => {
  it('concurrent calls against one host lose no update (host.json is locked for read-modify-write)', async () => {
    const script = `$ErrorActionPreference = 'Stop'; $n = 0; foreach ($i in 1..15) { [void](sc.exe description AppSvc "d$i"); if ($LASTEXITCODE -eq 0) { $n++ } }; [Console]::Out.WriteLine($n); exit 0`;
    const inv: Invocation = { encodedCommand: Buffer.from(script, 'utf16le').toString('base64'), stdin: Buffer.alloc(0) };
    const before = readLabHost(stateDir).faults[0]!.calls;
    const out = await Promise.all(runners.map((r) => r.run(stateDir, inv, { commandMs: 120_000 })));
    expect(out.map((o) => o.stdout.trim())).toEqual(runners.map(() => '15'));
    expect(readLabHost(stateDir).faults[0]!.calls - before).toBe(15 * runners.length);
  }, 180_000);
});

describe('local transport', () => {
  it('opens a host by its state dir and runs invocations; a missing host is unreachable', async () => {
    const transport = createLocalTransport({ labRunner: runners.find((r) => r.mode === 'pool')! });
    const bad = await transport
      .open('ghost', { transport: 'local', address: '127.0.0.1', local: { stateDir: `${stateDir}-missing` } }, { deadlines: DEFAULT_DEADLINES })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((bad as TransportError).errorClass).toBe('unreachable');
    const session = await transport.open('lab01', { transport: 'local', address: '127.0.0.1', local: { stateDir } }, { deadlines: DEFAULT_DEADLINES });
    const r = await session.exec(invocation({ ...REQ, code: 3 }), { commandMs: 60_000 });
    expect(r.exitCode).toBe(3);
    await session.close();
    await transport.dispose?.();
  }, 60_000);
});

describe('powershell.exe shim (for a real sshd)', () => {
  it('accepts the Windows command line and abbreviations, passes stdin/stdout/exit code through', async () => {
    const inv = invocation({ ...REQ, code: 9 });
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = spawn(labScmFiles.powershellShim, args, { env: { ...process.env, SVCFLEET_LAB_STATE: stateDir } });
        let out = '';
        c.stdout.on('data', (b: Buffer) => {
          out += b.toString('utf8');
        });
        c.on('close', (code) => resolve({ code, out }));
        c.stdin.end(inv.stdin);
      });
    const full = await run(['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', inv.encodedCommand]);
    expect(full.code).toBe(9);
    expect(full.out).toContain('sc=0 STATE              : 4  RUNNING\nnative=Legacy 1\n');
    const short = await run(['-nol', '-NOP', '-noni', '/ep', 'bypass', '-enc', inv.encodedCommand]);
    expect(short).toEqual(full);
    const noState = spawnSync(labScmFiles.powershellShim, ['-enc', inv.encodedCommand], { env: { ...process.env, SVCFLEET_LAB_STATE: '' }, encoding: 'utf8' });
    expect(noState.status).toBe(64);
    expect(noState.stderr).toContain('SVCFLEET_LAB_STATE is not set');
  }, 60_000);
});
