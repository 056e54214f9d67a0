/**
 * bench/peers: svcfleet next to the tools an SRE would use instead, on the SAME lab SSH hosts at the SAME
 * concurrency, in one run (not a test). Each lab host is a real OpenSSH sshd (Debian openssh-server, the lab's
 * src/lab/ssh) whose ForceCommand plays Win32-OpenSSH: `powershell.exe ...` runs the stand-in below.
 *
 * THE REMOTE SIDE IS A FAST STAND-IN, NOT PowerShell: one pwsh start per host (~0.5 s of CPU) on this 2-core
 * machine would measure pwsh, not the controllers. The stand-in prints the same snapshot document of one
 * service (MyGoService) to every tool:
 *   - svcfleet `inspect` (its real read-only snapshot op: ssh transport, bootstrap + payload on stdin, framed
 *     result, nonce check, schema validation) gets it as its framed result;
 *   - Ansible `ansible all -m raw` and pdsh run `powershell.exe -NoLogo -NoProfile -NonInteractive -Command
 *     <Get-CimInstance ... | ConvertTo-Json>` and get the snapshot as JSON on stdout.
 * Host keys are verified by all three against the lab's known_hosts (strict checking).
 *
 * Each tool runs under /usr/bin/time -v: wall, user+sys CPU of the tool's whole process tree (its ssh
 * children included: they are waited for), and peak RSS (the largest single process of the tree, which is what
 * getrusage reports). Hosts succeeded are counted from each tool's own output.
 *
 *   bash bench/peers/run.sh [--hosts 200] [--concurrency 50] [--tools svcfleet,ansible,pdsh]
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LAB_SERVICE, startLabFleet, type LabFleet } from '../../src/lab/fleet/fleet.js';
import { renderLabInventory } from '../../src/lab/fleet/inventory.js';
import type { RemoteResult } from '../../src/remote/protocol.js';
import { before as snapshot } from '../fleet/responder.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '50' },
    tools: { type: 'string', default: 'svcfleet,ansible,pdsh' },
  },
});
const N = Number(values.hosts);
const C = Number(values.concurrency);
const tools = String(values.tools).split(',');
const SERVICE = DEFAULT_LAB_SERVICE.name;
/** What Ansible and pdsh run: one PowerShell line an SRE would type for a service's snapshot. */
const PEER_COMMAND = `powershell.exe -NoLogo -NoProfile -NonInteractive -Command "Get-CimInstance Win32_Service -Filter \\"Name='${SERVICE}'\\" | ConvertTo-Json -Compress"`;

/** The stand-in powershell.exe (see the file comment): shell builtins only, but sed for svcfleet's nonce. */
function standIn(): string {
  const result: RemoteResult = { kind: 'result', op: 'snapshot', outcome: 'unchanged', reason: { code: 'ok' }, message: 'snapshot', snapshot };
  const b64 = Buffer.from(JSON.stringify(result)).toString('base64');
  const json = JSON.stringify(snapshot).replace(/'/g, `'\\''`);
  return `#!/bin/sh
# bench/peers stand-in for powershell.exe (NOT PowerShell): prints one service's snapshot.
case " $* " in
  *" -EncodedCommand "*)
    # svcfleet: the payload line is on stdin; answer its nonce with the framed snapshot result.
    nonce=$(sed -n 's/.*"nonce":"\\([A-Za-z0-9_-]*\\)".*/\\1/p;q')
    printf '<<svcfleet:%s:%s>>\\n' "$nonce" '${b64}' ;;
  *)
    printf '%s\\r\\n' '${json}' ;;
esac
`;
}

interface Measure {
  tool: string;
  wallS: number;
  cpuMs: number;
  rssMb: number;
  ok: number;
  exit: number;
}

/** Runs argv under /usr/bin/time -v; returns its stdout and the measures time printed. */
function timed(tool: string, argv: string[], env: NodeJS.ProcessEnv, count: (stdout: string) => number): Promise<Measure> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('/usr/bin/time', ['-v', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const field = (name: string): string => new RegExp(`${name}: (.*)`).exec(err)?.[1]?.trim() ?? '';
      const wall = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)')
        .split(':')
        .reduce((acc, part) => acc * 60 + Number(part), 0);
      const cpuMs = (Number(field('User time \\(seconds\\)')) + Number(field('System time \\(seconds\\)'))) * 1000;
      const rssMb = Number(field('Maximum resident set size \\(kbytes\\)')) / 1024;
      const ok = count(out);
      if (ok < N) process.stderr.write(`${tool}: ${N - ok} hosts failed; output tail:\n${out.slice(-1500)}\n${err.slice(0, 1500)}\n`);
      resolveRun({ tool, wallS: wall, cpuMs, rssMb, ok, exit: code ?? -1 });
    });
  });
}

async function writePeerFiles(fleet: LabFleet, dir: string): Promise<{ ansibleInv: string; sshConfig: string; pdshHosts: string }> {
  const ssh = fleet.ssh!;
  const key = ssh.clientKey.privatePath;
  const ansibleInv = join(dir, 'ansible.ini');
  await writeFile(
    ansibleInv,
    `[lab]\n${fleet.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.ssh!.port}`).join('\n')}\n\n[lab:vars]\nansible_user=${ssh.user}\nansible_ssh_private_key_file=${key}\n`,
  );
  // pdsh takes one port for all hosts, so each host's address and port come from an ssh_config.
  const sshConfig = join(dir, 'ssh_config');
  const common = `  User ${ssh.user}\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${ssh.knownHostsFile}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`;
  await writeFile(sshConfig, fleet.hosts.map((h) => `Host ${h.name}\n  HostName ${h.address}\n  Port ${h.ssh!.port}\n${common}`).join(''));
  const pdshHosts = join(dir, 'pdsh-hosts');
  await writeFile(pdshHosts, `${fleet.hosts.map((h) => h.name).join('\n')}\n`);
  return { ansibleInv, sshConfig, pdshHosts };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'svcfleet-bench-peers-'));
  const shim = join(dir, 'powershell-standin.sh');
  await writeFile(shim, standIn());
  await chmod(shim, 0o755);
  process.stdout.write(`starting ${N} lab hosts (one real sshd each, stand-in powershell.exe)...\n`);
  const fleet = await startLabFleet({
    dir: join(dir, 'lab'),
    hosts: N,
    transport: 'ssh',
    emulation: { kind: 'responder', sshShim: shim, winrmPowerShell: async () => 1 },
    startConcurrency: 16,
  });
  try {
    const svcInv = join(dir, 'inventory.yaml');
    await writeFile(svcInv, renderLabInventory(fleet, svcInv));
    const peer = await writePeerFiles(fleet, dir);
    const env = { ...process.env, HOME: dir, ANSIBLE_HOME: join(dir, 'ansible'), ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp') };
    const runs: Record<string, () => Promise<Measure>> = {
      svcfleet: () =>
        // Same connections at once as the peers' `-f C`: svcfleet caps handshakes in flight separately from
        // concurrency (config handshakeConcurrency, default 10), which alone would open 10 at a time.
        timed(
          'svcfleet',
          [process.execPath, resolve('bin/svcfleet.js'), 'inspect', SERVICE, '-i', svcInv, '-c', String(C), '--output', 'json'],
          { ...env, SVCFLEET_HANDSHAKE_CONCURRENCY: String(C) },
          (out) => {
            const report = JSON.parse(out) as { groups: { hosts: string[] }[] };
            return report.groups.reduce((n, g) => n + g.hosts.length, 0);
          },
        ),
      ansible: () =>
        timed(
          'ansible',
          ['ansible', 'all', '-i', peer.ansibleInv, '-m', 'raw', '-a', PEER_COMMAND, '-f', String(C)],
          {
            ...env,
            ANSIBLE_HOST_KEY_CHECKING: 'True',
            // No ControlPersist: a one-shot command, and no master left running after the bench.
            ANSIBLE_SSH_ARGS: `-o ControlMaster=no -o UserKnownHostsFile=${fleet.ssh!.knownHostsFile} -o StrictHostKeyChecking=yes`,
            ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
          },
          (out) => (out.match(/^\S+ \| CHANGED \| rc=0 >>\n\{"config"/gm) ?? []).length,
        ),
      pdsh: () =>
        timed(
          'pdsh',
          ['pdsh', '-R', 'ssh', '-f', String(C), '-w', `^${peer.pdshHosts}`, PEER_COMMAND],
          { ...env, PDSH_SSH_ARGS: `-F ${peer.sshConfig} %h` },
          (out) => new Set(out.split('\n').flatMap((l) => (/^(\S+): \{"config"/.exec(l) ? [l.split(':')[0]] : []))).size,
        ),
    };
    const load0 = loadavg();
    const results: Measure[] = [];
    for (const tool of tools) {
      process.stdout.write(`running ${tool}...\n`);
      results.push(await runs[tool]!());
    }
    const load1 = loadavg();
    const base = results.find((r) => r.tool === 'svcfleet');
    const f = (n: number, d = 2): string => n.toFixed(d);
    const lines = [
      `bench/peers — ${N} lab hosts (real sshd each, STAND-IN powershell.exe printing one snapshot), concurrency ${C}`,
      `${'tool'.padEnd(9)} ${'wall s'.padStart(8)} ${'CPU ms/host'.padStart(12)} ${'peak RSS MB'.padStart(12)} ${'hosts ok'.padStart(9)}   ratios to svcfleet (wall, CPU/host, RSS)`,
    ];
    for (const r of results) {
      const ratios = base ? `${f(r.wallS / base.wallS)}x  ${f(r.cpuMs / r.ok / (base.cpuMs / base.ok))}x  ${f(r.rssMb / base.rssMb)}x` : '';
      lines.push(
        `${r.tool.padEnd(9)} ${f(r.wallS).padStart(8)} ${f(r.cpuMs / Math.max(1, r.ok)).padStart(12)} ${f(r.rssMb, 1).padStart(12)} ${`${r.ok}/${N}`.padStart(9)}   ${ratios}`,
      );
    }
    const ansible = results.find((r) => r.tool === 'ansible');
    const pdsh = results.find((r) => r.tool === 'pdsh');
    if (base && ansible) {
      const share = base.cpuMs / base.ok / (ansible.cpuMs / ansible.ok);
      lines.push(`target: svcfleet CPU/host ≤ 1/8 of Ansible's: ${f(share, 3)} (${share <= 1 / 8 ? 'OK' : 'MISSED'})`);
    }
    if (base && (ansible || pdsh)) {
      const faster = [ansible, pdsh].filter((r): r is Measure => !!r).every((r) => base.wallS < r.wallS);
      lines.push(`target: svcfleet faster than both: ${faster ? 'OK' : 'MISSED'}`);
    }
    lines.push(`machine: ${cpus().length} cores; load average before ${load0.map((l) => f(l)).join(' ')}, after ${load1.map((l) => f(l)).join(' ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/peers: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
