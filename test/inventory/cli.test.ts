import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpTree } from './helpers.js';
import { runCli } from './run-cli.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/inventories');

describe('svcfleet inventory', () => {
  it('--list prints ansible-inventory JSON with secrets redacted', async () => {
    const r = await runCli(['inventory', '-i', join(FIXTURES, 'windows/hosts.yml'), '--list']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> }; all: { children: string[] } };
    expect(doc.all.children).toEqual(['ungrouped', 'winrm_hosts', 'psrp_hosts', 'ssh_hosts']);
    expect(doc._meta.hostvars['win01.corp.example']!.ansible_password).toBe('[REDACTED]');
    expect(r.stdout).not.toContain('not-a-real-password');
    expect(r.stdout).not.toContain('also-not-real');
    expect(r.stdout).not.toContain('fake-token');
  });

  it('--list --limit keeps the selected hosts and the groups that hold them', async () => {
    const r = await runCli(['inventory', '-i', join(FIXTURES, 'ini-ranges/hosts.ini'), '--list', '--limit', 'web:&prod:!web03']);
    const doc = JSON.parse(r.stdout) as Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: object } };
    expect(doc.web!.hosts).toEqual(['web01', 'web02', 'web04', 'web05', 'web10', 'web12', 'web-extra']);
    expect(doc.prod!.children).toEqual(['web']);
    expect(doc.db).toBeUndefined();
    expect(Object.keys(doc._meta.hostvars)).toHaveLength(7);
  });

  it('--host prints one host; --graph prints the tree', async () => {
    const host = await runCli(['inventory', '-i', join(FIXTURES, 'precedence/hosts.ini'), '--host', 'h4']);
    expect(JSON.parse(host.stdout)).toEqual({ depth_test: 'all', file_vs_inline: 'beta-file', same_depth: 'beta', who: 'host-file' });
    const graph = await runCli(['inventory', '-i', join(FIXTURES, 'dir-source'), '--graph', 'backend']);
    expect(graph.stdout).toBe('@backend:\n  |--@db:\n  |  |--db1\n  |  |--db2\n  |--@web:\n  |  |--web1\n  |  |--web2\n  |  |--web3\n');
  });

  it('--list --connections shows resolved settings and prints warnings on stderr', async () => {
    const r = await runCli(['inventory', '-i', join(FIXTURES, 'windows/hosts.yml'), '--list', '--connections', '--limit', 'ps01*']);
    const doc = JSON.parse(r.stdout) as { _meta: { connections: Record<string, unknown> } };
    expect(doc._meta.connections['ps01.corp.example']).toMatchObject({ transport: 'winrm', winrm: { certValidation: 'ignore' } });
    expect(r.stderr).toMatch(/warning: ps01\.corp\.example: TLS certificate validation is OFF/);
  });

  it('bad input exits 1 with file and line, and no stack trace', async () => {
    const dir = tmpTree({ 'bad.ini': '[web]\nweb[3:1]\n' });
    const r = await runCli(['inventory', '-i', join(dir, 'bad.ini'), '--list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`svcfleet: ${join(dir, 'bad.ini')}:2: host range [3:1] runs backwards and names no host\n`);
    const none = await runCli(['inventory', '--list']);
    expect(none.code).toBe(1);
    const two = await runCli(['inventory', '-i', join(dir, 'bad.ini'), '--list', '--graph']);
    expect(two.stderr).toMatch(/exactly one of --list/);
  });

  it('refuses --host that matches several hosts', async () => {
    const r = await runCli(['inventory', '-i', join(FIXTURES, 'precedence/hosts.ini'), '--host', 'h*']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exactly one host/);
  });
});

describe('hosts that cannot be reached as configured', () => {
  it('ping of an ssh host with no credentials exits 1 naming it, and contacts nothing', async () => {
    let contacted = 0;
    const server = createServer((c) => {
      contacted++;
      c.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const dir = tmpTree({ 'hosts.ini': `bare ansible_host=127.0.0.1 ansible_port=${port} ansible_user=x\n`, 'home/.keep': '' });
    const saved = { HOME: process.env.HOME, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK, SVCFLEET_JOURNAL: process.env.SVCFLEET_JOURNAL };
    process.env.HOME = join(dir, 'home');
    delete process.env.SSH_AUTH_SOCK;
    process.env.SVCFLEET_JOURNAL = join(dir, 'journal');
    try {
      const r = await runCli(['ping', '-i', join(dir, 'hosts.ini'), '--output', 'plain']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no SSH credentials.*bare/);
      expect(r.stdout + r.stderr).not.toMatch(/unreachable|auth-failed/);
      expect(contacted).toBe(0);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it.each([
    ['missing', (dir: string) => join(dir, 'keys/nope')],
    ['a directory, not a file', (dir: string) => join(dir, 'keys')],
  ])('ping of an ssh host whose identity file is %s exits 1 naming the file, and contacts nothing', async (_what, keyOf) => {
    let contacted = 0;
    const server = createServer((c) => {
      contacted++;
      c.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const dir = tmpTree({ 'keys/.keep': '', 'journal/.keep': '' });
    const key = keyOf(dir);
    const inv = tmpTree({ 'hosts.ini': `keyed ansible_host=127.0.0.1 ansible_port=${port} ansible_user=x ansible_ssh_private_key_file=${key}\n` });
    const saved = process.env.SVCFLEET_JOURNAL;
    process.env.SVCFLEET_JOURNAL = join(dir, 'journal');
    try {
      const r = await runCli(['ping', '-i', join(inv, 'hosts.ini'), '--output', 'plain']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(key);
      expect(r.stderr).toMatch(/identity file/);
      expect(r.stdout + r.stderr).not.toMatch(/unreachable|auth-failed/);
      expect(contacted).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.SVCFLEET_JOURNAL;
      else process.env.SVCFLEET_JOURNAL = saved;
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
