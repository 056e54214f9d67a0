/**
 * Just enough XML for SOAP: escaping for the envelopes we build, and a namespace-agnostic tree for the ones we
 * read. Peers use whatever prefixes they like (s:, env:, SOAP-ENV:, a:, wsa:), so lookups go by local name.
 * Both the client and the lab server parse with this.
 */
import { XMLParser } from 'fast-xml-parser';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

export interface XNode {
  /** Local name (prefix removed). */
  name: string;
  attrs: Record<string, string>;
  children: XNode[];
  /** Concatenated direct text and CDATA content. */
  text: string;
}

export class XmlFormatError extends Error {
  override readonly name = 'XmlFormatError';
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  removeNSPrefix: true,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
});

type Raw = Record<string, unknown>;

function convert(raw: Raw): XNode | string | null {
  const keys = Object.keys(raw).filter((k) => k !== ':@');
  const name = keys[0];
  if (name === undefined) return null;
  if (name === '#text') return String(raw['#text']);
  if (name.startsWith('?')) return null; // processing instruction / xml declaration
  const attrsRaw = (raw[':@'] ?? {}) as Record<string, unknown>;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrsRaw)) attrs[k] = String(v);
  const node: XNode = { name, attrs, children: [], text: '' };
  const kids = raw[name];
  if (Array.isArray(kids)) {
    for (const k of kids as Raw[]) {
      const c = convert(k);
      if (typeof c === 'string') node.text += c;
      else if (c) node.children.push(c);
    }
  }
  return node;
}

/** Parse a document and return its root element. Rejects DTDs (no entity games from a hostile peer). */
export function parseXml(text: string): XNode {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlFormatError('XML with a DTD is not accepted');
  let raw: unknown;
  try {
    raw = parser.parse(text);
  } catch (err) {
    throw new XmlFormatError(`malformed XML: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new XmlFormatError('malformed XML');
  for (const r of raw as Raw[]) {
    const n = convert(r);
    if (n && typeof n !== 'string') return n;
  }
  throw new XmlFormatError('no XML element found');
}

export function child(node: XNode | undefined, name: string): XNode | undefined {
  return node?.children.find((c) => c.name === name);
}

export function children(node: XNode | undefined, name: string): XNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

/** Follow a path of local names from `node`. */
export function path(node: XNode | undefined, ...names: string[]): XNode | undefined {
  let cur = node;
  for (const n of names) cur = child(cur, n);
  return cur;
}

/** Depth-first search for the first element with this local name. */
export function find(node: XNode | undefined, name: string): XNode | undefined {
  if (!node) return undefined;
  if (node.name === name) return node;
  for (const c of node.children) {
    const hit = find(c, name);
    if (hit) return hit;
  }
  return undefined;
}

/** Depth-first search for every element with this local name, in document order. */
export function findAll(node: XNode | undefined, name: string, out: XNode[] = []): XNode[] {
  if (!node) return out;
  if (node.name === name) out.push(node);
  for (const c of node.children) findAll(c, name, out);
  return out;
}
