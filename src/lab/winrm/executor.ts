/**
 * What the lab WinRM server runs when a client sends a Command. WinRS joins Command and Arguments into one
 * command line and, unless WINRS_SKIP_CMD_SHELL is TRUE, runs it through `cmd.exe /c`. We emulate just that:
 *
 * - the command-line limits: 8191 characters through cmd.exe ("The command line is too long."), 32767 for
 *   CreateProcess — so a test can show which requests would break a real host;
 * - `powershell.exe` / `powershell` / `pwsh` with -EncodedCommand → a PowerShell handler (the lab runner with
 *   the emulated SCM), given the full stdin;
 * - a few cmd builtins (`echo`, `exit`, `hostname`, `whoami`, `ver`, `ipconfig`, `cmd /c ...`, `&&`, `&`,
 *   `>&2`) so that generic clients such as pywinrm's run_cmd have something real to run.
 */

export interface LabCommandLine {
  command: string;
  args: string[];
  /** WINRS_SKIP_CMD_SHELL=TRUE: started directly, not through cmd.exe. */
  skipCmdShell: boolean;
}

export interface LabIo {
  /** All of stdin, once the client sent End=true (or never will). */
  stdin: Promise<Buffer>;
  signal: AbortSignal;
  stdout(data: Buffer | string): void;
  stderr(data: Buffer | string): void;
}

/** Runs one command; resolves to its exit code. */
export interface LabExecutor {
  /** Throws LabStartError when the command could not even be started (the Command request then faults). */
  validate?(cmd: LabCommandLine): void;
  run(cmd: LabCommandLine, io: LabIo): Promise<number>;
}

/** Runs `powershell.exe -EncodedCommand <b64>` with the given stdin; resolves to the exit code. */
export type PowerShellHandler = (invocation: { encodedCommand: string; stdin: Buffer }, io: LabIo) => Promise<number>;

export interface HostIdentity {
  computerName: string;
  user: string;
}

export const CMD_LINE_LIMIT = 8191;
/** Exit code of a Windows process ended by Ctrl+C (0xC000013A), as WinRS reports it. */
export const STATUS_CONTROL_C_EXIT = 0xc000013a;
export const CREATE_PROCESS_LIMIT = 32767;

/** Raised when the command cannot even start (WinRS answers the Command request with a fault). */
export class LabStartError extends Error {
  override readonly name = 'LabStartError';
}

/** Split a Windows command line the way CommandLineToArgvW does for the simple cases (quotes, no escapes). */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (const ch of line) {
    if (ch === '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any) out.push(cur);
  return out;
}

const POWERSHELL_EXE = /^(?:.*[\\/])?(?:powershell|pwsh)(?:\.exe)?$/i;

/** If `argv` is a PowerShell invocation, its -EncodedCommand value (PowerShell accepts any prefix down to -e). */
export function encodedCommandOf(argv: string[]): string | undefined | null {
  if (!argv[0] || !POWERSHELL_EXE.test(argv[0])) return null; // not PowerShell
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!.toLowerCase();
    if (/^[-/]e(?:c|n|nc|nco|ncod|ncode|ncoded|ncodedc|ncodedco|ncodedcom|ncodedcomm|ncodedcomma|ncodedcomman|ncodedcommand)?$/.test(a)) {
      return argv[i + 1];
    }
  }
  return undefined; // PowerShell, but without -EncodedCommand
}

export function createLabExecutor(o: { identity: HostIdentity; powershell?: PowerShellHandler }): LabExecutor {
  const runPowerShell = async (argv: string[], io: LabIo): Promise<number> => {
    const encoded = encodedCommandOf(argv);
    if (!encoded) {
      io.stderr('lab WinRM host: PowerShell runs only with -EncodedCommand here\r\n');
      return 1;
    }
    if (!o.powershell) {
      io.stderr('lab WinRM host: no PowerShell runner configured for this host\r\n');
      return 1;
    }
    const stdin = await io.stdin;
    // Signalled (ctrl_c / terminate) before its input was complete: the process never gets to run.
    if (io.signal.aborted) return STATUS_CONTROL_C_EXIT;
    return o.powershell({ encodedCommand: encoded, stdin }, io);
  };

  const runCmdLine = async (line: string, io: LabIo): Promise<number> => {
    let code = 0;
    for (const { op, text } of splitChain(line)) {
      if ((op === '&&' && code !== 0) || (op === '||' && code === 0)) continue;
      if (io.signal.aborted) return 1;
      const r = await runSegment(text.trimStart(), io);
      if (r.exit) return r.code;
      code = r.code;
    }
    return code;
  };

  const runSegment = async (segment: string, io: LabIo): Promise<{ code: number; exit?: boolean }> => {
    // cmd removes a redirection wherever it stands and keeps the other blanks: `echo err>&2 ` prints "err ".
    const toStderr = /(?:^|[^\d>])1?>&2/.test(segment);
    const s = segment.replace(/1?>&2/g, '');
    const write = (t: string): void => (toStderr ? io.stderr(t) : io.stdout(t));
    const argv = splitCommandLine(s);
    const verb = (argv[0] ?? '').toLowerCase();
    if (verb === '') return { code: 0 };
    if (encodedCommandOf(argv) !== null) return { code: await runPowerShell(argv, io) };
    if (verb === 'echo' || verb === 'echo.' || s.toLowerCase().startsWith('echo.')) {
      const text = s.slice(verb.startsWith('echo.') ? 5 : 4).replace(/^\s/, '');
      write((verb === 'echo' && text.trim() === '' ? 'ECHO is on.' : text) + '\r\n');
      return { code: 0 };
    }
    if (verb === 'exit') {
      const n = argv.filter((a) => a.toLowerCase() !== '/b')[1];
      return { code: n !== undefined && /^-?\d+$/.test(n) ? Number(n) : 0, exit: true };
    }
    if (verb === 'cmd' || verb === 'cmd.exe') {
      if (s.trim().length > CMD_LINE_LIMIT) {
        io.stderr('The command line is too long.\r\n');
        return { code: 1 };
      }
      const m = /^\s*cmd(?:\.exe)?\s+\/[ck]\s+(.*)$/is.exec(s);
      if (!m) return { code: 0 };
      return { code: await runCmdLine(stripOuterQuotes(m[1]!), io) };
    }
    if (verb === 'hostname') {
      write(`${o.identity.computerName}\r\n`);
      return { code: 0 };
    }
    if (verb === 'whoami') {
      write(`${o.identity.computerName.toLowerCase()}\\${o.identity.user.toLowerCase()}\r\n`);
      return { code: 0 };
    }
    if (verb === 'ver') {
      write('\r\nMicrosoft Windows [Version 10.0.17763.1]\r\n');
      return { code: 0 };
    }
    if (verb === 'ipconfig') {
      write(
        '\r\nWindows IP Configuration\r\n\r\n\r\nEthernet adapter Ethernet:\r\n\r\n' +
          '   Connection-specific DNS Suffix  . : lab\r\n   IPv4 Address. . . . . . . . . . . : 127.0.0.1\r\n' +
          '   Subnet Mask . . . . . . . . . . . : 255.0.0.0\r\n   Default Gateway . . . . . . . . . : \r\n',
      );
      return { code: 0 };
    }
    io.stderr(`'${argv[0]}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`);
    return { code: 9009 };
  };

  return {
    validate(cmd: LabCommandLine): void {
      if (!cmd.skipCmdShell) return; // cmd.exe itself always starts; its own errors go to stderr
      const line = [cmd.command, ...cmd.args].join(' ');
      if (line.length > CREATE_PROCESS_LIMIT) throw new LabStartError('The filename or extension is too long.');
      const argv = splitCommandLine(line);
      if (encodedCommandOf(argv) === null && !/^(?:cmd|cmd\.exe)$/i.test(argv[0] ?? '')) {
        throw new LabStartError('The system cannot find the file specified.');
      }
    },
    async run(cmd: LabCommandLine, io: LabIo): Promise<number> {
      const line = [cmd.command, ...cmd.args].join(' ');
      if (cmd.skipCmdShell) {
        const argv = splitCommandLine(line);
        if (encodedCommandOf(argv) !== null) return runPowerShell(argv, io);
        return runCmdLine(line, io);
      }
      if (line.length > CMD_LINE_LIMIT) {
        io.stderr('The command line is too long.\r\n');
        return 1;
      }
      return runCmdLine(line, io);
    },
  };
}

function stripOuterQuotes(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : s;
}

/** Split on cmd's command separators outside quotes: `&&`, `||`, `&`. */
function splitChain(line: string): { op: '' | '&' | '&&' | '||'; text: string }[] {
  const out: { op: '' | '&' | '&&' | '||'; text: string }[] = [];
  let op: '' | '&' | '&&' | '||' = '';
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"') quoted = !quoted;
    const two = line.slice(i, i + 2);
    if (!quoted && (two === '&&' || two === '||')) {
      out.push({ op, text: cur });
      op = two;
      cur = '';
      i++;
    } else if (!quoted && ch === '&' && line[i - 1] !== '>') {
      out.push({ op, text: cur });
      op = '&';
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push({ op, text: cur });
  return out;
}
