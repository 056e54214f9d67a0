/**
 * The benchmark's lab side, in its own process so that none of its CPU is counted as the controller's:
 * N hosts, each with a real sshd (one process per host) and a lab WS-Management listener (in this process).
 *
 * RESPONDER MODE — these hosts do NOT run the emulated SCM or PowerShell. Whatever request arrives (the real
 * bootstrap and payload, over the real protocols), they answer with one canned result frame for the request's
 * nonce. That isolates what the benchmark measures: the controller's transport cost per host.
 *
 * Prints one JSON line describing the fleet on stdout, then serves until SIGTERM/SIGINT or stdin closes.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabFleet } from '../../src/lab/fleet/fleet.js';
import type { LabIo } from '../../src/lab/winrm/executor.js';

/** The canned frame, as the remote engine would frame a result (src/remote/frames.ts). */
function cannedFrame(nonce: string, op: string): string {
  const result = { kind: 'result', op, outcome: 'unchanged', reason: { code: 'ok' }, message: 'canned answer from the benchmark responder' };
  return `<<svcfleet:${nonce}:${Buffer.from(JSON.stringify(result)).toString('base64')}>>\n`;
}

/** The ssh side's "powershell.exe": read the one payload line, answer the canned frame. */
const SSH_RESPONDER = `#!/bin/sh
# svcfleet transport benchmark RESPONDER (not the emulated SCM): answers every request with a canned result frame.
line=$(head -n 1)
nonce=$(printf '%s' "$line" | sed -n 's/.*"nonce":"\\([A-Za-z0-9_-]*\\)".*/\\1/p')
op=$(printf '%s' "$line" | sed -n 's/.*"op":"\\([a-z]*\\)".*/\\1/p')
frame=$(printf '{"kind":"result","op":"%s","outcome":"unchanged","reason":{"code":"ok"},"message":"canned answer from the benchmark responder"}' "$op" | base64 -w0)
printf '<<svcfleet:%s:%s>>\\n' "$nonce" "$frame"
`;

async function winrmResponder(_invocation: { encodedCommand: string; stdin: Buffer }, io: LabIo): Promise<number> {
  const line = (await io.stdin).toString('utf8').split('\n', 1)[0] ?? '';
  const payload = JSON.parse(line) as { request: { nonce: string; op: string } };
  io.stdout(cannedFrame(payload.request.nonce, payload.request.op));
  return 0;
}

async function main(): Promise<void> {
  const hostsArg = process.argv.indexOf('--hosts');
  const hosts = hostsArg > 0 ? Number(process.argv[hostsArg + 1]) : 200;
  const dir = await mkdtemp(join(tmpdir(), 'svcfleet-bench-lab-'));
  const shim = join(dir, 'responder.sh');
  await writeFile(shim, SSH_RESPONDER);
  await chmod(shim, 0o755);
  const fleet = await startLabFleet({
    dir,
    hosts,
    transport: 'both',
    winrmScheme: 'http', // the untouched-Windows default: NTLM with message encryption
    emulation: { kind: 'responder', sshShim: shim, winrmPowerShell: winrmResponder },
    startConcurrency: 16,
  });
  const description = {
    dir,
    ssh: { user: fleet.ssh!.user, knownHostsFile: fleet.ssh!.knownHostsFile, identityFile: fleet.ssh!.clientKey.privatePath },
    winrm: { user: fleet.winrm!.user, passwordFile: fleet.winrm!.passwordFile, scheme: fleet.winrm!.scheme },
    hosts: fleet.hosts.map((h) => ({ name: h.name, address: h.address, sshPort: h.ssh!.port, winrmPort: h.winrm!.port })),
  };
  process.stdout.write(`${JSON.stringify(description)}\n`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench lab server: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
