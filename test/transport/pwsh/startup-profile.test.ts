/**
 * pwsh processes started side by side tear PowerShell's shared startup JIT profile, and a pwsh that replays a torn
 * one can crash (docs/reference/powershell.md#the-shared-startup-jit-profile). Every pwsh svcfleet starts must run
 * with the feature off. Each case points pwsh's cache at an empty directory of its own and looks for the profile
 * file afterwards: written means the pwsh took part in the sharing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLabHost } from '../../../src/lab/host.js';
import { createLabRunner } from '../../../src/lab/runner/index.js';
import { labScmFiles } from '../../../src/lab/scm/state.js';
import { PwshDriver } from '../../../src/transport/pwsh/driver.js';
import { pwshBinary } from '../../../src/transport/pwsh/locate.js';
import { STARTUP_JIT_PROFILE_OFF, withoutStartupJitProfile } from '../../../src/transport/pwsh/startup-profile.js';
import { removeHost, requirePwsh } from '../../lab/scm/helpers.js';

const PROFILE = 'StartupProfileData-NonInteractive';
let root: string;
let stateDir: string;
const savedCache = process.env.XDG_CACHE_HOME;

/** A fresh, empty cache directory, made pwsh's for the rest of the case (svcfleet passes its env on to pwsh). */
function freshCache(name: string): string {
  const dir = join(root, name);
  process.env.XDG_CACHE_HOME = dir;
  return dir;
}
const profiles = (cache: string): string[] =>
  existsSync(join(cache, 'powershell')) ? readdirSync(join(cache, 'powershell')).filter((f) => f.startsWith('StartupProfileData')) : [];
const encoded = (script: string): string => Buffer.from(script, 'utf16le').toString('base64');

beforeAll(async () => {
  requirePwsh();
  root = mkdtempSync(join(tmpdir(), 'svcfleet-startup-profile-'));
  stateDir = join(root, 'host');
  await initLabHost({ stateDir, services: [] });
  // This test must see what svcfleet itself sets, so the setting must not come from the environment it runs in.
  expect(process.env.DOTNET_MultiCoreJitMinNumCpus).toBeUndefined();
}, 60_000);

afterAll(async () => {
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
  await removeHost(stateDir);
  rmSync(root, { recursive: true, force: true });
});

describe("PowerShell's shared startup JIT profile", () => {
  it('a plain pwsh writes the shared profile; with the setting svcfleet uses, it neither writes nor needs one', () => {
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(pwshBinary(), ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', 'exit 3'], { env, encoding: 'utf8' });
    const plain = freshCache('plain');
    expect(run({ ...process.env }).status).toBe(3);
    expect(profiles(plain)).toEqual([PROFILE]);
    const off = freshCache('off');
    expect(run(withoutStartupJitProfile(process.env)).status).toBe(3);
    expect(profiles(off)).toEqual([]);
    expect(STARTUP_JIT_PROFILE_OFF).toEqual({ DOTNET_MultiCoreJitMinNumCpus: '9999' });
  });

  it("the pwsh transport's local PowerShell runs without it", async () => {
    // Its pwsh is ended by a signal, which writes no profile either way: ask the process for its setting instead.
    const driver = await PwshDriver.start(pwshBinary());
    try {
      const r = await driver.invoke("[Console]::Out.WriteLine('setting=' + $env:DOTNET_MultiCoreJitMinNumCpus)");
      expect(r.stdout).toContain('setting=9999');
    } finally {
      await driver.dispose();
    }
  });

  it("the lab's hosts run without it: the runner's pwsh and the lab's powershell.exe behind sshd", async () => {
    const runnerCache = freshCache('runner');
    const runner = createLabRunner({ mode: 'spawn' });
    const r = await runner.run(stateDir, { encodedCommand: encoded('exit 4'), stdin: Buffer.alloc(0) }, { commandMs: 60_000 });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(profiles(runnerCache)).toEqual([]);

    // sshd hands the shim a clean environment: the setting must come from the shim itself.
    const shimCache = join(root, 'shim');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', XDG_CACHE_HOME: shimCache, SVCFLEET_LAB_STATE: stateDir };
    const shim = spawnSync(labScmFiles.powershellShim, ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encoded('exit 5')], {
      env,
      encoding: 'utf8',
    });
    expect(shim.status, shim.stderr).toBe(5);
    expect(profiles(shimCache)).toEqual([]);
  });
});
