/**
 * Runs the real remote engine against emulated Windows hosts (src/lab): one warm pwsh pool per native-argument
 * mode, shared by a test file, and helpers to read the emulated SCM's own record of a service (independently of
 * what the engine reports).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initLabHost, readLabHost, stopLabHost, type InitLabHostOptions, type LabServiceRecord } from '../../src/lab/host.js';
import { createLabRunner, type LabRunner } from '../../src/lab/runner/index.js';
import { newNonce, type OutgoingRequest } from '../../src/remote/invocation.js';
import type { RemoteEvent, RemoteRequest, RemoteResult } from '../../src/remote/protocol.js';
import { runRemoteDetailed } from '../../src/remote/run.js';
import { createLocalTransport } from '../../src/lab/transport/index.js';
import type { ExecResult, Session } from '../../src/transport/types.js';
import { reservePorts } from '../../src/lab/fleet/ports.js';

/** A lab port claimed outside the ephemeral range, so no outgoing connection takes it before the service binds. */
export async function freePort(): Promise<number> {
  return (await reservePorts(1))[0]!;
}

export async function httpGet(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.text();
}

export interface RigRun {
  result: RemoteResult;
  events: RemoteEvent[];
  exitCode: number | null;
  /** Everything the engine wrote (stdout + stderr), to prove what it never writes. */
  raw: string;
}

export type RigRequest = Omit<OutgoingRequest, 'v' | 'nonce' | 'runId'> & { runId?: string };

let runIds = 0;

export class LabRig {
  readonly raws: string[] = [];
  /**
   * When set, every call reports this process exit code instead of the real one: what OpenSSH with DefaultShell
   * powershell.exe does (any non-zero exit becomes 1; PowerShell #13501, docs/reference/powershell.md).
   */
  forcedExitCode: number | null = null;
  private constructor(
    readonly stateDir: string,
    private readonly session: Session,
  ) {}

  static async create(runner: LabRunner, options: Omit<InitLabHostOptions, 'stateDir'>): Promise<LabRig> {
    const stateDir = mkdtempSync(join(tmpdir(), 'svcfleet-rig-'));
    let session: Session;
    try {
      await initLabHost({ ...options, stateDir });
      const transport = createLocalTransport({ labRunner: runner });
      session = await transport.open(
        'lab',
        { transport: 'local', address: '127.0.0.1', local: { stateDir } },
        { deadlines: { connectMs: 5000, authMs: 5000, commandMs: 180_000 } },
      );
    } catch (err) {
      // No rig to close(): stop what initLabHost started and remove the host here.
      await stopLabHost(stateDir).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
      throw err;
    }
    // Keep every byte the engine wrote.
    const recording: Session = {
      exec: async (inv, opts) => {
        const r: ExecResult = await session.exec(inv, opts);
        rig.raws.push(r.stdout + r.stderr);
        return rig.forcedExitCode === null ? r : { ...r, exitCode: rig.forcedExitCode };
      },
      close: () => session.close(),
    };
    const rig = new LabRig(stateDir, recording);
    return rig;
  }

  async run(request: RigRequest): Promise<RigRun> {
    const full = { v: 1, nonce: newNonce(), runId: request.runId ?? `run-${++runIds}`, ...request } as OutgoingRequest;
    const before = this.raws.length;
    const r = await runRemoteDetailed(this.session, full, { host: 'lab', commandMs: 180_000 });
    return { result: r.result, events: r.events, exitCode: r.exitCode, raw: this.raws.slice(before).join('') };
  }

  /** Recovery actions the emulated SCM fired on its own (statuses refreshed). */
  recoveryFired(): NonNullable<ReturnType<typeof readLabHost>['recoveryFired']> {
    return readLabHost(this.stateDir).recoveryFired ?? [];
  }

  /** The emulated SCM's own record (statuses refreshed). */
  service(name: string): LabServiceRecord {
    const s = readLabHost(this.stateDir).services[name];
    if (!s) throw new Error(`no service ${name} on the emulated host`);
    return s;
  }

  /**
   * A REG_BINARY value of a service key as the (emulated) registry serves it, read by a separate PowerShell call,
   * independently of the engine.
   */
  async registryBinary(service: string, value: string): Promise<Buffer> {
    if (!/^[A-Za-z0-9_-]+$/.test(service + value)) throw new Error('registryBinary: plain names only');
    const script = `$v = Get-ItemPropertyValue -LiteralPath 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\${service}' -Name '${value}'; [Console]::Out.WriteLine('@@' + [Convert]::ToBase64String([byte[]]$v)); exit 0`;
    const r = await this.session.exec({ encodedCommand: Buffer.from(script, 'utf16le').toString('base64'), stdin: Buffer.alloc(0) }, { commandMs: 60_000 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('@@'));
    if (!line) throw new Error(`registryBinary: no value (exit ${r.exitCode}): ${r.stdout}${r.stderr}`);
    return Buffer.from(line.slice(2).trim(), 'base64');
  }

  /** Run a PowerShell script on the emulated host, beside the engine (e.g. sc.exe calls); -> its stdout. */
  async exec(script: string): Promise<string> {
    const r = await this.session.exec(
      { encodedCommand: Buffer.from(`${script}\nexit 0`, 'utf16le').toString('base64'), stdin: Buffer.alloc(0) },
      { commandMs: 60_000 },
    );
    return r.stdout;
  }

  /** The emulated host's local accounts (password hashes and "Log on as a service"). */
  accounts(): Record<string, { passwordSha256: string; serviceLogonRight?: boolean }> {
    return readLabHost(this.stateDir).accounts;
  }

  acls(): Record<string, unknown> {
    return readLabHost(this.stateDir).acls;
  }

  async close(): Promise<void> {
    await this.session.close();
    await stopLabHost(this.stateDir);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/**
 * Two warm pwsh workers, each used by one call at a time. (Built from two single-worker lab pools and a free
 * list rather than one pool of two: see the report about LabPool.acquire handing one idle worker to two callers.)
 */
export function pool(nativeArgs: 'Legacy' | 'Standard' = 'Legacy', size = 2): LabRunner {
  const runners = Array.from({ length: size }, () => createLabRunner({ mode: 'pool', size: 1, nativeArgs }));
  const free = [...runners];
  const waiting: Array<(r: LabRunner) => void> = [];
  const take = (): Promise<LabRunner> => {
    const r = free.pop();
    return r ? Promise.resolve(r) : new Promise((resolve) => waiting.push(resolve));
  };
  const give = (r: LabRunner): void => {
    const next = waiting.shift();
    if (next) next(r);
    else free.push(r);
  };
  return {
    mode: 'pool',
    async run(stateDir, invocation, options) {
      const r = await take();
      try {
        return await r.run(stateDir, invocation, options);
      } finally {
        give(r);
      }
    },
    warm: async () => {
      await Promise.all(runners.map((r) => r.warm()));
    },
    close: async () => {
      await Promise.all(runners.map((r) => r.close()));
    },
  };
}

export type { RemoteRequest };
