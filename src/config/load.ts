/**
 * loadConfig: flags > SVCFLEET_* environment > config file > defaults.
 *
 * The config file is found by cosmiconfig under the name `svcfleet`, from the working directory up to the
 * project root (the nearest directory holding `.git` or package.json) or the home directory, whichever comes
 * first; with neither above it, only the working directory is searched (a shared /tmp or /srv above it must not
 * configure us). Places: the `svcfleet` key of package.json, `.svcfleetrc` (YAML or JSON),
 * `.svcfleetrc.{json,yaml,yml,js,cjs,mjs,ts}`, the same under `.config/`, or `svcfleet.config.{js,cjs,mjs,ts}`.
 * A JS/TS file is code: it runs only when the current user owns it and neither group nor others can write it.
 * Every security-weakening setting (weakeningWarnings) comes back in `warnings`, naming where it was set.
 * `--config FILE` / SVCFLEET_CONFIG name one explicitly. YAML and JSON are read with positions, so errors name
 * file, line and field; JS/TS files name file and field. A `.ts` file is transpiled by cosmiconfig with the
 * `typescript` package, which must then be installed in the project (svcfleet does not ship it).
 *
 * Environment variables: SVCFLEET_ + the field path in CONSTANT_CASE, e.g. SVCFLEET_CONCURRENCY,
 * SVCFLEET_DEADLINES_CONNECT, SVCFLEET_SSH_KNOWN_HOSTS_FILE (docs/config.md lists them all).
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { cosmiconfig, defaultLoaders, type Loader } from 'cosmiconfig';
import type { z } from 'zod';
import { DEFAULT_STRATEGY } from './strategy.js';
import { DEFAULT_DEADLINES } from '../transport/types.js';
import { InputError } from '../util/errors.js';
import { defaultJournalRoot } from './journal-root.js';
import { formatPath, parseYamlDocument, validateDocument, type ParsedDocument } from '../util/document.js';
import { PATH_KEYS, configInputSchema, type ConfigInput, type ConfigPartial, type ResolvedConfig } from './schema.js';

export interface LoadConfigOptions {
  cwd?: string;
  /** Values from command-line flags, keyed like the config file (e.g. { concurrency: '50', deadlines: { host: '10m' } }). */
  flags?: ConfigInput;
  env?: Record<string, string | undefined>;
  /** An explicit config file (--config). Overrides SVCFLEET_CONFIG and the search. */
  file?: string;
}

export const ENV_PREFIX = 'SVCFLEET_';

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const fromFile = await readConfigFile(cwd, opts.file ?? env.SVCFLEET_CONFIG, env.HOME || homedir());
  const fromEnv = withAbsolutePaths(parseSource(envInput(env), 'environment'), cwd);
  const fromFlags = withAbsolutePaths(parseSource(opts.flags ?? {}, 'flags'), cwd);
  const merged = deepMerge(deepMerge(fromFile?.config ?? {}, fromEnv), fromFlags) as ConfigPartial;
  const resolved = resolveConfig(merged, env);
  if (fromFile) resolved.configFile = fromFile.file;
  // The same checks as resolveConfig's, but per source, so each warning says where the setting came from.
  resolved.warnings = [
    ...(fromFile ? weakeningWarnings(fromFile.config, () => `in ${fromFile.file}`) : []),
    ...weakeningWarnings(fromEnv, (path) => `from the environment (${envName(path)})`),
    ...weakeningWarnings(fromFlags, () => 'from the command line'),
  ];
  return resolved;
}

/**
 * Settings that make a connection trust more than it should. They are allowed (labs, migrations) but never
 * silent: the CLI prints each on stderr (not process.emitWarning, which NODE_NO_WARNINGS hides).
 * A known_hosts file other than ~/.ssh/known_hosts decides which host keys are trusted, so a config file found
 * by the search must not pick one quietly.
 */
export function weakeningWarnings(c: ConfigPartial, origin: (path: string[]) => string): string[] {
  const out: string[] = [];
  if (c.ssh?.hostKeyPolicy === 'accept-new') {
    out.push(
      `ssh.hostKeyPolicy: accept-new ${origin(['ssh', 'hostKeyPolicy'])}: an unknown host key is trusted on first use and recorded (a changed key is still refused)`,
    );
  }
  if (c.ssh?.knownHostsFile) {
    out.push(
      `ssh.knownHostsFile: ${c.ssh.knownHostsFile} ${origin(['ssh', 'knownHostsFile'])}: host keys are checked against that file, not ~/.ssh/known_hosts; whoever can write it decides which hosts are trusted`,
    );
  }
  if (c.winrm?.certValidation === 'ignore') {
    out.push(
      `winrm.certValidation: ignore ${origin(['winrm', 'certValidation'])}: configuration turns WinRM TLS certificate validation OFF for every host; anyone on the path can impersonate a host`,
    );
  }
  return out;
}

/** Defaults filled in; the one place that knows them. */
export function resolveConfig(c: ConfigPartial, env: Record<string, string | undefined> = process.env): ResolvedConfig {
  const warnings: string[] = [];
  const connection: ResolvedConfig['connection'] = {};
  if (c.transport) connection.transport = c.transport;
  if (c.user) connection.user = c.user;
  if (c.ssh) {
    const { keepaliveInterval, ...ssh } = c.ssh;
    connection.ssh = { ...ssh, ...(keepaliveInterval !== undefined ? { keepaliveIntervalMs: keepaliveInterval } : {}) };
  }
  if (c.winrm) {
    const { operationTimeout, ...winrm } = c.winrm;
    connection.winrm = { ...winrm, ...(operationTimeout !== undefined ? { operationTimeoutSeconds: Math.ceil(operationTimeout / 1000) } : {}) };
  }
  if (c.pwsh?.mode) connection.pwsh = { mode: c.pwsh.mode };
  return {
    concurrency: c.concurrency ?? DEFAULT_STRATEGY.concurrency,
    handshakeConcurrency: c.handshakeConcurrency ?? 10,
    deadlines: {
      connectMs: c.deadlines?.connect ?? DEFAULT_DEADLINES.connectMs,
      authMs: c.deadlines?.auth ?? DEFAULT_DEADLINES.authMs,
      commandMs: c.deadlines?.command ?? DEFAULT_DEADLINES.commandMs,
      hostMs: c.deadlines?.host ?? DEFAULT_STRATEGY.hostDeadlineMs,
    },
    retries: {
      count: c.retries?.count ?? DEFAULT_STRATEGY.retries,
      backoffMs: c.retries?.backoff ?? DEFAULT_STRATEGY.retryBaseMs,
      maxBackoffMs: c.retries?.maxBackoff ?? 10_000,
    },
    journal: c.journal ?? defaultJournalRoot(env as NodeJS.ProcessEnv),
    output: c.output ?? 'auto',
    failureBudget: c.failureBudget ?? DEFAULT_STRATEGY.maxFailures,
    canary: c.canary ?? [...DEFAULT_STRATEGY.canary],
    defaultCanary: c.defaultCanary ?? true,
    batches: c.batches ?? [...DEFAULT_STRATEGY.batches],
    unreachableCountsAsFailure: c.unreachableCountsAsFailure ?? DEFAULT_STRATEGY.countUnreachable,
    rollbackBatchOnBudget: c.rollbackBatchOnBudget ?? DEFAULT_STRATEGY.rollbackBatchOnBudget,
    onFailure: c.onFailure ?? DEFAULT_STRATEGY.onFailure,
    connection,
    ui: { color: c.ui?.color ?? 'auto', refreshMs: c.ui?.refresh ?? 100 },
    warnings: [...warnings, ...weakeningWarnings(c, () => 'in the configuration')],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Config file

/**
 * The directories to search, nearest first: the working directory up to the project root or home, whichever
 * comes first; only the working directory when neither is above it.
 */
export function configSearchDirs(cwd: string, home: string): string[] {
  const dirs: string[] = [];
  const homeDir = resolve(home);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    dirs.push(dir);
    if (dir === homeDir || existsSync(join(dir, '.git')) || existsSync(join(dir, 'package.json'))) return dirs;
    if (dirname(dir) === dir) return dirs.slice(0, 1);
  }
}

/** A JS/TS config runs as code: only the user's own file, writable by nobody else, is loaded. */
function guardCode(loader: Loader): Loader {
  return (filepath, content) => {
    const st = statSync(filepath);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new InputError(`refusing to run this config file: it is owned by uid ${st.uid}, not by you (uid ${uid})`, { file: filepath });
    }
    if (process.platform !== 'win32' && (st.mode & 0o022) !== 0) {
      throw new InputError(`refusing to run this config file: it is group- or world-writable (mode ${(st.mode & 0o777).toString(8)}; chmod go-w it)`, {
        file: filepath,
      });
    }
    return loader(filepath, content);
  };
}

async function readConfigFile(cwd: string, explicit: string | undefined, home: string): Promise<{ file: string; config: ConfigPartial } | undefined> {
  const docs = new Map<string, ParsedDocument>();
  const structured: Loader = (filepath, content) => {
    const doc = parseYamlDocument(content, filepath);
    docs.set(filepath, doc);
    return doc.value;
  };
  const explorer = cosmiconfig('svcfleet', {
    // 'none' searches one directory per call; configSearchDirs decides which (cosmiconfig's 'project' climbs to /).
    searchStrategy: 'none',
    loaders: {
      '.json': structured,
      '.yaml': structured,
      '.yml': structured,
      noExt: structured,
      '.js': guardCode(defaultLoaders['.js']),
      '.cjs': guardCode(defaultLoaders['.cjs']),
      '.mjs': guardCode(defaultLoaders['.mjs']),
      '.ts': guardCode(defaultLoaders['.ts']),
    },
    cache: false,
  });
  let result: Awaited<ReturnType<typeof explorer.search>> = null;
  try {
    if (explicit) result = await explorer.load(resolve(cwd, explicit));
    else for (const dir of configSearchDirs(cwd, home)) if ((result = await explorer.search(dir))) break;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const e = err as NodeJS.ErrnoException;
    const file = explicit ? resolve(cwd, explicit) : undefined;
    if (e.code === 'ENOENT') throw new InputError('config file not found', { ...(file ? { file } : {}), field: 'config' });
    if (/typescript/i.test(e.message) && /Cannot find (package|module)/i.test(e.message)) {
      throw new InputError('a .ts config file needs the typescript package installed in the project (or use svcfleet.config.mjs)', file ? { file } : {});
    }
    throw new InputError(`cannot load the config file: ${firstLine(e.message)}`, file ? { file } : {}, { cause: err });
  }
  if (!result) return undefined;
  const file = result.filepath;
  if (result.isEmpty || result.config === null || result.config === undefined) return { file, config: {} };
  const doc = docs.get(file);
  const inPackageJson = file.endsWith('package.json');
  let config: ConfigPartial;
  if (doc) {
    config = validateDocument(configInputSchema, doc, inPackageJson ? { prefix: ['svcfleet'], value: result.config } : { value: result.config });
  } else {
    const parsed = configInputSchema.safeParse(result.config);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const keys = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
      throw new InputError(`${issue.message}${keys}`, { file, field: formatPath(issue.path as Array<string | number>) || '(top level)' });
    }
    config = parsed.data;
  }
  return { file, config: withAbsolutePaths(config, dirname(file)) };
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '') ?? s;
}

// ---------------------------------------------------------------------------------------------------------
// Environment and flags

function parseSource(input: unknown, source: 'environment' | 'flags'): ConfigPartial {
  const parsed = configInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path as Array<string | number>;
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const fieldPath = keys.length ? [...path, keys[0]!] : path;
  const field = source === 'environment' ? envName(fieldPath.map(String)) : formatPath(fieldPath);
  throw new InputError(`${issue.message} (from ${source === 'environment' ? 'the environment' : 'the command line'})`, { field });
}

export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

interface Leaf {
  path: string[];
  boolean: boolean;
}

/** Every settable leaf of the input schema, with its environment variable name. */
export function configLeaves(): Array<Leaf & { env: string }> {
  const out: Array<Leaf & { env: string }> = [];
  const walk = (schema: z.ZodType, path: string[]): void => {
    const def = unwrap(schema);
    if (def.type === 'object' && def.shape) {
      for (const [k, v] of Object.entries(def.shape)) walk(v, [...path, k]);
      return;
    }
    out.push({ path, boolean: def.type === 'boolean', env: envName(path) });
  };
  walk(configInputSchema, []);
  return out;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}

function unwrap(schema: z.ZodType): Def {
  let def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  while (def.type === 'optional' && def.innerType) def = (def.innerType as unknown as { _zod: { def: Def } })._zod.def;
  return def;
}

function envInput(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const leaf of configLeaves()) {
    const raw = env[leaf.env];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (leaf.boolean) {
      const s = raw.trim().toLowerCase();
      value = ['1', 'true', 'yes', 'on'].includes(s) ? true : ['0', 'false', 'no', 'off'].includes(s) ? false : raw;
    }
    let node = out;
    for (const seg of leaf.path.slice(0, -1)) node = (node[seg] ??= {}) as Record<string, unknown>;
    node[leaf.path[leaf.path.length - 1]!] = value;
  }
  return out;
}

function withAbsolutePaths(c: ConfigPartial, base: string): ConfigPartial {
  const out = structuredClone(c) as Record<string, unknown>;
  for (const path of PATH_KEYS) {
    let node: Record<string, unknown> | undefined = out;
    for (const seg of path.slice(0, -1)) node = node?.[seg] as Record<string, unknown> | undefined;
    const key = path[path.length - 1]!;
    const v = node?.[key];
    if (node && typeof v === 'string' && !isAbsolute(v)) node[key] = resolve(base, v);
  }
  return out as ConfigPartial;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}
