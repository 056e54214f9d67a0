/**
 * Static checks of a service image path (binaryPath), the way the remote engine splits it (ps-scripts/engine/
 * Split-ImagePath, after CreateProcess): a leading `"` quotes the executable up to the next `"`; an unquoted path
 * whose part up to the first `.exe` holds whitespace is the unquoted-service-path weakness (CWE-428,
 * docs/reference/windows-cmdline.md#unquoted-service-paths-cwe-428): Windows would try `C:\Program.exe` first. svcfleet refuses to write such a path.
 */

/** Why `path` must not be written as a service image path, or undefined when it is fine. */
export function binaryPathProblem(path: string): string | undefined {
  const p = path.replace(/^[ \t]+/, '');
  if (p === '') return 'binaryPath is empty';
  if (/[\0\r\n]/.test(p)) return 'binaryPath contains a NUL or line break';
  if (p.startsWith('"')) {
    const end = p.indexOf('"', 1);
    if (end < 0) return 'binaryPath opens a quote (") that it never closes';
    if (end === 1) return 'binaryPath starts with an empty quoted executable ("")';
    return undefined;
  }
  if (p.startsWith("'")) {
    return 'single quotes do not quote a path on Windows; quote the executable with double quotes: \'"C:\\Program Files\\App\\app.exe" --flag\'';
  }
  const m = /^(.*?\.exe)(?=$|[ \t])/i.exec(p);
  if (m && /\s/.test(m[1]!)) {
    return `the executable path ${JSON.stringify(m[1])} has spaces but no quotes (CWE-428: Windows would try each space-separated prefix as a program); write it as '"${m[1]}"${p.slice(m[1]!.length)}'`;
  }
  return undefined;
}
