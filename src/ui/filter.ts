/**
 * The host-table filter typed after `/`. Space-separated terms, all of which must match:
 *   web0        name contains "web0", or a group contains it, or the state/bucket starts with it
 *   name:web0   name contains          group:web   a group contains          state:fail  state or bucket starts with
 *   !term       negation of any of the above
 * Case-insensitive. Runs over every host on each render, so matching is a few string compares per host.
 */
import { bucketOf, type HostRunState } from '../state/run-state.js';

type Field = 'any' | 'name' | 'group' | 'state';
interface Term {
  field: Field;
  text: string;
  negate: boolean;
}

export type HostMatcher = (h: HostRunState) => boolean;

export function parseFilter(query: string): Term[] {
  const terms: Term[] = [];
  for (let raw of query.trim().toLowerCase().split(/\s+/)) {
    if (!raw) continue;
    let negate = false;
    if (raw.startsWith('!')) {
      negate = true;
      raw = raw.slice(1);
    }
    let field: Field = 'any';
    const m = /^(name|group|state):(.*)$/.exec(raw);
    if (m) {
      field = m[1] as Field;
      raw = m[2]!;
    }
    if (raw) terms.push({ field, text: raw, negate });
  }
  return terms;
}

export function makeMatcher(query: string, groupsOf: (host: string) => readonly string[]): HostMatcher | undefined {
  const terms = parseFilter(query);
  if (terms.length === 0) return undefined;
  return (h) => {
    for (const t of terms) {
      if (matchTerm(t, h, groupsOf) === t.negate) return false;
    }
    return true;
  };
}

function matchTerm(t: Term, h: HostRunState, groupsOf: (host: string) => readonly string[]): boolean {
  const byName = () => h.name.toLowerCase().includes(t.text);
  const byGroup = () => groupsOf(h.name).some((g) => g.toLowerCase().includes(t.text));
  const byState = () => h.state.startsWith(t.text) || bucketOf(h.state).startsWith(t.text);
  switch (t.field) {
    case 'name':
      return byName();
    case 'group':
      return byGroup();
    case 'state':
      return byState();
    default:
      return byName() || byGroup() || byState();
  }
}
