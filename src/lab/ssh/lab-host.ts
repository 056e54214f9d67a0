/**
 * The SSH side of emulated Windows hosts: one real sshd per host (its own loopback port, host key and
 * environment), all sharing one lab "environment" (login key, known_hosts, the exec wrapper and a bin dir whose
 * powershell.exe / pwsh are the emulated-SCM shim).
 *
 * One sshd per host rather than one sshd for many: sshd listens on at most 16 sockets, HostKey cannot vary per
 * Match block (needed for the changed-host-key fault), and an idle sshd costs about 1 MB of private memory
 * (measured, docs/lab-fleet.md). Per-connection cost is the same either way: sshd re-executes itself for every
 * connection.
 */
import { mkdir, symlink, unlink, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { knownHostsName } from '../../transport/ssh/known-hosts.js';
import type { Secret } from '../../util/secret.js';
import { EXEC_WRAPPER_NAME, writeExecWrapper } from './exec-wrapper.js';
import { writeKeyPair, type LabKeyPair, type LabKeyType } from './keys.js';
import { pwshBinary } from '../../transport/pwsh/locate.js';
import { STARTUP_JIT_PROFILE_OFF } from '../../transport/pwsh/startup-profile.js';
import { startLabSshd, type LabSshd } from './sshd.js';

export interface SshLabEnv {
  dir: string;
  binDir: string;
  wrapper: string;
  /** The lab's login key (unencrypted; lab only). */
  clientKey: LabKeyPair;
  authorizedKeysFile: string;
  /** An authorized-keys file with no keys: hosts with the auth-failure fault use it. */
  emptyAuthorizedKeysFile: string;
  knownHostsFile: string;
  user: string;
  pwsh: string;
  shim: string;
}

export interface SshLabEnvOptions {
  dir: string;
  /** The emulated-SCM exec shim (src/lab/scm/bin/powershell.exe) or a test stand-in. */
  shim: string;
  /** Extra public keys (`type base64 comment` lines) allowed to log in, e.g. a test's agent or encrypted key. */
  extraAuthorizedKeys?: string[];
}

export async function prepareSshLab(o: SshLabEnvOptions): Promise<SshLabEnv> {
  const binDir = join(o.dir, 'bin');
  await mkdir(binDir, { recursive: true });
  const wrapper = join(binDir, EXEC_WRAPPER_NAME);
  await writeExecWrapper(wrapper);
  for (const name of ['powershell.exe', 'pwsh']) {
    const link = join(binDir, name);
    await unlink(link).catch(() => undefined);
    await symlink(o.shim, link);
  }
  const clientKey = await writeKeyPair(join(o.dir, 'id_ed25519'), 'svcfleet-lab');
  const authorizedKeysFile = join(o.dir, 'authorized_keys');
  await writeFile(authorizedKeysFile, [clientKey.publicLine, ...(o.extraAuthorizedKeys ?? [])].join('\n') + '\n', {
    mode: 0o600,
  });
  const emptyAuthorizedKeysFile = join(o.dir, 'authorized_keys.none');
  await writeFile(emptyAuthorizedKeysFile, '', { mode: 0o600 });
  const knownHostsFile = join(o.dir, 'known_hosts');
  await writeFile(knownHostsFile, '', { mode: 0o600 });
  return {
    dir: o.dir,
    binDir,
    wrapper,
    clientKey,
    authorizedKeysFile,
    emptyAuthorizedKeysFile,
    knownHostsFile,
    user: userInfo().username,
    pwsh: pwshBinary(),
    shim: o.shim,
  };
}

export interface SshHostFaults {
  /** The host's sshd knows none of the lab's keys. */
  authFailure?: boolean;
  /** known_hosts records one key, the sshd presents another. */
  hostKeyChanged?: boolean;
  /** The connection is cut after the command's first output line. */
  drop?: boolean;
}

export interface SshLabHostOptions {
  env: SshLabEnv;
  name: string;
  address: string;
  port: number;
  /** The port clients use, when it differs from sshd's (a fault proxy in front); known_hosts is keyed by it. */
  knownHostsPort?: number;
  stateDir: string;
  faults?: SshHostFaults;
  /** Host key types (default ed25519); all are recorded in known_hosts. */
  hostKeyTypes?: LabKeyType[];
  /** Do not record this host in known_hosts (tests of unknown hosts). */
  unknown?: boolean;
  /** Also allow password / keyboard-interactive login with this password (root only, tests). */
  password?: Secret;
  passwordMethods?: Array<'password' | 'keyboard-interactive'>;
  maxStartups?: number;
}

export interface SshLabHost {
  name: string;
  address: string;
  port: number;
  hostKeys: LabKeyPair[];
  sshd: LabSshd;
  stop(): Promise<void>;
}

export async function startSshLabHost(o: SshLabHostOptions): Promise<SshLabHost> {
  const dir = join(o.env.dir, 'hosts', o.name);
  await mkdir(dir, { recursive: true });
  const hostKeys: LabKeyPair[] = [];
  for (const type of o.hostKeyTypes ?? ['ed25519']) {
    hostKeys.push(await writeKeyPair(join(dir, `ssh_host_${type}_key`), `${o.name} host key`, type));
  }
  let recorded = hostKeys;
  if (o.faults?.hostKeyChanged) {
    // What the controller "knew" before the host was (re)built or impersonated.
    recorded = [await writeKeyPair(join(dir, 'previous_host_key'), `${o.name} previous host key`)];
  }
  if (!o.unknown) {
    const name = knownHostsName(o.address, o.knownHostsPort ?? o.port);
    const lines = recorded.map((k) => `${name} ${k.publicLine.split(/\s+/).slice(0, 2).join(' ')}\n`).join('');
    await appendFile(o.env.knownHostsFile, lines);
  }
  const subsystem = `${o.env.wrapper} powershell-subsystem`;
  const sshd = await startLabSshd({
    dir,
    address: o.address,
    port: o.port,
    hostKeys: hostKeys.map((k) => k.privatePath),
    authorizedKeysFile: o.faults?.authFailure ? o.env.emptyAuthorizedKeysFile : o.env.authorizedKeysFile,
    user: o.env.user,
    forceCommand: o.env.wrapper,
    powershellSubsystem: subsystem,
    env: {
      SVCFLEET_LAB_STATE: o.stateDir,
      SVCFLEET_LAB_SHIM: o.env.shim,
      SVCFLEET_LAB_PWSH: o.env.pwsh,
      // The emulated SCM starts services with node; sshd's default PATH may not have it.
      SVCFLEET_LAB_NODE: process.execPath,
      SVCFLEET_LAB_BIN: o.env.binDir,
      SVCFLEET_LAB_SUBSYSTEM: subsystem,
      ...(o.faults?.drop ? { SVCFLEET_LAB_FAULT: 'drop' } : {}),
      // Every session's pwsh (the shim's, and pwsh -sshs for remoting) runs without the startup JIT profile that
      // pwsh processes side by side tear (transport/pwsh/startup-profile.ts).
      ...STARTUP_JIT_PROFILE_OFF,
      // sshd hands a session only SetEnv, so without this a session's processes use /tmp. Keep them in the lab's
      // temp dir: a pwsh that is killed (the fault tests kill remote engines) leaves its IPC socket
      // (CoreFxPipe_PSHost.*, created under [IO.Path]::GetTempPath()) behind, and that belongs with the lab's files.
      TMPDIR: tmpdir(),
      // sshd runs ForceCommand through the user's shell, and bash runs ~/.bashrc when it believes sshd started it at
      // shell level 1 (docs/reference/ssh.md#the-labs-stand-in-for-it-bash-on-linux). Win32-OpenSSH runs cmd.exe,
      // which reads no startup file: at level 1 here bash starts at 2 and skips it. On this machine root's
      // ~/.bashrc runs `pyenv init`, whose rehash lock serialised 200 sessions at once: 74.9 s against 6.2 s.
      SHLVL: '1',
    },
    ...(o.password ? { password: o.password } : {}),
    ...(o.passwordMethods ? { passwordMethods: o.passwordMethods } : {}),
    ...(o.maxStartups ? { maxStartups: o.maxStartups } : {}),
  });
  return { name: o.name, address: o.address, port: o.port, hostKeys, sshd, stop: () => sshd.stop() };
}
