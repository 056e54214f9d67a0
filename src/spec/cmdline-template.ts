/**
 * `{{ var }}` inside a Windows command line (a service's binaryPath, a failure command) stays ONE argument.
 *
 * The template is first rendered with a marker in place of each value, and the marker line is split the way
 * Windows splits it (CreateProcess for the executable, CommandLineToArgvW for the arguments, see
 * util/windows-cmdline.ts). Then each value goes in according to where its marker stands:
 *   - a double quote in a value is refused wherever it stands (escaped as \" it would still be read back
 *     differently by programs that do not parse like CommandLineToArgvW);
 *   - alone as an argument (`--config {{ cfg }}`): quoted with the Windows rules when it needs it, so spaces
 *     and backslashes stay inside that one argument;
 *   - alone as the executable: wrapped in double quotes when it has spaces;
 *   - inside double quotes (`"C:\ProgramData\{{ site }}.yaml"`): a trailing backslash right before the closing
 *     quote is refused (it would escape it);
 *   - part of an unquoted argument (`--name={{ v }}`): whitespace is refused.
 * Refusals name the variable and the host (render.ts adds file, line and field); the value is never echoed.
 * Characters that are quotes only to other parsers (‘’“”) are ordinary characters on a Windows command line.
 */
import { quoteWindowsArg } from '../util/windows-cmdline.js';
import { renderTemplate, TemplateError, type RenderContext } from './template.js';

const OPEN = '\uE000';
const CLOSE = '\uE001';
const MARKER = /\uE000(\d+)\uE001/y;

interface Slot {
  index: number;
  /** Argument number (0 = the executable). */
  token: number;
  quoted: boolean;
  alone: boolean;
  /** The character right after the marker ('' at the end). */
  next: string;
}

/** Render `text` as a command line; each inserted value stays within its one argument, or TemplateError. */
export function renderCommandLine(text: string, ctx: RenderContext, check?: (name: string, value: string) => void): string {
  if (text.includes(OPEN) || text.includes(CLOSE)) throw new TemplateError('the command line contains the private-use characters U+E000/U+E001');
  const values: Array<{ name: string; value: string }> = [];
  const skeleton = renderTemplate(text, ctx, check, (value, name) => {
    values.push({ name, value });
    return `${OPEN}${values.length - 1}${CLOSE}`;
  });
  if (values.length === 0) return skeleton;
  const slots = new Map(markerSlots(skeleton).map((s) => [s.index, s]));
  return skeleton.replace(/\uE000(\d+)\uE001/g, (_m, k: string) => place(values[Number(k)]!, slots.get(Number(k))!, ctx.host));
}

function place({ name, value }: { name: string; value: string }, slot: Slot, host: string): string {
  const who = `variable ${name} of host ${host}`;
  const quote = value.includes('"');
  const space = /[ \t]/.test(value);
  if (quote) {
    // Even escaped (\"), a quote is read back differently by programs that do not parse like CommandLineToArgvW
    // (cmd.exe, custom parsers): refused everywhere rather than trusted to one parser.
    throw new TemplateError(`${who} contains a double quote, which would change how the command line is split`);
  }
  if (slot.alone) {
    if (slot.token > 0) return quoteWindowsArg(value);
    return space || value === '' ? `"${value}"` : value;
  }
  if (space && !slot.quoted) {
    throw new TemplateError(
      slot.token === 0
        ? `${who} puts whitespace into the unquoted executable path (CWE-428: Windows would try each space-separated prefix as a program); quote the executable`
        : `${who} contains whitespace, which would split its argument; put {{ ${name} }} alone as an argument (it is then quoted) or inside double quotes`,
    );
  }
  if (slot.token > 0 && value.endsWith('\\') && slot.next === '"') {
    throw new TemplateError(`${who} ends with a backslash right before a double quote, which would escape the quote and change how the command line is split`);
  }
  return value;
}

/** Where each marker stands, splitting like CreateProcess (executable) and CommandLineToArgvW (arguments). */
function markerSlots(line: string): Slot[] {
  const out: Slot[] = [];
  const n = line.length;
  let i = 0;
  for (let token = 0; ; token++) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) return out;
    const start = i;
    const here: Slot[] = [];
    let inQuotes = false;
    while (i < n) {
      const c = line[i]!;
      if ((c === ' ' || c === '\t') && !inQuotes) break;
      if (c === OPEN) {
        MARKER.lastIndex = i;
        const m = MARKER.exec(line)!;
        i += m[0].length;
        here.push({ index: Number(m[1]), token, quoted: inQuotes, alone: false, next: line[i] ?? '' });
        continue;
      }
      if (c === '\\' && token > 0) {
        let bs = 0;
        while (i < n && line[i] === '\\') {
          bs++;
          i++;
        }
        if (i < n && line[i] === '"' && bs % 2 === 1) i++; // \" is a literal quote
        continue;
      }
      if (c === '"') {
        if (token > 0 && inQuotes && line[i + 1] === '"')
          i += 2; // "" inside quotes: a literal quote
        else {
          inQuotes = !inQuotes;
          i++;
        }
        continue;
      }
      i++;
    }
    if (here.length === 1 && line.slice(start, i) === `${OPEN}${here[0]!.index}${CLOSE}`) here[0]!.alone = true;
    out.push(...here);
  }
}
