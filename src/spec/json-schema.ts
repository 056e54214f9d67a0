/**
 * JSON Schemas (draft 2020-12) for the files users write: the change spec, the native inventory and the config
 * file, generated with zod's `z.toJSONSchema` from the very schemas the loaders validate with, so an editor
 * (yaml-language-server: `# yaml-language-server: $schema=…`) and svcfleet cannot disagree about a key.
 *
 * The schemas describe the input as written (`io: 'input'`): a duration may be `90s` or `90`, a password is a
 * reference object. Checks zod runs in code (refinements such as "restart/60000 is at most 4294967295 ms", and
 * the cross-field checks of spec/load.ts) have no JSON Schema form; svcfleet still reports them on load.
 */
import { z } from 'zod';
import { configInputSchema } from '../config/schema.js';
import { nativeSchema } from '../inventory/native.js';
import { specSchema } from './schema.js';

export const SCHEMA_KINDS = ['spec', 'inventory', 'config'] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const SOURCES: Record<SchemaKind, { schema: z.ZodType; title: string; description: string }> = {
  spec: { schema: specSchema, title: 'svcfleet change spec', description: 'What to change on a registered Windows service (docs/spec.md).' },
  inventory: {
    schema: nativeSchema,
    title: 'svcfleet native inventory',
    description: 'Hosts, groups and connection settings, kind: svcfleet-inventory (docs/inventory.md).',
  },
  config: { schema: configInputSchema, title: 'svcfleet configuration file', description: '.svcfleetrc(.yaml|.json) and friends (docs/config.md).' },
};

/** The zod schema a kind of file is validated with (the source of its JSON Schema). */
export function zodSchemaFor(kind: SchemaKind): z.ZodType {
  return SOURCES[kind].schema;
}

/** The JSON Schema of one kind of svcfleet file. */
export function jsonSchema(kind: SchemaKind): Record<string, unknown> {
  const { schema, title, description } = SOURCES[kind];
  const generated = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    // zod marks .startsWith() with a `format` of its own, which no validator knows; the pattern says it all.
    override: ({ jsonSchema: js }) => {
      if (js.format === 'starts_with') delete js.format;
    },
  }) as Record<string, unknown>;
  const { $schema: _dialect, ...rest } = generated;
  return { $schema: JSON_SCHEMA_DIALECT, title, description, ...rest };
}
