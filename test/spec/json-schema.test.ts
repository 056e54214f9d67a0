/**
 * The JSON Schemas for editors (spec/json-schema.ts): well-formed draft 2020-12, the same as the copies shipped
 * in docs/schemas/, and every YAML example in docs/spec.md, docs/inventory.md and docs/config.md that names a
 * schema (`# yaml-language-server: $schema=…/KIND.schema.json`) is valid both for the zod schema svcfleet loads
 * it with and for the generated JSON Schema. No JSON Schema validator is a dependency of the project, so the
 * JSON Schema side uses the small strict checker in mini-json-schema.ts (it refuses keywords it does not know).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYamlDocument, validateDocument } from '../../src/util/document.js';
import { jsonSchema, SCHEMA_KINDS, zodSchemaFor, type SchemaKind } from '../../src/spec/json-schema.js';
import { checkWellFormed, validate } from './mini-json-schema.js';

const ROOT = join(import.meta.dirname, '../..');
const DOCS = ['docs/spec.md', 'docs/inventory.md', 'docs/config.md'];
const MODELINE = /^# yaml-language-server: \$schema=\S*\/(spec|inventory|config)\.schema\.json$/m;

interface Example {
  doc: string;
  line: number;
  text: string;
  kind?: SchemaKind;
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const doc of DOCS) {
    const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```ya?ml\s*$/.test(lines[i]!)) continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && !lines[end]!.startsWith('```')) end++;
      const text = lines.slice(start, end).join('\n');
      const m = MODELINE.exec(text);
      out.push({ doc, line: start + 1, text, ...(m ? { kind: m[1] as SchemaKind } : {}) });
      i = end;
    }
  }
  return out;
}

describe('generated JSON Schemas', () => {
  it.each(SCHEMA_KINDS)('%s: well-formed draft 2020-12, and its copy in docs/schemas/ is up to date', (kind) => {
    const schema = jsonSchema(kind);
    checkWellFormed(schema);
    const shipped = JSON.parse(readFileSync(join(ROOT, 'docs/schemas', `${kind}.schema.json`), 'utf8')) as unknown;
    expect(shipped, `regenerate with: svcfleet schema ${kind} > docs/schemas/${kind}.schema.json`).toEqual(schema);
  });

  it('describes what the zod schemas refuse: unknown keys, literal passwords, bad enums', () => {
    const spec = jsonSchema('spec');
    expect(validate(spec, { service: 'A', set: { startType: 'auto' } })).toEqual([]);
    expect(validate(spec, { service: 'A', sett: {} }).join()).toMatch(/sett: not allowed/);
    expect(validate(spec, { service: 'A', set: { startType: 'sometimes' } }).join()).toMatch(/startType/);
    expect(validate(spec, { service: 'A', set: { account: { name: 'x', password: 'literal' } } }).join()).toMatch(/password/);
    expect(validate(spec, { service: 'A', set: { account: { name: 'x', password: { prompt: true } } } })).toEqual([]);
    const inv = jsonSchema('inventory');
    expect(validate(inv, { kind: 'svcfleet-inventory', version: 1, defaults: { password: { env: 'PW' } } })).toEqual([]);
    // No prompt in an inventory (the nullable `defaults` reports it as a mismatch of its anyOf).
    expect(validate(inv, { kind: 'svcfleet-inventory', version: 1, defaults: { password: { prompt: true } } }).join()).toMatch(/defaults/);
    expect(validate(jsonSchema('config'), { concurrency: 0 }).join()).toMatch(/below 1/);
  });
});

describe('YAML examples in the docs', () => {
  const all = examples();

  it('every full svcfleet document in the docs names its schema', () => {
    for (const e of all) {
      const native = /^kind: svcfleet-inventory/m.test(e.text);
      if (e.doc !== 'docs/inventory.md' || native) expect(e.kind, `${e.doc}:${e.line} needs a yaml-language-server modeline`).toBeDefined();
    }
    const counts = Object.fromEntries(SCHEMA_KINDS.map((k) => [k, all.filter((e) => e.kind === k).length]));
    expect(counts.spec).toBeGreaterThanOrEqual(3);
    expect(counts.inventory).toBeGreaterThanOrEqual(1);
    expect(counts.config).toBeGreaterThanOrEqual(1);
  });

  it.each(all.filter((e) => e.kind).map((e) => [`${e.doc}:${e.line} (${e.kind})`, e] as const))(
    '%s validates with zod and with the JSON Schema',
    (_name, e) => {
      const doc = parseYamlDocument(e.text, `${e.doc}:${e.line}`);
      expect(() => validateDocument(zodSchemaFor(e.kind!), doc)).not.toThrow();
      expect(validate(jsonSchema(e.kind!), JSON.parse(JSON.stringify(doc.value)))).toEqual([]);
    },
  );
});
