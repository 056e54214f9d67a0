/**
 * The one command line sent to a Windows host over SSH. Win32-OpenSSH runs exec requests through cmd.exe by
 * default (docs/reference/ssh.md#default-shell): the line must survive cmd.exe and stay short. The bootstrap travels as
 * -EncodedCommand (base64: no cmd metacharacters, no quoting) and the request on stdin, so neither cmd's
 * 8191-character limit nor its quoting rules ever apply to the payload. The same line is valid when the host's
 * DefaultShell is powershell or pwsh.
 */
import { POWERSHELL_ARGS, TransportError } from '../types.js';

export type RemoteShell = 'powershell.exe' | 'pwsh';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function powershellCommandLine(shell: RemoteShell, encodedCommand: string): string {
  // The bootstrap is ours, but it still lands on a command line: refuse anything that is not plain base64.
  if (!BASE64.test(encodedCommand)) {
    throw new TransportError('protocol', 'command', 'refusing an -EncodedCommand that is not base64');
  }
  return [shell, ...POWERSHELL_ARGS, '-EncodedCommand', encodedCommand].join(' ');
}
