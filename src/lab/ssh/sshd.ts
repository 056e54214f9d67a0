/**
 * Runs a real OpenSSH sshd (Debian openssh-server) for one emulated host, unprivileged where possible:
 * `sshd -D -e -f <lab config>` as the current user, on its own loopback address and port, with host keys and
 * authorized keys from the lab dir. As root sshd needs its privilege-separation dir (/run/sshd), created if
 * missing; as any other user sshd runs without privilege separation and only that user can log in.
 *
 * Password / keyboard-interactive logins (tests only) need a known password without touching the system's
 * accounts: sshd then runs in a private mount namespace (`unshare --mount`, root only) where /etc/shadow and
 * /etc/pam.d/sshd are bind-mounted lab copies: the lab password for the lab user, and a minimal PAM stack.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Secret } from '../../util/secret.js';
import { childPids } from '../../transport/pwsh/process-tree.js';
import { processAlive } from '../scm/state.js';
import { openSshBinary } from './openssh.js';
import { renderSshdConfig, type SshdConfigInput } from './sshd-config.js';

export interface LabSshdOptions extends SshdConfigInput {
  /** Directory for this sshd's config and log. */
  dir: string;
  /** Password login for `user` (root only; see the file comment), by the methods in passwordMethods. */
  password?: Secret;
  startTimeoutMs?: number;
}

export interface LabSshd {
  readonly pid: number;
  readonly address: string;
  readonly port: number;
  readonly configFile: string;
  readonly logFile: string;
  stop(): Promise<void>;
  /**
   * Stops sshd with its connections' processes (as stop() does: every session ends) and starts it again on the
   * same address, port, config and host keys; `pid` is the new listener's afterwards.
   */
  restart(): Promise<void>;
}

const LISTENING = /Server listening on/;

/** Minimal PAM stack for the password sshd: unix passwords (from the bind-mounted shadow), nothing else. */
const LAB_PAM = ['auth required pam_unix.so', 'account required pam_permit.so', 'session required pam_permit.so', 'password required pam_deny.so', ''].join(
  '\n',
);

function ensurePrivsepDir(): void {
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
}

/** /etc/shadow with the lab user's hash replaced by a SHA-512 crypt of the lab password. */
async function labShadow(user: string, password: Secret): Promise<string> {
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${password.reveal()}\n` })
    .toString()
    .trim();
  const lines = (await readFile('/etc/shadow', 'utf8')).split('\n');
  let found = false;
  const out = lines.map((l) => {
    const f = l.split(':');
    if (f[0] !== user) return l;
    found = true;
    f[1] = hash;
    return f.join(':');
  });
  if (!found) throw new Error(`user ${user} has no /etc/shadow entry`);
  return out.join('\n');
}

export async function startLabSshd(o: LabSshdOptions): Promise<LabSshd> {
  const sshd = openSshBinary('sshd');
  mkdirSync(o.dir, { recursive: true });
  ensurePrivsepDir();
  const configFile = join(o.dir, 'sshd_config');
  const logFile = join(o.dir, 'sshd.log');
  await writeFile(configFile, renderSshdConfig({ ...o, passwordMethods: o.password ? (o.passwordMethods ?? ['password', 'keyboard-interactive']) : [] }), {
    mode: 0o600,
  });

  const args = ['-D', '-e', '-f', configFile];
  let argv: [string, string[]] = [sshd, args];
  if (o.password) {
    if (process.getuid?.() !== 0) throw new Error('a password-login lab sshd needs root (private mount namespace)');
    const shadow = join(o.dir, 'shadow');
    const pam = join(o.dir, 'pam-sshd');
    await writeFile(shadow, await labShadow(o.user, o.password), { mode: 0o600 });
    await writeFile(pam, LAB_PAM, { mode: 0o644 });
    argv = [
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        'mount --bind "$1" /etc/shadow && mount --bind "$2" /etc/pam.d/sshd && shift 2 && exec "$@"',
        'sh',
        shadow,
        pam,
        sshd,
        ...args,
      ],
    ];
  }

  const log = createWriteStream(logFile, { flags: 'a' });
  /** Starts sshd and resolves once it listens (again, for a restart: same config, address, port and host keys). */
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(argv[0], argv[1], { stdio: ['ignore', 'ignore', 'pipe'] });
    let head = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`sshd on ${o.address}:${o.port} did not start in time:\n${head}`));
      }, o.startTimeoutMs ?? 10_000);
      const onData = (chunk: Buffer): void => {
        head += chunk.toString();
        if (LISTENING.test(head)) {
          clearTimeout(timer);
          child.stderr?.removeListener('data', onData);
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      // end: false: a restarted sshd writes on into the same log.
      child.stderr?.pipe(log, { end: false });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd on ${o.address}:${o.port} exited (${code}):\n${head.trim()}`));
      });
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    child.on('error', () => undefined);
    return child;
  };
  let child = await launch();

  return {
    get pid() {
      return child.pid as number;
    },
    address: o.address,
    port: o.port,
    configFile,
    logFile,
    stop: async () => {
      await stopSshdTree(child.pid as number, child);
      log.end();
    },
    restart: async () => {
      await stopSshdTree(child.pid as number, child);
      child = await launch();
    },
  };
}

/** Running (a zombie counts as gone). */
const alive = (pid: number): boolean => processAlive(pid, null);

/**
 * Stops a listening sshd and the per-connection sshd processes it forked (they survive the listener otherwise).
 * Ending a connection's sshd ends its sessions: the exec wrapper kills the session's processes when its sshd
 * goes. Works for an sshd this process did not start (`lab down` after a crashed supervisor): pass no child.
 */
export async function stopSshdTree(pid: number, child?: ChildProcess): Promise<void> {
  if (!alive(pid)) return;
  const exited = child
    ? new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) r();
        else child.once('exit', () => r());
      })
    : undefined;
  // With `unshare`, sshd is a child of the unshare process (or replaced it with exec); cover both.
  const targets = [pid, ...childPids(pid)];
  const sessions = targets.flatMap((p) => childPids(p));
  for (const p of [...targets, ...sessions]) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline && [...targets, ...sessions].some(alive)) {
    await new Promise((r) => setTimeout(r, 25));
  }
  for (const p of [...targets, ...sessions]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await exited;
}
