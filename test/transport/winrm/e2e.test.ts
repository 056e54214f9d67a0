/**
 * End to end over `winrm`: our client (NTLM + message encryption over HTTP) → lab WinRM server → lab runner (real
 * pwsh, emulated SCM) running the real ps-scripts bootstrap and engine, with the payload on stdin. A snapshot, a
 * successful apply (new --port, verified), an apply that rolls back (a binary path whose image is not installed,
 * so the service cannot start) and an apply that sets a password account (the password on a stdin line of its own,
 * docs/remote-protocol.md "The payload on stdin") on one emulated host.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePorts } from '../../../src/lab/fleet/ports.js';
import { initLabHost, readLabHost, stopLabHost } from '../../../src/lab/host.js';
import { createLabRunner, type LabRunner } from '../../../src/lab/runner/index.js';
import { startLabWinrmServer, type LabWinrmServer } from '../../../src/lab/winrm/server.js';
import { newNonce, type OutgoingRequest } from '../../../src/remote/invocation.js';
import { runRemoteDetailed } from '../../../src/remote/run.js';
import { DEFAULT_DEADLINES, type Session } from '../../../src/transport/types.js';
import { createWinrmTransport } from '../../../src/transport/winrm/index.js';
import { Secret } from '../../../src/util/secret.js';
import { tempDir } from './helpers.js';

const SERVICE = 'AppSvc';
const IMAGE = 'C:\\Program Files\\App\\app.exe';
// Hostile to every layer on the way: quotes, smart quotes, a subexpression, a backtick, a newline, non-ASCII.
const PASSWORD = `pw '"\u2018\u2019\u201c\u201d $(whoami) \`t\nnext \u00e9`;

describe('winrm end to end: ps-scripts on an emulated host', () => {
  let lab: { dir: string; cleanup: () => Promise<void> };
  let stateDir: string;
  let runner: LabRunner;
  let server: LabWinrmServer;
  let session: Session;
  let ports: number[];

  beforeAll(async () => {
    lab = await tempDir('svcfleet-winrm-e2e-');
    stateDir = `${lab.dir}/hosts/win01`;
    ports = await reservePorts(2);
    await initLabHost({ stateDir, services: [{ name: SERVICE, binaryPath: `"${IMAGE}" --port ${ports[0]}` }], accounts: { '.\\svcuser': PASSWORD } });
    runner = createLabRunner({ mode: 'pool', size: 1 });
    server = await startLabWinrmServer({ users: { Administrator: 'Lab‘pass’1' }, lab: { stateDir, runner } });
    session = await createWinrmTransport().open(
      'win01',
      {
        transport: 'winrm',
        address: server.host,
        port: server.port,
        user: 'Administrator',
        password: new Secret('Lab‘pass’1'),
        winrm: { scheme: 'http', auth: 'ntlm' },
      },
      { deadlines: DEFAULT_DEADLINES },
    );
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
    await runner?.close();
    if (stateDir) await stopLabHost(stateDir);
    await lab?.cleanup();
  });

  const request = (r: Omit<OutgoingRequest, 'v' | 'nonce' | 'runId' | 'service'>): OutgoingRequest => ({
    v: 1,
    nonce: newNonce(),
    runId: 'winrm-e2e',
    service: SERVICE,
    ...r,
  });

  it('snapshot', async () => {
    const run = await runRemoteDetailed(session, request({ op: 'snapshot' }), { host: 'win01', commandMs: 120_000 });
    expect(run.exitCode).toBe(0);
    expect(run.result.snapshot?.config.binaryPath).toBe(`"${IMAGE}" --port ${ports[0]}`);
    expect(run.result.snapshot?.state).toBe('running');
    expect(server.stats().sealedRequests).toBeGreaterThan(0);
    expect(server.stats().openShells).toBe(0);
  });

  it('a successful apply: new port, restarted, verified on the new port', async () => {
    const run = await runRemoteDetailed(
      session,
      request({
        op: 'apply',
        desired: { args: { set: { '--port': String(ports[1]) } } },
        restart: 'always',
        verify: { port: ports[1]!, timeoutSeconds: 30 },
        rollback: 'auto',
      }),
      { host: 'win01', commandMs: 180_000 },
    );
    expect(run.result.outcome, run.result.message).toBe('changed');
    expect(run.result.after?.config.binaryPath).toBe(`"${IMAGE}" --port ${ports[1]}`);
    expect(run.events.some((e) => e.phase === 'verify')).toBe(true);
    expect(readLabHost(stateDir).services[SERVICE]!.status.state).toBe('running');
  });

  it('a failing apply rolls back: the new image is not installed, the service cannot start', async () => {
    const run = await runRemoteDetailed(
      session,
      request({
        op: 'apply',
        desired: { binaryPath: `"C:\\Program Files\\App\\missing.exe" --port ${ports[1]}` },
        restart: 'always',
        verify: { port: ports[1]!, timeoutSeconds: 20 },
        rollback: 'auto',
      }),
      { host: 'win01', commandMs: 180_000 },
    );
    if (run.exitCode !== 12) console.log(JSON.stringify({ result: run.result, stderr: run.stderr, events: run.events }, null, 1));
    expect(run.exitCode).toBe(12);
    expect(run.result.outcome, run.result.message).toBe('rolled-back');
    expect(run.result.rollback?.ok).toBe(true);
    const svc = readLabHost(stateDir).services[SERVICE]!;
    expect(svc.binaryPath).toBe(`"${IMAGE}" --port ${ports[1]}`);
    expect(svc.status.state).toBe('running');
    expect(server.stats().openShells).toBe(0);
  });

  it('an apply that sets a password account: the password line arrives intact, the service runs under the account', async () => {
    const run = await runRemoteDetailed(
      session,
      request({ op: 'apply', desired: { account: { name: '.\\svcuser', password: new Secret(PASSWORD) } }, rollback: 'never' }),
      { host: 'win01', commandMs: 180_000 },
    );
    expect(run.result.outcome, run.result.message).toBe('changed');
    const svc = readLabHost(stateDir).services[SERVICE]!;
    expect(svc.account).toBe('.\\svcuser');
    expect(svc.passwordSha256).toBe(createHash('sha256').update(PASSWORD, 'utf8').digest('hex'));
    expect(svc.status.state).toBe('running');
  });
});
