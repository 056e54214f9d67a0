/**
 * A small, strict JSON Schema (draft 2020-12) checker for the schemas svcfleet generates, written for the tests
 * because no JSON Schema validator is among the project's dependencies:
 *   - `checkWellFormed` walks a schema and refuses any keyword outside the 2020-12 core/applicator/validation/
 *     meta-data vocabularies, or with a value of the wrong shape (what validating against the meta-schema
 *     checks);
 *   - `validate` checks an instance against the keywords zod emits, and throws on any keyword it does not
 *     implement, so no constraint is ever silently skipped.
 */
const DIALECT = 'https://json-schema.org/draft/2020-12/schema';
const TYPES = ['null', 'boolean', 'object', 'array', 'number', 'string', 'integer'];
const SCHEMA_MAP = ['properties', '$defs', 'patternProperties', 'dependentSchemas'];
const SCHEMA_LIST = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const SCHEMA_ONE = ['additionalProperties', 'propertyNames', 'items', 'contains', 'not', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties'];
const NON_NEGATIVE = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minContains', 'maxContains'];
const NUMBERS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];
const ANNOTATIONS = ['title', 'description', '$comment', 'format', '$id', '$anchor', '$schema', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly'];
const OTHER = ['type', 'enum', 'const', 'required', 'pattern', 'uniqueItems', '$ref', 'dependentRequired'];
/** The 2020-12 formats (an unknown one would be ignored by validators: refuse it here). */
const FORMATS = [
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
];

type Schema = boolean | Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function checkWellFormed(schema: unknown, path = '#', root = true): void {
  const fail = (m: string): never => {
    throw new Error(`${path}: ${m}`);
  };
  if (typeof schema === 'boolean') return;
  if (!isObject(schema)) fail('a schema must be an object or a boolean');
  const s = schema as Record<string, unknown>;
  if (root && s.$schema !== DIALECT) fail(`$schema must be ${DIALECT}`);
  if (!root && '$schema' in s) fail('$schema only at the root');
  for (const [k, v] of Object.entries(s)) {
    const at = `${path}/${k}`;
    if (SCHEMA_MAP.includes(k)) {
      if (!isObject(v)) fail(`${k} must be an object of schemas`);
      for (const [name, sub] of Object.entries(v as object)) checkWellFormed(sub, `${at}/${name}`, false);
    } else if (SCHEMA_LIST.includes(k)) {
      if (!Array.isArray(v) || v.length === 0) fail(`${k} must be a non-empty array of schemas`);
      (v as unknown[]).forEach((sub, i) => checkWellFormed(sub, `${at}/${i}`, false));
    } else if (SCHEMA_ONE.includes(k)) {
      checkWellFormed(v, at, false);
    } else if (NON_NEGATIVE.includes(k)) {
      if (!Number.isInteger(v) || (v as number) < 0) fail(`${k} must be a non-negative integer`);
    } else if (NUMBERS.includes(k)) {
      if (typeof v !== 'number') fail(`${k} must be a number`);
    } else if (k === 'type') {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0 || !list.every((t) => TYPES.includes(t as string)) || new Set(list).size !== list.length) fail(`bad type ${JSON.stringify(v)}`);
    } else if (k === 'enum') {
      if (!Array.isArray(v)) fail('enum must be an array');
    } else if (k === 'required') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string') || new Set(v).size !== v.length) fail('required must be unique strings');
    } else if (k === 'pattern') {
      if (typeof v !== 'string') fail('pattern must be a string');
      new RegExp(v as string, 'u');
    } else if (k === 'format') {
      if (!FORMATS.includes(v as string)) fail(`unknown format ${JSON.stringify(v)}`);
    } else if (k === 'uniqueItems' || k === 'deprecated' || k === 'readOnly' || k === 'writeOnly') {
      if (typeof v !== 'boolean') fail(`${k} must be a boolean`);
    } else if (k === '$ref' || k === '$id' || k === '$anchor' || k === '$comment' || k === 'title' || k === 'description') {
      if (typeof v !== 'string') fail(`${k} must be a string`);
    } else if (k === 'const' || k === 'default' || k === '$schema') {
      // any value
    } else if (!ANNOTATIONS.includes(k) && !OTHER.includes(k)) {
      fail(`unknown keyword ${k}`);
    }
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Errors of `value` against `schema` (empty: valid). `root` resolves `#/$defs/…` references. */
export function validate(schema: Schema, value: unknown, path = '', root: Schema = schema): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path || '/'}: not allowed`];
  const errors: string[] = [];
  const err = (m: string): void => void errors.push(`${path || '/'}: ${m}`);
  for (const [k, rule] of Object.entries(schema)) {
    switch (k) {
      case 'type': {
        const types = (Array.isArray(rule) ? rule : [rule]) as string[];
        const t = typeOf(value);
        const ok = types.some((x) => x === t || (x === 'integer' && Number.isInteger(value)) || (x === 'number' && t === 'number'));
        if (!ok) err(`expected ${types.join(' or ')}, got ${t}`);
        break;
      }
      case 'const':
        if (!equal(rule, value)) err(`expected ${JSON.stringify(rule)}`);
        break;
      case 'enum':
        if (!(rule as unknown[]).some((x) => equal(x, value))) err(`expected one of ${JSON.stringify(rule)}`);
        break;
      case 'properties':
        if (isObject(value)) {
          for (const [p, sub] of Object.entries(rule as Record<string, Schema>)) {
            if (Object.hasOwn(value, p)) errors.push(...validate(sub, value[p], `${path}/${p}`, root));
          }
        }
        break;
      case 'required':
        if (isObject(value)) for (const p of rule as string[]) if (!(p in value)) err(`missing ${p}`);
        break;
      case 'additionalProperties':
        if (isObject(value)) {
          const known = Object.keys((schema as Record<string, unknown>).properties ?? {});
          for (const [p, v] of Object.entries(value)) {
            if (!known.includes(p)) errors.push(...validate(rule as Schema, v, `${path}/${p}`, root));
          }
        }
        break;
      case 'propertyNames':
        if (isObject(value)) for (const p of Object.keys(value)) errors.push(...validate(rule as Schema, p, `${path}/${p} (name)`, root));
        break;
      case 'items':
        if (Array.isArray(value)) value.forEach((v, i) => errors.push(...validate(rule as Schema, v, `${path}/${i}`, root)));
        break;
      case 'minItems':
        if (Array.isArray(value) && value.length < (rule as number)) err(`at least ${rule} items`);
        break;
      case 'maxItems':
        if (Array.isArray(value) && value.length > (rule as number)) err(`at most ${rule} items`);
        break;
      case 'minLength':
        if (typeof value === 'string' && [...value].length < (rule as number)) err(`at least ${rule} characters`);
        break;
      case 'maxLength':
        if (typeof value === 'string' && [...value].length > (rule as number)) err(`at most ${rule} characters`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(rule as string, 'u').test(value)) err(`does not match ${rule}`);
        break;
      case 'minimum':
        if (typeof value === 'number' && value < (rule as number)) err(`below ${rule}`);
        break;
      case 'maximum':
        if (typeof value === 'number' && value > (rule as number)) err(`above ${rule}`);
        break;
      case 'exclusiveMinimum':
        if (typeof value === 'number' && value <= (rule as number)) err(`not above ${rule}`);
        break;
      case 'exclusiveMaximum':
        if (typeof value === 'number' && value >= (rule as number)) err(`not below ${rule}`);
        break;
      case 'anyOf':
        if (!(rule as Schema[]).some((sub) => validate(sub, value, path, root).length === 0)) err('matches none of anyOf');
        break;
      case 'oneOf':
        if ((rule as Schema[]).filter((sub) => validate(sub, value, path, root).length === 0).length !== 1) err('does not match exactly one of oneOf');
        break;
      case 'allOf':
        for (const sub of rule as Schema[]) errors.push(...validate(sub, value, path, root));
        break;
      case '$ref': {
        const m = /^#\/\$defs\/(.+)$/.exec(rule as string);
        const target = m && isObject(root) ? (root.$defs as Record<string, Schema> | undefined)?.[m[1]!] : undefined;
        if (target === undefined) throw new Error(`unsupported $ref ${String(rule)}`);
        errors.push(...validate(target, value, path, root));
        break;
      }
      case '$schema':
      case '$defs':
      case '$id':
      case 'title':
      case 'description':
      case 'default':
      case '$comment':
        break;
      default:
        throw new Error(`the test validator does not implement ${k} (at ${path || '/'})`);
    }
  }
  return errors;
}
