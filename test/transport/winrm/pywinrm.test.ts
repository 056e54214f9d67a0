/**
 * Conformance of the lab WinRM server with a client nobody here wrote: Debian's python3-winrm 0.3.0 (with
 * python3-requests-ntlm / ntlm-auth), over NTLM with HTTP message encryption, Basic over HTTP ('plaintext'),
 * Basic over HTTPS ('ssl', CA verified) and NTLM over HTTPS (channel binding).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLabPki, type LabPki } from '../../../src/lab/winrm/certs.js';
import { startLabWinrmServer, type LabWinrmServer } from '../../../src/lab/winrm/server.js';
import { runPywinrm, tempDir } from './helpers.js';

// requests encodes Basic credentials as latin-1, so the Basic account's password stays inside latin-1; the NTLM
// account's password has the Unicode smart quotes PowerShell treats as quotes.
const USERS = { Administrator: 'Pa$$w0rd-ü', ops: 'Pa$$ ‘smart’ “quotes”' };
const creds = { user: 'Administrator', password: USERS.Administrator };
const ntlmCreds = { user: 'ops', password: USERS.ops };

const commands = [
  { command: 'echo', args: ['hello from the lab'] },
  { command: 'cmd', args: ['/c', 'echo out && echo err>&2 && exit 3'] },
  { command: 'echo', args: ['päivää ☃'] },
  { command: 'ipconfig' },
  { command: 'nosuchtool' },
];

function checkResults(r: Awaited<ReturnType<typeof runPywinrm>>): void {
  expect(r.error, r.detail).toBeUndefined();
  const [hello, mixed, unicode, ipconfig, missing] = r.results!;
  expect(hello).toEqual({ stdout: 'hello from the lab\r\n', stderr: '', code: 0 });
  // cmd keeps the blank before `&&`: a real Windows host answers "out \r\n" / "err \r\n" here (pypsrp's recorded
  // tests/tests_pypsrp/responses/test_winrs_stderr_rc.yml, same command line).
  expect(mixed).toEqual({ stdout: 'out \r\n', stderr: 'err \r\n', code: 3 });
  expect(unicode!.stdout).toBe('päivää ☃\r\n');
  expect(ipconfig!.stdout).toContain('Windows IP Configuration');
  expect(missing!.code).toBe(9009);
  expect(missing!.stderr).toContain("'nosuchtool' is not recognized");
}

describe('python3-winrm (pywinrm 0.3.0) against the lab WinRM server', () => {
  let lab: { dir: string; cleanup: () => Promise<void> };
  let pki: LabPki;
  const servers: LabWinrmServer[] = [];
  beforeAll(async () => {
    lab = await tempDir('svcfleet-winrm-py-');
    pki = await ensureLabPki(lab.dir);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await lab.cleanup();
  });
  const start = async (o: Parameters<typeof startLabWinrmServer>[0]): Promise<LabWinrmServer> => {
    const s = await startLabWinrmServer(o);
    servers.push(s);
    return s;
  };

  it("transport 'ntlm' over HTTP: NTLMv2 handshake and every message sealed", async () => {
    const srv = await start({ users: USERS });
    const r = await runPywinrm({ endpoint: srv.url, transport: 'ntlm', ...ntlmCreds, commands, run_cmd: ['echo', ['via run_cmd']] });
    checkResults(r);
    expect(r.results![5]).toEqual({ stdout: 'via run_cmd\r\n', stderr: '', code: 0 });
    const st = srv.stats();
    expect(st.handshakes).toBeGreaterThanOrEqual(2); // Protocol + Session each authenticate their connection
    // Create + 5×(Command, Receive, Signal) + Delete, then run_cmd's Create/Command/Receive/Signal/Delete: all sealed.
    expect(st.sealedRequests).toBeGreaterThanOrEqual(1 + 5 * 3 + 1 + 5);
    expect(st.openShells).toBe(0);
  });

  it("transport 'plaintext' (Basic over HTTP) against a server that allows it", async () => {
    const srv = await start({ users: USERS, auth: { ntlm: false, basic: true, allowUnencrypted: true } });
    checkResults(await runPywinrm({ endpoint: srv.url, transport: 'plaintext', ...creds, commands }));
    expect(srv.stats().sealedRequests).toBe(0);
    expect(srv.stats().openShells).toBe(0);
  });

  it("transport 'ssl' (Basic over HTTPS) verifying the lab CA", async () => {
    const srv = await start({ users: USERS, https: { labDir: lab.dir }, auth: { basic: true } });
    expect(srv.url).toMatch(/^https:/);
    checkResults(await runPywinrm({ endpoint: srv.url, transport: 'ssl', ...creds, ca: pki.caFile, commands }));
  });

  it("transport 'ntlm' over HTTPS sends channel bindings the server checks", async () => {
    const srv = await start({ users: USERS, https: { labDir: lab.dir } });
    checkResults(await runPywinrm({ endpoint: srv.url, transport: 'ntlm', ...ntlmCreds, ca: pki.caFile, commands }));
    expect(srv.stats().channelBoundHandshakes).toBeGreaterThanOrEqual(1);
  });

  it('retries the w:TimedOut Receive fault (WSManFault 2150858793) and gets the output', async () => {
    const srv = await start({ users: USERS, faults: { receiveTimeouts: 3 } });
    const r = await runPywinrm({ endpoint: srv.url, transport: 'ntlm', ...ntlmCreds, commands: [{ command: 'echo', args: ['patience'] }] });
    expect(r.results).toEqual([{ stdout: 'patience\r\n', stderr: '', code: 0 }]);
    expect(srv.stats().timedOutReceives).toBe(3);
  });

  it('refuses a wrong password and an untrusted certificate', async () => {
    const srv = await start({ users: USERS });
    const bad = await runPywinrm({ endpoint: srv.url, transport: 'ntlm', user: 'ops', password: 'nope', commands });
    expect(bad.error).toBe('credentials');
    const rogue = await start({ users: USERS, https: { labDir: lab.dir }, auth: { basic: true }, faults: { untrustedCert: true } });
    const tls = await runPywinrm({ endpoint: rogue.url, transport: 'ssl', ...creds, ca: pki.caFile, commands });
    expect(tls.error).toBe('SSLError');
  });
});
