/**
 * Windows command lines: how a service's binary path splits into an executable and the arguments its program
 * sees (CommandLineToArgvW, CreateProcess). Used by the plan's display (argument deltas) and by the lab; the
 * emulated SCM has the same rules in PowerShell (src/lab/scm/parts/Process.ps1, Native.ps1), and both sides are
 * tested against test/lab/scm/fixtures/cmdline-vectors.json.
 */

/**
 * CommandLineToArgvW rules for the arguments after argv[0]: whitespace separates; 2n backslashes + quote give n
 * backslashes and toggle quoting; 2n+1 backslashes + quote give n backslashes and a literal quote; other
 * backslashes are literal; inside quotes, "" is a literal quote.
 */
export function splitWindowsArgs(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n) break;
    let arg = '';
    let inQuotes = false;
    while (i < n) {
      const c = text[i]!;
      if ((c === ' ' || c === '\t') && !inQuotes) break;
      if (c === '\\') {
        let bs = 0;
        while (i < n && text[i] === '\\') {
          bs++;
          i++;
        }
        if (i < n && text[i] === '"') {
          arg += '\\'.repeat(Math.floor(bs / 2));
          if (bs % 2 === 1) {
            arg += '"';
            i++;
          }
        } else {
          arg += '\\'.repeat(bs);
        }
        continue;
      }
      if (c === '"') {
        if (inQuotes && text[i + 1] === '"') {
          arg += '"';
          i += 2;
          continue;
        }
        inQuotes = !inQuotes;
        i++;
        continue;
      }
      arg += c;
      i++;
    }
    out.push(arg);
  }
  return out;
}

/**
 * One argument quoted so that splitWindowsArgs (CommandLineToArgvW) gives it back unchanged: left alone when it
 * has no space, tab or double quote (and is not empty); otherwise in double quotes, with backslashes doubled
 * where they precede a quote (or the closing quote) and each quote escaped as \".
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[ \t"]/.test(arg)) return arg;
  let out = '"';
  let bs = 0;
  for (const c of arg) {
    if (c === '\\') {
      bs++;
      continue;
    }
    out += c === '"' ? '\\'.repeat(bs * 2 + 1) + '"' : '\\'.repeat(bs) + c;
    bs = 0;
  }
  return `${out}${'\\'.repeat(bs * 2)}"`;
}

export interface ResolvedImage {
  /** The installed file that CreateProcess would run. */
  exe: string;
  /** What the program's own runtime parses as its arguments (argv[1..]). */
  args: string[];
}

function sameWindowsPath(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The executable of a binary path, found the way CreateProcess does (docs/reference/windows-cmdline.md#unquoted-service-paths-cwe-428, CWE-428): a quoted exe ends
 * at the closing quote; an unquoted path with spaces is tried prefix by prefix ("C:\Program.exe",
 * "C:\Program Files\A.exe", ...) with ".exe" appended when the candidate has no extension. Returns null when no
 * candidate is one of `installedFiles` (StartService then fails with ERROR_FILE_NOT_FOUND, 2).
 */
export function resolveImage(commandLine: string, installedFiles: readonly string[]): ResolvedImage | null {
  const line = commandLine.replace(/^[ \t]+/, '');
  const isInstalled = (p: string) => installedFiles.some((f) => sameWindowsPath(f, p));
  if (line.startsWith('"')) {
    const end = line.indexOf('"', 1);
    const exe = end < 0 ? line.slice(1) : line.slice(1, end);
    const rest = end < 0 ? '' : line.slice(end + 1);
    return isInstalled(exe) ? { exe, args: splitWindowsArgs(rest) } : null;
  }
  const parts = line.split(/[ \t]+/);
  const all = splitWindowsArgs(line);
  for (let k = 1; k <= parts.length; k++) {
    let cand = parts.slice(0, k).join(' ');
    const leaf = cand.split('\\').pop() ?? '';
    if (!/\.[^.]*$/.test(leaf)) cand += '.exe';
    if (isInstalled(cand)) return { exe: cand, args: all.slice(1) };
  }
  return null;
}

/** The executable part of a binary path as written (for registering it as an installed file). */
export function imageOf(commandLine: string): string {
  const line = commandLine.replace(/^[ \t]+/, '');
  if (line.startsWith('"')) {
    const end = line.indexOf('"', 1);
    return end < 0 ? line.slice(1) : line.slice(1, end);
  }
  // Unquoted: up to the first ".exe" (what tools that detect CWE-428 do, docs/reference/windows-cmdline.md#unquoted-service-paths-cwe-428), else the first token.
  const m = /^(.*?\.exe)(?=$|[ \t])/i.exec(line);
  return m ? m[1]! : (line.split(/[ \t]+/)[0] ?? '');
}
