/**
 * One benchmark phase in a fresh process (so each phase's CPU and peak RSS are its own), against the hosts the
 * lab server described. Prints one JSON line: the measurements.
 *
 *   floor       raw ssh2: connect (same key exchange preference), exec `echo`, close — the floor
 *   ssh         the ssh transport: open (known_hosts verified), runRemote(snapshot request), close
 *   winrm       the winrm transport: open (NTLM), runRemote(snapshot request), close
 *   ssh-hold    the ssh transport: all sessions open at once, held (RSS at N open sessions)
 *   winrm-hold  the winrm transport: the same
 */
import { readFileSync } from 'node:fs';
import pLimit from 'p-limit';
import ssh2 from 'ssh2';
import { newNonce } from '../../src/remote/invocation.js';
import { runRemote } from '../../src/remote/run.js';
import { KEX_PREFERENCE } from '../../src/transport/ssh/algorithms.js';
import { SshTransport } from '../../src/transport/ssh/transport.js';
import type { ConnectionSettings, Deadlines, Session, Transport } from '../../src/transport/types.js';
import { createWinrmTransport } from '../../src/transport/winrm/index.js';
import { Secret } from '../../src/util/secret.js';

interface LabDescription {
  ssh: { user: string; knownHostsFile: string; identityFile: string };
  winrm: { user: string; passwordFile: string; scheme: 'http' | 'https' };
  hosts: Array<{ name: string; address: string; sshPort: number; winrmPort: number }>;
}

export interface PhaseResult {
  phase: string;
  hosts: number;
  ok: number;
  failures: string[];
  cpuMs: number;
  wallMs: number;
  baselineRssMb: number;
  peakRssMb: number;
}

const DEADLINES: Deadlines = { connectMs: 60_000, authMs: 60_000, commandMs: 120_000 };

function sshSettings(lab: LabDescription, h: LabDescription['hosts'][number]): ConnectionSettings {
  return {
    transport: 'ssh',
    address: h.address,
    port: h.sshPort,
    user: lab.ssh.user,
    ssh: { knownHostsFile: lab.ssh.knownHostsFile, identityFile: lab.ssh.identityFile, agent: '' },
  };
}

function winrmSettings(lab: LabDescription, h: LabDescription['hosts'][number], password: Secret): ConnectionSettings {
  return {
    transport: 'winrm',
    address: h.address,
    port: h.winrmPort,
    user: lab.winrm.user,
    password,
    winrm: { scheme: lab.winrm.scheme, auth: 'ntlm' },
  };
}

function rawEcho(lab: LabDescription, h: LabDescription['hosts'][number], key: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () => {
      c.exec('echo bench', (err, ch) => {
        if (err) return reject(err);
        let out = '';
        ch.on('data', (d: Buffer) => (out += d.toString()));
        ch.on('close', () => {
          c.end();
          if (out.trim() === 'bench') resolve();
          else reject(new Error(`unexpected echo output ${JSON.stringify(out)}`));
        });
      });
    });
    c.on('error', reject);
    c.connect({
      host: h.address,
      port: h.sshPort,
      username: lab.ssh.user,
      privateKey: key,
      algorithms: { kex: KEX_PREFERENCE },
      hostVerifier: () => true, // the floor: no verification at all
    });
  });
}

function snapshotRequest() {
  return { v: 1 as const, op: 'snapshot' as const, nonce: newNonce(), runId: 'bench', service: 'MyGoService' };
}

async function oneRemote(t: Transport, name: string, settings: ConnectionSettings): Promise<void> {
  const s = await t.open(name, settings, { deadlines: DEADLINES });
  try {
    const r = await runRemote(s, snapshotRequest(), { host: name, commandMs: DEADLINES.commandMs });
    if (r.outcome !== 'unchanged') throw new Error(`unexpected outcome ${r.outcome}`);
  } finally {
    await s.close();
  }
}

async function main(): Promise<void> {
  const [phase = 'floor', concurrencyText = '50', labFile = ''] = process.argv.slice(2);
  const lab = JSON.parse(readFileSync(labFile, 'utf8')) as LabDescription;
  const concurrency = Number(concurrencyText);
  const key = readFileSync(lab.ssh.identityFile);
  const password = new Secret(readFileSync(lab.winrm.passwordFile, 'utf8').trim());
  const ssh = new SshTransport();
  const winrm = createWinrmTransport();
  // Warm up module code paths on nothing: imports are done; measure from here.
  const baselineRss = process.memoryUsage.rss();
  let peak = baselineRss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const failures: string[] = [];
  let ok = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const limit = pLimit(concurrency);
  const each = async (fn: (h: LabDescription['hosts'][number]) => Promise<void>): Promise<void> => {
    await Promise.all(
      lab.hosts.map((h) =>
        limit(async () => {
          try {
            await fn(h);
            ok++;
          } catch (err) {
            failures.push(`${h.name}: ${(err as Error).message}`);
          }
        }),
      ),
    );
  };
  switch (phase) {
    case 'floor':
      await each((h) => rawEcho(lab, h, key));
      break;
    case 'ssh':
      await each((h) => oneRemote(ssh, h.name, sshSettings(lab, h)));
      break;
    case 'winrm':
      await each((h) => oneRemote(winrm, h.name, winrmSettings(lab, h, password)));
      break;
    case 'ssh-hold':
    case 'winrm-hold': {
      // Every session open at once (the handshake cap still applies to ssh), then measured, then closed.
      const t = phase === 'ssh-hold' ? ssh : winrm;
      const sessions: Session[] = [];
      await Promise.all(
        lab.hosts.map(async (h) => {
          try {
            const settings = phase === 'ssh-hold' ? sshSettings(lab, h) : winrmSettings(lab, h, password);
            sessions.push(await t.open(h.name, settings, { deadlines: DEADLINES }));
            ok++;
          } catch (err) {
            failures.push(`${h.name}: ${(err as Error).message}`);
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
      peak = Math.max(peak, process.memoryUsage.rss());
      await Promise.all(sessions.map((s) => s.close()));
      break;
    }
    default:
      throw new Error(`unknown phase ${phase}`);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  await ssh.dispose();
  const result: PhaseResult = {
    phase,
    hosts: lab.hosts.length,
    ok,
    failures: failures.slice(0, 5),
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    baselineRssMb: baselineRss / 1048576,
    peakRssMb: peak / 1048576,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench phase: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
