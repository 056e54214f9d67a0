/**
 * The TypeScript side of the lab: initLabHost / readLabHost / stopLabHost, the Windows command-line rules shared with
 * the module (fixtures/cmdline-vectors.json), the lab service program, and `--fault` parsing. No pwsh here.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initLabHost, readLabHost, stopLabHost } from '../../../src/lab/host.js';
import { parseFault } from '../../../src/lab/cli/host.js';
import { resolveImage, splitWindowsArgs } from '../../../src/util/windows-cmdline.js';
import { labScmFiles, processAlive } from '../../../src/lab/scm/state.js';
import { InputError } from '../../../src/util/errors.js';
import { freePort, httpGet, removeHost, tempDir } from './helpers.js';

const vectors = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'cmdline-vectors.json'), 'utf8')) as {
  split: { in: string; out: string[] }[];
  resolve: { line: string; installed: string[]; exe: string | null; args: string[] | null }[];
};

const hosts: string[] = [];
afterAll(async () => {
  for (const h of hosts) await removeHost(h);
});

describe('Windows command lines (CommandLineToArgvW, CreateProcess search: docs/reference/windows-cmdline.md#from-command-line-to-argv)', () => {
  it.each(vectors.split)('splits %j', (v) => {
    expect(splitWindowsArgs(v.in)).toEqual(v.out);
  });
  it.each(vectors.resolve)('resolves %j', (v) => {
    const r = resolveImage(v.line, v.installed);
    expect(r ? r.exe : null).toBe(v.exe);
    expect(r ? r.args : null).toEqual(v.args);
  });
});

describe('svcprogram (the lab service executable)', () => {
  it("rejects an unknown flag like Go's flag package (exit 2)", () => {
    const r = spawnSync(process.execPath, [labScmFiles.svcprogram, '--port', '1', '--frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('flag provided but not defined: -frobnicate');
  });

  it('exits 1 when its port is taken, and for a missing --config', async () => {
    const srv = net.createServer();
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
    const port = (srv.address() as net.AddressInfo).port;
    const r = spawnSync(process.execPath, [labScmFiles.svcprogram, `--port=${port}`], { encoding: 'utf8' });
    srv.close();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('address already in use');
    const c = spawnSync(process.execPath, [labScmFiles.svcprogram, '-config', '/nonexistent/x.yaml'], { encoding: 'utf8' });
    expect(c.status).toBe(1);
  });
});

describe('initLabHost / readLabHost / stopLabHost', () => {
  it('creates a host with its service RUNNING as a real process, and refuses to overwrite it', async () => {
    const stateDir = tempDir('host');
    hosts.push(stateDir);
    const port = await freePort();
    const info = await initLabHost({
      stateDir,
      services: [{ name: 'AppSvc', binaryPath: `"C:\\Program Files\\App\\app.exe" --port ${port} --workers 2`, environment: { A: 'b c' } }],
    });
    expect(info.services).toHaveLength(1);
    expect(info.services[0]).toMatchObject({ name: 'AppSvc', state: 'running' });
    expect(processAlive(info.services[0]!.pid, null)).toBe(true);
    expect(await httpGet(port, '/')).toEqual({ status: 200, body: 'ok' });
    expect(JSON.parse((await httpGet(port, '/args')).body)).toEqual(['--port', String(port), '--workers', '2']);
    expect(JSON.parse((await httpGet(port, '/env')).body)['A']).toBe('b c');

    const state = readLabHost(stateDir);
    expect(state.services['AppSvc']!.status.state).toBe('running');
    expect(state.services['Tcpip']!.virtual).toBe(true);
    expect(state.installedFiles).toEqual(['C:\\Program Files\\App\\app.exe']);
    expect(fs.existsSync(path.join(stateDir, 'fs', 'ProgramData'))).toBe(true);

    await expect(initLabHost({ stateDir, services: [] })).rejects.toThrow(/already holds an emulated host/);

    await stopLabHost(stateDir);
    expect(processAlive(info.services[0]!.pid, null)).toBe(false);
    expect(readLabHost(stateDir).services['AppSvc']!.status.state).toBe('stopped');
  });

  it('a service that cannot start fails init with its log, and leaves nothing behind', async () => {
    const stateDir = path.join(tempDir('hostbad'), 'h');
    try {
      await expect(initLabHost({ stateDir, services: [{ name: 'Bad', binaryPath: 'C:\\svc\\app.exe --nope' }] })).rejects.toThrow(
        /WIN32_EXIT_CODE 1067, exit 2[\s\S]*flag provided but not defined: -nope/,
      );
      expect(fs.existsSync(stateDir)).toBe(false);
    } finally {
      fs.rmSync(path.dirname(stateDir), { recursive: true, force: true });
    }
  });

  it('stop also ends a service process its record lost, so nothing writes into the state dir afterwards', async () => {
    const stateDir = tempDir('host-lost');
    hosts.push(stateDir);
    const port = await freePort();
    await initLabHost({ stateDir, services: [{ name: 'AppSvc', binaryPath: `C:\\svc\\app.exe --port ${port}` }] });
    // A second process of the service that no record holds (as a start whose caller died and whose process came up
    // after the grace period leaves one): same program, same run dir, its own ready and exit files.
    const run = path.join(stateDir, 'run');
    const lost = spawn(process.execPath, [labScmFiles.svcprogram, '--port', String(await freePort())], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, SVCFLEET_LAB_READY_FILE: path.join(run, 'AppSvc-lost.ready'), SVCFLEET_LAB_EXIT_FILE: path.join(run, 'AppSvc-lost.exit') },
    });
    lost.unref();
    for (const until = Date.now() + 20_000; !fs.existsSync(path.join(run, 'AppSvc-lost.ready')); ) {
      if (Date.now() > until) throw new Error('the unrecorded service process never became ready');
      await new Promise((r) => setTimeout(r, 20));
    }
    await stopLabHost(stateDir);
    expect(processAlive(lost.pid!, null)).toBe(false);
    // It took the stop through its handler (exit file written during the stop, not after it).
    expect(fs.readFileSync(path.join(run, 'AppSvc-lost.exit'), 'utf8')).toBe('0');
  });

  it('does not start disabled services, and a password is stored only as a hash', async () => {
    const stateDir = tempDir('host2');
    hosts.push(stateDir);
    await initLabHost({
      stateDir,
      accounts: { '.\\svcuser': 'S3cret-pw' },
      services: [{ name: 'Off', binaryPath: 'C:\\svc\\app.exe', startType: 'disabled', account: '.\\svcuser', password: 'S3cret-pw' }],
    });
    expect(readLabHost(stateDir).services['Off']!.status.state).toBe('stopped');
    expect(fs.readFileSync(path.join(stateDir, 'host.json'), 'utf8')).not.toContain('S3cret-pw');
  });
});

describe('--fault parsing', () => {
  it('reads KIND[:key=value,...] and JSON', () => {
    expect(parseFault('start-timeout')).toEqual({ kind: 'start-timeout' });
    expect(parseFault('access-denied:ops=config+registry-write,nth=2,times=1,contains=--a, b')).toEqual({
      kind: 'access-denied',
      ops: ['config', 'registry-write'],
      nth: 2,
      times: 1,
      contains: '--a, b',
    });
    expect(parseFault('{"kind":"crash-after-start","afterMs":200}')).toEqual({ kind: 'crash-after-start', afterMs: 200 });
    // The transaction points of the remote engine (docs/lab.md "Faults"), as `svcfleet lab up --faults` takes them.
    expect(parseFault('engine-dies:ops=config,nth=2,when=after')).toEqual({ kind: 'engine-dies', ops: ['config'], nth: 2, when: 'after' });
    expect(parseFault('session-drops:ops=query,since=start,nth=2')).toEqual({ kind: 'session-drops', ops: ['query'], since: 'start', nth: 2 });
  });
  it('refuses unknown kinds, keys and ops with an InputError naming --fault', () => {
    for (const bad of [
      'explode',
      'start-timeout:when=1',
      'engine-dies:since=reboot',
      'access-denied:ops=delete',
      'crash-after-start:afterMs=-1',
      '{bad json',
    ]) {
      let err: unknown;
      try {
        parseFault(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).format()).toMatch(/^field --fault: /);
    }
  });
});
