/**
 * `svcfleet lab up` / `lab down` behind the CLI: the process that owns a running lab fleet (the supervisor), its
 * state file (`<lab dir>/lab.json`) and the teardown. The supervisor stops everything on SIGINT/SIGTERM/SIGHUP;
 * `lab down` asks it to, and cleans up by itself when the supervisor is gone (crashed, killed): it stops the
 * recorded sshd processes and the hosts' service processes and removes the lab dir and the generated inventory.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../util/errors.js';
import { stopLabHost } from '../host.js';
import { processAlive } from '../scm/state.js';
import { stopSshdTree } from '../ssh/sshd.js';
import { parseFaultSpec, type LabTransportSet } from './fault-spec.js';
import { labHostNames, startLabFleet, type LabFleet } from './fleet.js';
import { labDirOfInventory, renderLabInventory } from './inventory.js';
import type { CbtHardeningLevel } from '../winrm/kerberos-acceptor.js';

export const LAB_STATE_FILE = 'lab.json';

export interface LabState {
  format: 'svcfleet-lab';
  version: 1;
  pid: number;
  ready: boolean;
  inventory: string;
  startedAt: string;
  hosts: Array<{ name: string; stateDir: string; sshdPid?: number }>;
  /** The lab realm's krb5kdc (`--auth kerberos`). */
  kdcPid?: number;
}

export interface LabUpOptions {
  hosts: number;
  transport: LabTransportSet;
  faults?: string;
  inventory: string;
  dir?: string;
  winrmScheme?: 'http' | 'https';
  /** How WinRM hosts authenticate: ntlm (default) or kerberos (a lab KDC; https only). */
  auth?: 'ntlm' | 'kerberos';
  /** With kerberos: the channel binding the listeners demand (WinRM CbtHardeningLevel); default relaxed. */
  cbtHardening?: CbtHardeningLevel;
  out?: (line: string) => void;
}

/** `<inventory dir>/.lab/<inventory name>`, so two labs with different inventories never share a dir. */
export function defaultLabDir(inventory: string): string {
  const file = resolve(inventory);
  return join(dirname(file), '.lab', basename(file, extname(file)));
}

const alive = (pid: number): boolean => processAlive(pid, null);

function readState(dir: string): LabState | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, LAB_STATE_FILE), 'utf8')) as LabState;
    return s.format === 'svcfleet-lab' ? s : undefined;
  } catch {
    return undefined;
  }
}

async function writeState(dir: string, state: LabState): Promise<void> {
  const file = join(dir, LAB_STATE_FILE);
  await writeFile(`${file}.tmp`, JSON.stringify(state, null, 2));
  await rename(`${file}.tmp`, file);
}

/** Checks everything about `lab up` that can be checked without starting anything. */
export async function validateLabUp(o: LabUpOptions): Promise<{ dir: string; inventory: string }> {
  if (!Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > 1000) {
    throw new InputError(`--hosts must be a whole number from 1 to 1000, not ${String(o.hosts)}`, { field: '--hosts' });
  }
  if (!['ssh', 'winrm', 'both'].includes(o.transport)) {
    throw new InputError(`--transport must be ssh, winrm or both, not ${o.transport}`, { field: '--transport' });
  }
  if (o.faults) parseFaultSpec(o.faults, labHostNames(o.hosts), o.transport);
  if (o.auth !== undefined && o.auth !== 'ntlm' && o.auth !== 'kerberos') {
    throw new InputError(`--auth must be ntlm or kerberos, not ${String(o.auth)}`, { field: '--auth' });
  }
  if (o.auth === 'kerberos' && (o.transport === 'ssh' || o.winrmScheme === 'http')) {
    throw new InputError('--auth kerberos needs WinRM over https (--transport winrm or both, and not --winrm-scheme http)', { field: '--auth' });
  }
  if (o.cbtHardening !== undefined) {
    if (!['strict', 'relaxed', 'none'].includes(o.cbtHardening)) {
      throw new InputError(`--cbt-hardening must be strict, relaxed or none, not ${String(o.cbtHardening)}`, { field: '--cbt-hardening' });
    }
    if (o.auth !== 'kerberos') throw new InputError('--cbt-hardening applies to --auth kerberos only', { field: '--cbt-hardening' });
  }
  const inventory = resolve(o.inventory);
  if (existsSync(inventory) && (await labDirOfInventory(inventory)) === undefined) {
    throw new InputError('refusing to overwrite a file that `svcfleet lab up` did not write', { file: inventory });
  }
  const dir = resolve(o.dir ?? defaultLabDir(inventory));
  const running = readState(dir);
  if (running && alive(running.pid)) {
    throw new InputError(`a lab is already running in ${dir} (pid ${running.pid}); run \`svcfleet lab down\` first`, {
      file: inventory,
    });
  }
  return { dir, inventory };
}

/**
 * Runs a lab in this process until a signal (or `stop`, for tests) and tears it down. Resolves after teardown.
 * `onReady` receives the fleet once the inventory and state file are written.
 */
export async function runLabUp(o: LabUpOptions, hooks: { onReady?: (fleet: LabFleet) => void; stop?: Promise<void> } = {}): Promise<void> {
  const say = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const { dir, inventory } = await validateLabUp(o);
  const names = labHostNames(o.hosts);
  const faults = o.faults ? parseFaultSpec(o.faults, names, o.transport) : new Map();

  let signalled = false;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((r) => {
    wake = r;
  });
  const onSignal = (): void => {
    signalled = true;
    wake();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  void hooks.stop?.then(onSignal);

  let fleet: LabFleet | undefined;
  try {
    // A lab whose supervisor died (validateLabUp refused a live one) may have left processes: stop them first.
    const stale = readState(dir);
    if (stale) await stopRecorded(stale);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeState(dir, { format: 'svcfleet-lab', version: 1, pid: process.pid, ready: false, inventory, startedAt: new Date().toISOString(), hosts: [] });
    fleet = await startLabFleet({
      dir,
      hosts: o.hosts,
      transport: o.transport,
      faults,
      ...(o.winrmScheme ? { winrmScheme: o.winrmScheme } : {}),
      ...(o.auth ? { winrmAuth: o.auth } : {}),
      ...(o.cbtHardening ? { winrmCbtHardening: o.cbtHardening } : {}),
      onProgress: (m) => say(`lab: ${m}`),
    });
    await mkdir(dirname(inventory), { recursive: true });
    await writeFile(inventory, renderLabInventory(fleet, inventory));
    await writeState(dir, {
      format: 'svcfleet-lab',
      version: 1,
      pid: process.pid,
      ready: true,
      inventory,
      startedAt: new Date().toISOString(),
      hosts: fleet.hosts.map((h) => ({ name: h.name, stateDir: h.stateDir, ...(h.ssh?.sshdPid ? { sshdPid: h.ssh.sshdPid } : {}) })),
      ...(fleet.winrm?.kerberos ? { kdcPid: fleet.winrm.kerberos.kdcPid } : {}),
    });
    say(`lab: ${fleet.hosts.length} hosts up (${o.transport}); inventory ${inventory}`);
    const faulty = fleet.hosts.filter((h) => Object.keys(h.faults).length);
    if (faulty.length) say(`lab: faults on ${faulty.map((h) => h.name).join(', ')}`);
    say('lab: stop with `svcfleet lab down --inventory ' + inventory + '` or Ctrl-C');
    hooks.onReady?.(fleet);
    if (!signalled) await stopRequested;
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
    say('lab: stopping');
    await fleet?.stop();
    await removeLab(dir, inventory);
    say('lab: stopped');
  }
}

async function removeLab(dir: string, inventory: string): Promise<void> {
  if ((await labDirOfInventory(inventory)) !== undefined) await rm(inventory, { force: true });
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}.log`, { force: true });
  await rmdir(dirname(dir)).catch(() => undefined); // the `.lab` parent, when this was its only lab
}

/** The package's CLI launcher (bin/svcfleet.js), from src/lab/fleet or dist/lab/fleet alike. */
function cliLauncher(): string {
  return fileURLToPath(new URL('../../../bin/svcfleet.js', import.meta.url));
}

/**
 * `lab up --detach`: starts the supervisor as a detached `svcfleet lab up` (same options) logging to
 * `<lab dir>.log`, and returns once it reports ready (or fails with its log).
 */
export async function detachLabUp(o: LabUpOptions, timeoutMs = 300_000): Promise<LabState> {
  const { dir, inventory } = await validateLabUp(o);
  const args = [cliLauncher(), 'lab', 'up', '--hosts', String(o.hosts), '--transport', o.transport, '--inventory', inventory, '--dir', dir];
  if (o.faults) args.push('--faults', o.faults);
  if (o.winrmScheme) args.push('--winrm-scheme', o.winrmScheme);
  if (o.auth) args.push('--auth', o.auth);
  if (o.cbtHardening) args.push('--cbt-hardening', o.cbtHardening);
  await mkdir(dirname(dir), { recursive: true });
  const logFile = `${dir}.log`;
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  child.unref();
  const end = Date.now() + timeoutMs;
  for (;;) {
    const state = readState(dir);
    if (state?.ready && state.pid === child.pid) return state;
    if (exited !== undefined || Date.now() > end) {
      if (exited === undefined && child.pid) process.kill(-child.pid, 'SIGTERM');
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-15).join('\n');
      throw new Error(`the lab did not start${exited !== undefined ? ` (exit ${exited})` : ' in time'}; log ${logFile}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `lab down`: stop the lab named by an inventory (or a lab dir) and remove it. Returns what was done. */
export async function labDown(o: { inventory?: string; dir?: string; graceMs?: number }): Promise<string> {
  let dir = o.dir ? resolve(o.dir) : undefined;
  let inventory = o.inventory ? resolve(o.inventory) : undefined;
  if (!dir) {
    if (!inventory) throw new InputError('say which lab to stop: --inventory FILE or --dir DIR', { field: '--inventory' });
    if (!existsSync(inventory)) throw new InputError('no such inventory', { file: inventory });
    dir = await labDirOfInventory(inventory);
    if (!dir) throw new InputError('not an inventory written by `svcfleet lab up`', { file: inventory });
  }
  const state = readState(dir);
  if (!state) {
    if (inventory) await removeLab(dir, inventory);
    return `no lab running in ${dir}`;
  }
  inventory ??= state.inventory;
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    const end = Date.now() + (o.graceMs ?? 30_000);
    while (alive(state.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    if (!alive(state.pid)) {
      await removeLab(dir, inventory);
      return `lab in ${dir} stopped`;
    }
    process.kill(state.pid, 'SIGKILL');
  }
  await stopRecorded(state);
  await removeLab(dir, inventory);
  return `lab in ${dir} cleaned up (its supervisor ${state.pid} was gone)`;
}

/** Stops what a dead supervisor left running, from its state file. */
async function stopRecorded(state: LabState): Promise<void> {
  for (const h of state.hosts) {
    if (h.sshdPid && isSshd(h.sshdPid)) await stopSshdTree(h.sshdPid);
    await stopLabHost(h.stateDir).catch(() => undefined);
  }
  if (state.kdcPid && processName(state.kdcPid) === 'krb5kdc') process.kill(state.kdcPid, 'SIGKILL');
}

/** Guards against a recycled pid: only an sshd (or the lab's krb5kdc) is stopped. */
function isSshd(pid: number): boolean {
  return processName(pid) === 'sshd';
}

function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
