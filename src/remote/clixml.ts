/**
 * Decodes what powershell.exe writes to stderr when its output is redirected (docs/reference/winrm.md#clixml-on-stderr): blocks of
 * `#< CLIXML` followed by an `<Objs>` document, possibly mixed with plain text. String records `<S S="Error">`
 * (and Warning, Verbose, Debug, Information) become typed records, `_xHHHH_` escapes are decoded, progress records
 * are dropped, and text outside the blocks is kept as it is.
 */
import { XMLParser } from 'fast-xml-parser';

export type StderrStream = 'error' | 'warning' | 'verbose' | 'debug' | 'information' | 'text';

export interface StderrRecord {
  stream: StderrStream;
  text: string;
}

export interface DecodedStderr {
  records: StderrRecord[];
  /** A readable rendering: each record on its own line(s), prefixed by its stream unless it is an error or text. */
  text: string;
}

const MARKER = '#< CLIXML';
const STREAMS: Record<string, StderrStream> = {
  error: 'error',
  warning: 'warning',
  verbose: 'verbose',
  debug: 'debug',
  information: 'information',
};

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
});

/** `_xHHHH_` is how CLIXML escapes characters (CR, LF, '_' itself as _x005F_, ...). */
export function decodeClixmlEscapes(text: string): string {
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function textOf(nodes: unknown): string {
  if (!Array.isArray(nodes)) return '';
  let out = '';
  for (const n of nodes as XmlNode[]) {
    if (typeof n['#text'] === 'string') out += n['#text'];
  }
  return out;
}

function findChild(nodes: unknown, name: string): unknown {
  if (!Array.isArray(nodes)) return undefined;
  for (const n of nodes as XmlNode[]) if (name in n) return n[name];
  return undefined;
}

/** Records of one `<Objs>` document, or null when it is not well-formed XML. */
function decodeObjs(xml: string): StderrRecord[] | null {
  let doc: XmlNode[];
  try {
    doc = parser.parse(xml) as XmlNode[];
  } catch {
    return null;
  }
  const objs = findChild(doc, 'Objs');
  if (!Array.isArray(objs)) return null;
  const records: StderrRecord[] = [];
  for (const node of objs as XmlNode[]) {
    const kind = node[':@']?.['S']?.toLowerCase();
    if (!kind || kind === 'progress') continue;
    const stream = STREAMS[kind] ?? 'text';
    let text: string;
    if ('S' in node) text = textOf(node['S']);
    else if ('Obj' in node) text = textOf(findChild(node['Obj'], 'ToString'));
    else continue;
    text = decodeClixmlEscapes(text);
    const last = records[records.length - 1];
    // PowerShell writes one <S> per line of a message; consecutive ones of a stream belong together.
    if (last && last.stream === stream) last.text += text;
    else records.push({ stream, text });
  }
  return records;
}

function pushText(records: StderrRecord[], text: string): void {
  const t = text.replace(/^\s+|\s+$/g, '');
  if (t) records.push({ stream: 'text', text: t });
}

export function decodeClixml(stderr: string): DecodedStderr {
  const records: StderrRecord[] = [];
  let rest = stderr;
  for (;;) {
    const at = rest.indexOf(MARKER);
    if (at < 0) break;
    pushText(records, rest.slice(0, at));
    rest = rest.slice(at + MARKER.length);
    const end = rest.indexOf('</Objs>');
    if (end < 0) {
      pushText(records, MARKER + rest);
      rest = '';
      break;
    }
    const block = rest.slice(0, end + '</Objs>'.length);
    const decoded = decodeObjs(block.trim());
    if (decoded) records.push(...decoded);
    else pushText(records, MARKER + block);
    rest = rest.slice(block.length);
  }
  pushText(records, rest);
  for (const r of records) r.text = r.text.replace(/(\r?\n)+$/, '');
  const text = records
    .filter((r) => r.text.length > 0)
    .map((r) => (r.stream === 'error' || r.stream === 'text' ? r.text : `${r.stream.toUpperCase()}: ${r.text}`))
    .join('\n');
  return { records: records.filter((r) => r.text.length > 0), text };
}
