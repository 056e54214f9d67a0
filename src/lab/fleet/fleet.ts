/**
 * A lab fleet: N emulated Windows hosts on this machine, each with its own emulated SCM state dir and its own
 * loopback ports — a real OpenSSH sshd (ssh side) and/or a lab WS-Management listener (winrm side) — plus the
 * per-host faults of `--faults`. Used by `svcfleet lab up` (lab/cli/fleet.ts), the demo and the transport benchmark.
 *
 * Layout of the lab dir:
 *   hosts/<name>/       emulated host state (initLabHost)
 *   ssh/                login key, known_hosts, exec wrapper, per-host sshd config/log/host keys
 *   pki/                the WinRM lab CA and certificates (https)
 *   winrm-password      the lab WinRM account's password (0600)
 *   kdc/                with `auth: 'kerberos'`: the lab realm's KDC, its krb5.conf, the service keytab and the
 *                       controller's keytab for the lab account (0600)
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { initLabHost, type InitLabHostOptions, stopLabHost } from '../host.js';
import { type LabKdc, startKdc } from '../kerberos/kdc.js';
import { createLabRunner, type LabRunner } from '../runner/index.js';
import { labScmFiles } from '../scm/state.js';
import { prepareSshLab, startSshLabHost, type SshLabEnv, type SshLabHost } from '../ssh/lab-host.js';
import { ensureLabPki } from '../winrm/certs.js';
import type { PowerShellHandler } from '../winrm/executor.js';
import type { CbtHardeningLevel, LabKerberosOptions } from '../winrm/kerberos-acceptor.js';
import { startLabWinrmServer, type LabWinrmFaults, type LabWinrmServer } from '../winrm/server.js';
import { watchConnectionFault } from './connection-faults.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import type { HostFaults, LabTransportSet } from './fault-spec.js';
import { releasePorts, reservePorts } from './ports.js';

export const LAB_ADDRESS = '127.0.0.1';
export const LAB_WINRM_USER = 'Administrator';

export interface LabServiceTemplate {
  name: string;
  /** The service's Windows command line for a host whose app port is `port`. */
  binaryPath(port: number): string;
}

/** The service every lab host runs (the example used across docs and benchmarks). */
export const DEFAULT_LAB_SERVICE: LabServiceTemplate = {
  name: 'MyGoService',
  binaryPath: (port) => `"C:\\Program Files\\MyGo\\myapp.exe" --port ${port}`,
};

export interface LabFleetOptions {
  dir: string;
  hosts: number;
  transport: LabTransportSet;
  /** Per host name; see fault-spec.ts. */
  faults?: Map<string, HostFaults>;
  /** Host names are <prefix><index>, index zero-padded to 3 digits (more when N > 999). Default 'lab'. */
  namePrefix?: string;
  service?: LabServiceTemplate;
  /** Local accounts of every emulated host (InitLabHostOptions.accounts), for services that log on as a user. */
  accounts?: InitLabHostOptions['accounts'];
  winrmScheme?: 'http' | 'https';
  /**
   * How WinRM hosts authenticate the controller: 'ntlm' (default) or 'kerberos' — a real MIT KDC for the lab
   * realm on loopback and a GSSAPI acceptor per listener (HTTPS only: docs/transport-winrm.md "Kerberos").
   */
  winrmAuth?: 'ntlm' | 'kerberos';
  /** With kerberos: what the listeners do with channel bindings (WinRM CbtHardeningLevel); default relaxed. */
  winrmCbtHardening?: CbtHardeningLevel;
  /**
   * 'scm' (default): hosts run the emulated SCM (state dir + service process per host).
   * 'responder': no SCM; the ssh shim and the winrm PowerShell handler are the given stand-ins (benchmarks).
   */
  emulation?: { kind: 'scm' } | { kind: 'responder'; sshShim: string; winrmPowerShell: PowerShellHandler };
  /** Runs WinRM hosts' PowerShell (emulated SCM). Default: a 2-worker pool owned by the fleet. */
  runner?: LabRunner;
  /** Hosts started at once. Default 8. */
  startConcurrency?: number;
  maxStartups?: number;
  onProgress?: (message: string) => void;
}

export interface LabFleetHost {
  name: string;
  index: number;
  address: string;
  /** The transport the inventory uses for this host. */
  transport: 'ssh' | 'winrm';
  stateDir: string;
  appPort: number;
  faults: HostFaults;
  ssh?: { port: number; sshdPid?: number; sshdPort?: number };
  winrm?: { port: number; scheme: 'http' | 'https' };
}

export interface LabFleet {
  dir: string;
  transport: LabTransportSet;
  hosts: LabFleetHost[];
  service: LabServiceTemplate;
  ssh?: SshLabEnv;
  winrm?: {
    scheme: 'http' | 'https';
    caFile?: string;
    user: string;
    passwordFile: string;
    /** With `winrmAuth: 'kerberos'`: the realm's client configuration and the lab account's keytab. */
    kerberos?: { realm: string; krb5Config: string; keytab: string; kdcPid: number; hostname: string };
  };
  stop(): Promise<void>;
}

/**
 * Runs every start, waiting for ALL of them even when one fails, so that every started server has registered its
 * stopper before the fleet is torn down (Promise.all would reject early and leak the ones still starting).
 */
async function startAll(tasks: Array<Promise<void>>): Promise<void> {
  const failed = (await Promise.allSettled(tasks)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export function labHostNames(count: number, prefix = 'lab'): string[] {
  const width = Math.max(3, String(count).length);
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}

export async function startLabFleet(o: LabFleetOptions): Promise<LabFleet> {
  const names = labHostNames(o.hosts, o.namePrefix);
  const service = o.service ?? DEFAULT_LAB_SERVICE;
  const emulation = o.emulation ?? { kind: 'scm' as const };
  const useSsh = o.transport !== 'winrm';
  const useWinrm = o.transport !== 'ssh';
  const scheme = o.winrmScheme ?? 'https';
  const say = o.onProgress ?? (() => undefined);
  await mkdir(o.dir, { recursive: true });

  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    // Reverse order: listeners first, then the hosts' processes, then shared resources.
    for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => undefined);
  };

  try {
    for (const [name, f] of o.faults ?? []) {
      if (f.tlsUntrusted && scheme !== 'https') throw new Error(`${name}: tls-untrusted needs the https WinRM listener`);
    }
    if (o.winrmAuth === 'kerberos' && (!useWinrm || scheme !== 'https')) {
      throw new Error('Kerberos in the lab needs WinRM over https (svcfleet refuses Kerberos over http: no message encryption)');
    }
    // Ports: app, ssh (+ the sshd behind a slow-connect proxy), winrm — all reserved together.
    const perHost = 1 + (useSsh ? 2 : 0) + (useWinrm ? 1 : 0);
    const ports = await reservePorts(names.length * perHost, LAB_ADDRESS);
    stoppers.push(async () => releasePorts(ports)); // first in, so released last: after every listener closed
    let p = 0;
    const hosts: LabFleetHost[] = names.map((name, index) => {
      const faults = o.faults?.get(name) ?? {};
      const h: LabFleetHost = {
        name,
        index: index + 1,
        address: LAB_ADDRESS,
        // both: alternate, so one inventory exercises both transports (every host still listens on both).
        transport: o.transport === 'both' ? (index % 2 === 0 ? 'ssh' : 'winrm') : o.transport,
        stateDir: join(o.dir, 'hosts', name),
        appPort: ports[p++] as number,
        faults,
      };
      if (useSsh) h.ssh = { port: ports[p++] as number, sshdPort: ports[p++] as number };
      if (useWinrm) h.winrm = { port: ports[p++] as number, scheme };
      return h;
    });
    const limit = pLimit(o.startConcurrency ?? 8);
    // link-stall: the proxies in front of each host's listeners, stalled together when the engine says so.
    const proxies = new Map<string, DelayProxy[]>();
    const proxiesOf = (h: LabFleetHost): DelayProxy[] => {
      let list = proxies.get(h.name);
      if (!list) proxies.set(h.name, (list = []));
      return list;
    };

    // 1. Emulated hosts (state + running service).
    if (emulation.kind === 'scm') {
      say(`starting ${hosts.length} emulated hosts`);
      await startAll(
        hosts.map((h) =>
          limit(async () => {
            await initLabHost({
              stateDir: h.stateDir,
              services: [{ name: service.name, binaryPath: service.binaryPath(h.appPort) }],
              ...(h.faults.scm ? { faults: h.faults.scm } : {}),
              ...(o.accounts ? { accounts: o.accounts } : {}),
              replace: true,
            });
            stoppers.push(() => stopLabHost(h.stateDir));
          }),
        ),
      );
    } else {
      await Promise.all(hosts.map((h) => mkdir(h.stateDir, { recursive: true })));
    }

    // 2. SSH side: one real sshd per host.
    let sshEnv: SshLabEnv | undefined;
    if (useSsh) {
      sshEnv = await prepareSshLab({
        dir: join(o.dir, 'ssh'),
        shim: emulation.kind === 'scm' ? labScmFiles.powershellShim : emulation.sshShim,
      });
      say(`starting ${hosts.length} sshd`);
      const env = sshEnv;
      await startAll(
        hosts.map((h) =>
          limit(async () => {
            const ssh = h.ssh as NonNullable<LabFleetHost['ssh']>;
            if (h.faults.refuse) {
              // Nothing listens on the host's port: connection refused.
              delete ssh.sshdPort;
              return;
            }
            const slow = h.faults.slowConnectMs;
            // A proxy in front of sshd: to hold connections silent (slow-connect) or to stall them (link-stall).
            const proxied = slow !== undefined || h.faults.connection === 'link-stall';
            const sshdPort = proxied ? (ssh.sshdPort as number) : ssh.port;
            const host: SshLabHost = await startSshLabHost({
              env,
              name: h.name,
              address: h.address,
              port: sshdPort,
              knownHostsPort: ssh.port,
              stateDir: h.stateDir,
              faults: {
                ...(h.faults.authFailure ? { authFailure: true } : {}),
                ...(h.faults.hostKeyChanged ? { hostKeyChanged: true } : {}),
                ...(h.faults.drop ? { drop: true } : {}),
              },
              ...(o.maxStartups ? { maxStartups: o.maxStartups } : {}),
            });
            ssh.sshdPid = host.sshd.pid;
            if (!proxied) delete ssh.sshdPort;
            stoppers.push(() => host.stop());
            if (proxied) {
              const proxy: DelayProxy = await startDelayProxy({
                address: h.address,
                port: ssh.port,
                target: { host: h.address, port: sshdPort },
                delayMs: slow ?? 0,
              });
              stoppers.push(() => proxy.close());
              proxiesOf(h).push(proxy);
            }
            if (h.faults.connection === 'sshd-restart') {
              const watch = watchConnectionFault({
                stateDir: h.stateDir,
                endsCaller: true,
                act: async () => {
                  await host.sshd.restart();
                  ssh.sshdPid = host.sshd.pid;
                },
                onError: (err) => say(`${h.name}: sshd-restart: ${(err as Error).message}`),
              });
              stoppers.push(async () => watch.close());
            }
          }),
        ),
      );
    }

    // 3. WinRM side: one lab WS-Management listener per host, in this process.
    let winrm: LabFleet['winrm'];
    if (useWinrm) {
      const password = randomBytes(18).toString('base64url');
      const passwordFile = join(o.dir, 'winrm-password');
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      const pkiDir = join(o.dir, 'pki');
      const pki = scheme === 'https' ? await ensureLabPki(pkiDir) : undefined;
      let kerberosAuth: { kerberos: LabKerberosOptions } | undefined;
      let runner = o.runner;
      if (!runner && emulation.kind === 'scm') {
        const own = createLabRunner({ mode: 'pool', size: 2 });
        stoppers.push(() => own.close());
        runner = own;
      }
      let kdc: LabKdc | undefined;
      let kerberos: NonNullable<LabFleet['winrm']>['kerberos'];
      if (o.winrmAuth === 'kerberos') {
        say('starting the lab KDC');
        kdc = await startKdc({ dir: join(o.dir, 'kdc') });
        stoppers.push(() => kdc!.stop());
        // The SPN is HTTP/localhost for every host (the name in the lab certificate); the inventory's
        // hostnameOverride says so. The controller authenticates with a keytab: no password on any command line.
        const serviceKeytab = await kdc.addService('HTTP/localhost');
        const keytab = await kdc.addService(LAB_WINRM_USER, join(kdc.dir, 'controller.keytab'));
        kerberos = { realm: kdc.realm, krb5Config: kdc.krb5Config, keytab, kdcPid: kdc.pid, hostname: 'localhost' };
        kerberosAuth = {
          kerberos: { keytab: serviceKeytab, krb5Config: kdc.krb5Config, ...(o.winrmCbtHardening ? { cbtHardeningLevel: o.winrmCbtHardening } : {}) },
        };
      }
      say(`starting ${hosts.length} WinRM listeners`);
      for (const h of hosts) {
        const w = h.winrm as NonNullable<LabFleetHost['winrm']>;
        if (h.faults.refuse) continue;
        const faults: LabWinrmFaults = {
          ...(h.faults.slowConnectMs ? { connectDelayMs: h.faults.slowConnectMs } : {}),
          ...(h.faults.drop ? { dropMidCommand: true } : {}),
          ...(h.faults.authFailure ? { authFailure: true } : {}),
          ...(h.faults.tlsUntrusted ? { untrustedCert: true } : {}),
          ...(h.faults.slowReceiveMs ? { receiveDelayMs: h.faults.slowReceiveMs } : {}),
          ...(h.faults.winrmBadReply ? { badReply: h.faults.winrmBadReply } : {}),
        };
        // link-stall: the listener takes a port of its own, the host's port is the proxy's.
        const stall = h.faults.connection === 'link-stall';
        const server: LabWinrmServer = await startLabWinrmServer({
          host: h.address,
          ...(stall ? {} : { port: w.port }),
          ...(pki ? { https: { labDir: pkiDir } } : {}),
          auth: kerberosAuth ?? { ntlm: true },
          users: { [LAB_WINRM_USER]: password },
          computerName: h.name.toUpperCase(),
          ...(emulation.kind === 'scm' ? { lab: { stateDir: h.stateDir, runner: runner as LabRunner } } : { powershell: emulation.winrmPowerShell }),
          faults,
        });
        stoppers.push(() => server.close());
        if (stall) {
          const proxy = await startDelayProxy({ address: h.address, port: w.port, target: { host: h.address, port: server.port }, delayMs: 0 });
          stoppers.push(() => proxy.close());
          proxiesOf(h).push(proxy);
        }
        if (h.faults.connection === 'winrm-reset') {
          const watch = watchConnectionFault({ stateDir: h.stateDir, endsCaller: false, act: () => server.resetOnReceive() });
          stoppers.push(async () => watch.close());
        }
      }
      winrm = { scheme, ...(pki ? { caFile: pki.caFile } : {}), user: LAB_WINRM_USER, passwordFile, ...(kerberos ? { kerberos } : {}) };
    }

    for (const h of hosts) {
      if (h.faults.connection !== 'link-stall') continue;
      const watch = watchConnectionFault({ stateDir: h.stateDir, endsCaller: false, act: () => proxiesOf(h).forEach((p) => p.stall()) });
      stoppers.push(async () => watch.close());
    }

    return {
      dir: o.dir,
      transport: o.transport,
      hosts,
      service,
      ...(sshEnv ? { ssh: sshEnv } : {}),
      ...(winrm ? { winrm } : {}),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
