/**
 * POSIX shell-like splitting with `#` comments, as Python's `shlex.split(line, comments=True)` does it: Ansible
 * splits INI host lines this way (`web01 ansible_host=10.0.0.1 motd="hello world" # note`).
 *
 * Single quotes keep everything; inside double quotes a backslash escapes only `"` and `\`; outside quotes a
 * backslash escapes any character; `#` at any unquoted position starts a comment. A missing closing quote is
 * an error (Python raises ValueError("No closing quotation")).
 */
export class ShlexError extends Error {}

const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

export function shlexSplit(line: string): string[] {
  const out: string[] = [];
  let token = '';
  let inToken = false; // true once a token has started, even an empty quoted one ('')
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (WHITESPACE.has(ch)) {
      if (inToken) out.push(token);
      token = '';
      inToken = false;
      i++;
      continue;
    }
    if (ch === '#') break;
    if (ch === '\\') {
      if (i + 1 >= line.length) throw new ShlexError('No escaped character');
      token += line[i + 1];
      inToken = true;
      i += 2;
      continue;
    }
    if (ch === "'" || ch === '"') {
      inToken = true;
      i++;
      for (;;) {
        if (i >= line.length) throw new ShlexError('No closing quotation');
        const c = line[i]!;
        if (c === ch) {
          i++;
          break;
        }
        if (ch === '"' && c === '\\' && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          token += line[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"' && c === '\\' && i + 1 >= line.length) throw new ShlexError('No escaped character');
        token += c;
        i++;
      }
      continue;
    }
    token += ch;
    inToken = true;
    i++;
  }
  if (inToken) out.push(token);
  return out;
}
