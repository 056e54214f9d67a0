/**
 * `svcfleet schema spec|inventory|config`: print the JSON Schema of a kind of svcfleet file (spec/json-schema.ts)
 * for editors; the same files ship in docs/schemas/.
 */
import { Argument, type Command } from 'commander';
import { jsonSchema, SCHEMA_KINDS, type SchemaKind } from '../../spec/json-schema.js';
import { type CliContext, printer } from '../context.js';

export function registerSchema(program: Command, cli: CliContext): void {
  program
    .command('schema')
    .description('Print the JSON Schema (draft 2020-12) of change specs, native inventories or the config file, for editors.')
    .addArgument(new Argument('<kind>', 'which file').choices(SCHEMA_KINDS))
    .addHelpText(
      'after',
      `
Examples:
  svcfleet schema spec > spec.schema.json     # then: # yaml-language-server: $schema=./spec.schema.json
  svcfleet schema inventory > inventory.schema.json
  svcfleet schema config > svcfleet-config.schema.json`,
    )
    .action((kind: SchemaKind) => {
      printer(cli).out(JSON.stringify(jsonSchema(kind), null, 2));
    });
}
