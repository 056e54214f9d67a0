/**
 * 'spawn' mode: one fresh `pwsh -NoProfile -NonInteractive -EncodedCommand ...` per call, exactly what a real host
 * does with `powershell.exe -EncodedCommand <b64>` and a redirected stdin, except that the emulated SCM module is
 * imported (and 5.1's legacy native-argument passing selected) before the decoded bootstrap runs.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { pwshBinary } from '../../transport/pwsh/locate.js';
import { withoutStartupJitProfile } from '../../transport/pwsh/startup-profile.js';
import type { ExecOptions, ExecResult, Invocation } from '../../transport/types.js';
import { TransportError } from '../../transport/types.js';
import { labScmFiles } from '../scm/state.js';

export type NativeArgumentPassing = 'Legacy' | 'Standard';

/** PowerShell single-quoted literal. */
export function psQuote(s: string): string {
  return `'${s.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/**
 * The bootstrap with the lab prelude in front of it. A `using` or `param` statement must come first in a script,
 * so a bootstrap that starts with one cannot be prefixed: refuse it clearly rather than run it differently.
 */
export function labScript(bootstrap: string, nativeArgs: NativeArgumentPassing): string {
  if (/^\s*(using|param)\b/i.test(bootstrap.replace(/^(\s*#[^\n]*\n)*/, ''))) {
    throw new TransportError('remote-failed', 'command', 'svcfleet lab: a bootstrap that starts with `using` or `param` cannot run in the lab runner');
  }
  return (
    `$PSNativeCommandArgumentPassing = ${psQuote(nativeArgs)}; $PSStyle.OutputRendering = 'PlainText'; ` +
    `. ${psQuote(labScmFiles.wrappers)}; Import-Module -Name ${psQuote(labScmFiles.module)} -DisableNameChecking\n` +
    bootstrap
  );
}

export function decodeBootstrap(invocation: Invocation): string {
  return Buffer.from(invocation.encodedCommand, 'base64').toString('utf16le');
}

/** Environment for a pwsh that runs against `stateDir` (services it starts inherit it). */
export function labEnv(stateDir: string): NodeJS.ProcessEnv {
  // Emulated hosts start their pwsh side by side: without the shared startup JIT profile they would tear.
  return withoutStartupJitProfile({ ...process.env, SVCFLEET_LAB_STATE: stateDir, SVCFLEET_LAB_NODE: process.execPath, NO_COLOR: '1', TERM: 'dumb' });
}

export function runSpawned(stateDir: string, invocation: Invocation, options: ExecOptions, nativeArgs: NativeArgumentPassing): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new TransportError('aborted', 'command', 'aborted before start'));
      return;
    }
    let script: string;
    try {
      script = labScript(decodeBootstrap(invocation), nativeArgs);
    } catch (err) {
      reject(err);
      return;
    }
    const encoded = Buffer.from(script, 'utf16le').toString('base64');
    // detached: pwsh leads its own process group, so an abort kills it and anything it spawned in that group
    // (services it starts move to their own session with setsid and survive, as on Windows).
    const child = spawn(pwshBinary(), ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encoded], {
      env: labEnv(stateDir),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    let stdout = '';
    let stderr = '';
    let settled = false;
    let killedFor: 'timeout' | 'aborted' | null = null;
    const kill = (why: 'timeout' | 'aborted') => {
      if (killedFor || child.exitCode !== null) return;
      killedFor = why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill('timeout'), options.commandMs);
    const onAbort = () => kill('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => {
      const s = out.write(b);
      stdout += s;
      if (s) options.onStdout?.(s);
    });
    child.stderr.on('data', (b: Buffer) => {
      const s = err.write(b);
      stderr += s;
      if (s) options.onStderr?.(s);
    });
    child.stdin.on('error', () => {
      /* pwsh exited before reading all of stdin: its exit status tells */
    });
    child.stdin.end(invocation.stdin);
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    child.on('error', (e) => finish(() => reject(new TransportError('remote-failed', 'command', `cannot start pwsh: ${e.message}`, { cause: e }))));
    child.on('close', (code) => {
      const tailOut = out.end();
      const tailErr = err.end();
      stdout += tailOut;
      stderr += tailErr;
      if (tailOut) options.onStdout?.(tailOut);
      if (tailErr) options.onStderr?.(tailErr);
      finish(() => {
        if (killedFor === 'timeout') reject(new TransportError('timeout', 'command', `command exceeded ${options.commandMs} ms`));
        else if (killedFor === 'aborted') reject(new TransportError('aborted', 'command', 'aborted'));
        else resolve({ exitCode: code, stdout, stderr });
      });
    });
  });
}
