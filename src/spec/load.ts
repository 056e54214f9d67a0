/**
 * Reading a change spec (YAML or JSON, docs/spec.md): schema validation with file/line/field errors, then the
 * checks that need no host: one of `service`/`services`, something to do, CWE-428 on literal binary paths,
 * `failure.resetPeriod` only together with `failure.actions` (docs/reference/sc-exe.md#description-and-failure: sc.exe `reset=` must be used
 * with `actions=`), no flag both set and removed, the same service not twice, ports in range.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { locationOf, parseYamlDocument, validateDocument, type ParsedDocument, type PathSegment } from '../util/document.js';
import type { DependentsPolicy, RestartPolicy, RollbackPolicy, VerifySpec } from '../remote/protocol.js';
import { InputError } from '../util/errors.js';
import { binaryPathProblem } from './binpath.js';
import { specSchema, type SetSpec } from './schema.js';
import { hasTemplate } from './template.js';

/** One service's wanted change as written (templates not yet filled). */
export interface ServiceSpec {
  /** Where the entry is in the document: [] for the single-service form, ['services', i] otherwise. */
  path: PathSegment[];
  service: string;
  set: SetSpec;
  restart: RestartPolicy;
  /** `port` may still be a `{{ var }}` text. */
  verify: Omit<VerifySpec, 'port'> & { port?: number | string };
  rollback: RollbackPolicy;
  /** Only set when the spec says so; the engine's default is 'refuse'. */
  dependents?: DependentsPolicy;
  timeouts?: { stopSeconds?: number; startSeconds?: number };
}

export interface ChangeSpec {
  file: string;
  /** sha256 of the file's bytes: plans record which spec they came from. */
  digest: string;
  services: ServiceSpec[];
  doc: ParsedDocument;
}

export function loadSpec(file: string): ChangeSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the change spec: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file });
  }
  return parseSpec(text, file);
}

export function parseSpec(text: string, file: string): ChangeSpec {
  const doc = parseYamlDocument(text, file);
  if (doc.value === null || doc.value === undefined) throw new InputError('the change spec is empty', { file });
  const data = validateDocument(specSchema, doc);
  const fail = (message: string, path: PathSegment[], key = false): never => {
    throw new InputError(message, locationOf(doc, path, { key }));
  };

  if (data.service !== undefined && data.services !== undefined) fail('use either service (one service) or services (a list), not both', ['services'], true);
  if (data.service === undefined && data.services === undefined) fail('the spec names no service: add service: NAME (or services: [...])', []);
  if (data.services !== undefined && data.set !== undefined) fail('with services: [...], put set: inside each entry', ['set'], true);

  const defaults = { restart: data.restart, verify: data.verify, rollback: data.rollback, dependents: data.dependents, timeouts: data.timeouts };
  const entries = data.services
    ? data.services.map((e, i) => ({ entry: e, path: ['services', i] as PathSegment[] }))
    : [{ entry: { service: data.service!, set: data.set }, path: [] as PathSegment[] }];

  const seen = new Map<string, number>();
  const services: ServiceSpec[] = entries.map(({ entry, path }, i) => {
    const name = entry.service;
    const key = name.toLowerCase(); // service names are case-insensitive on Windows
    if (seen.has(key)) fail(`service ${name} is listed twice (entries ${seen.get(key)! + 1} and ${i + 1}); merge them`, [...path, 'service']);
    seen.set(key, i);

    const e = entry as typeof entry & Partial<typeof defaults>;
    const spec: ServiceSpec = {
      path,
      service: name,
      set: entry.set ?? {},
      restart: e.restart ?? defaults.restart ?? 'if-needed',
      verify: e.verify ?? defaults.verify ?? {},
      rollback: e.rollback ?? defaults.rollback ?? 'auto',
    };
    const dependents = e.dependents ?? defaults.dependents;
    if (dependents) spec.dependents = dependents;
    const timeouts = e.timeouts ?? defaults.timeouts;
    if (timeouts) spec.timeouts = timeouts;
    checkService(spec, (message, p, k) => fail(message, [...path, ...p], k));
    return spec;
  });

  return { file, digest: createHash('sha256').update(text).digest('hex'), services, doc };
}

type Fail = (message: string, path: PathSegment[], key?: boolean) => never;

function checkService(s: ServiceSpec, fail: Fail): void {
  const set = s.set;
  if (Object.keys(set).length === 0 && s.restart !== 'always') {
    fail(`nothing to change for ${s.service}: add set: (or restart: always for a restart only)`, set === undefined ? [] : ['set']);
  }
  if (set.binaryPath !== undefined && !hasTemplate(set.binaryPath)) {
    const problem = binaryPathProblem(set.binaryPath);
    if (problem) fail(problem, ['set', 'binaryPath']);
  }
  if (set.failure?.resetPeriod !== undefined && set.failure.actions === undefined) {
    fail('failure.resetPeriod needs failure.actions in the same spec (sc.exe sets both together)', ['set', 'failure', 'resetPeriod']);
  }
  const setFlags = Object.keys(set.args?.set ?? {});
  set.args?.remove?.forEach((flag, i) => {
    if (setFlags.includes(flag)) fail(`flag ${flag} is both set and removed`, ['set', 'args', 'remove', i]);
  });
  if (set.args && setFlags.length === 0 && (set.args.remove ?? []).length === 0) fail('args: has neither set nor remove', ['set', 'args'], true);
  const port = s.verify.port;
  if (typeof port === 'number' && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    fail(`verify.port must be a whole number from 1 to 65535, got ${port}`, ['verify', 'port']);
  }
}
