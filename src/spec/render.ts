/**
 * Per-host requests from a change spec: `{{ var }}` filled from the host's variables (as data), the results
 * checked again (CWE-428, port range, no control characters smuggled in by a variable), and everything put in
 * the shape the engine takes (ServiceChange, remote/invocation.ts).
 *
 * Secrets: the spec holds only password references. `resolveSpecSecrets` turns them into Secret objects once
 * per run (so `{ prompt: true }` asks once); `renderHostRequests` puts the Secret at desired.account.password,
 * where only the payload builder (remote/invocation.ts) reveals it. Without resolved secrets (plan, render)
 * the password is left out and `passwordRef` says where it would come from.
 */
import { dirname } from 'node:path';
import { locationOf, type PathSegment } from '../util/document.js';
import { resolveSecretRef, type SecretContext, type SecretRef } from '../util/secret-ref.js';
import type { ServiceChange } from '../remote/invocation.js';
import type { HostSpec } from '../inventory/types.js';
import type { FailureAction, FailureActionType, FailureSettings, VerifySpec } from '../remote/protocol.js';
import { InputError } from '../util/errors.js';
import { isSecretLookingName, type Secret } from '../util/secret.js';
import { accountKind } from '../util/windows-account.js';
import { binaryPathProblem } from './binpath.js';
import { renderCommandLine } from './cmdline-template.js';
import type { ChangeSpec, ServiceSpec } from './load.js';
import { renderTemplate, TemplateError } from './template.js';

/** A ServiceChange, plus where the account password comes from when it was not resolved. */
export type HostServiceRequest = ServiceChange & { passwordRef?: SecretRef };

/** Resolved passwords, by service entry index. */
export type SpecSecrets = ReadonlyMap<number, Secret>;

/** Resolve every password reference of the spec (each distinct reference once). */
export async function resolveSpecSecrets(spec: ChangeSpec, ctx: Omit<SecretContext, 'baseDir'> & { baseDir?: string }): Promise<SpecSecrets> {
  const out = new Map<number, Secret>();
  const byRef = new Map<string, Secret>();
  for (const [i, s] of spec.services.entries()) {
    const ref = s.set.account?.password;
    if (!ref) continue;
    const key = JSON.stringify(ref);
    let secret = byRef.get(key);
    if (!secret) {
      const where = locationOf(spec.doc, [...s.path, 'set', 'account', 'password']);
      secret = await resolveSecretRef(
        ref,
        { ...ctx, baseDir: ctx.baseDir ?? dirname(spec.file) },
        where,
        `Password for ${s.set.account!.name} (service ${s.service})`,
      );
      byRef.set(key, secret);
    }
    out.set(i, secret);
  }
  return out;
}

/** The requests for one host, one per service of the spec, in spec order. */
export function renderHostRequests(spec: ChangeSpec, host: Pick<HostSpec, 'name' | 'vars'>, secrets?: SpecSecrets): HostServiceRequest[] {
  return spec.services.map((s, i) => renderService(spec, s, host, secrets?.get(i)));
}

function renderService(spec: ChangeSpec, s: ServiceSpec, host: Pick<HostSpec, 'name' | 'vars'>, secret: Secret | undefined): HostServiceRequest {
  const ctx = { host: host.name, vars: host.vars };
  const where = (path: PathSegment[]): ReturnType<typeof locationOf> => ({ ...locationOf(spec.doc, [...s.path, ...path]), host: host.name });
  const fail = (message: string, path: PathSegment[]): never => {
    throw new InputError(message, where(path));
  };
  /**
   * Fill a template; inserted values must not carry control characters. In a command line (binaryPath, failure
   * command) each value also stays exactly one argument (cmdline-template.ts).
   */
  const text = (value: string, path: PathSegment[], opts: { commandLine?: boolean } = {}): string => {
    const check = (name: string, inserted: string): void => {
      if (/[\0-\x08\x0a-\x1f\x7f]/.test(inserted)) {
        throw new TemplateError(`variable ${name} of host ${host.name} contains a control character`);
      }
    };
    try {
      return opts.commandLine ? renderCommandLine(value, ctx, check) : renderTemplate(value, ctx, check);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      // A value under a secret-looking name (DB_PASSWORD: 'pa{{ss') must not reach a message, not even a part
      // of it that happens to look like a variable name.
      const key = path[path.length - 1];
      if (typeof key === 'string' && isSecretLookingName(key)) {
        return fail(
          `the value of ${key} is not a valid template (the value is not shown: its name says it is a secret); only {{ variable }} and {{ variable | default('x') }} are allowed, and {{ cannot be written literally`,
          path,
        );
      }
      return fail(err.message, path);
    }
  };

  const set = s.set;
  const desired: NonNullable<ServiceChange['desired']> = {};
  if (set.binaryPath !== undefined) {
    const path = text(set.binaryPath, ['set', 'binaryPath'], { commandLine: true });
    const problem = binaryPathProblem(path);
    if (problem) fail(problem, ['set', 'binaryPath']);
    desired.binaryPath = path;
  }
  if (set.args) {
    const args: NonNullable<typeof desired.args> = {};
    if (set.args.set) {
      args.set = {};
      for (const [flag, v] of Object.entries(set.args.set)) {
        args.set[flag] = v === true ? true : text(String(v), ['set', 'args', 'set', flag]);
      }
    }
    if (set.args.remove) args.remove = [...set.args.remove];
    desired.args = args;
  }
  if (set.startType !== undefined) desired.startType = set.startType;
  if (set.errorControl !== undefined) desired.errorControl = set.errorControl;
  if (set.displayName !== undefined) {
    desired.displayName = text(set.displayName, ['set', 'displayName']);
    if (desired.displayName.length > 256) fail('displayName is longer than 256 characters after rendering', ['set', 'displayName']);
  }
  if (set.description !== undefined) desired.description = text(set.description, ['set', 'description']);
  if (set.account) {
    desired.account = { name: text(set.account.name, ['set', 'account', 'name']) };
    // Virtual (NT SERVICE\x) and managed (x$) accounts take a NULL password; a password breaks their logon (1069).
    const kind = accountKind(desired.account.name);
    if (set.account.password && (kind === 'virtual' || kind === 'managed')) {
      fail(`${desired.account.name} is a ${kind} account: Windows manages its password, so it takes none`, ['set', 'account', 'password']);
    }
    if (secret) desired.account.password = secret;
    // Without the resolved secret (plan, render) the engine is told that apply will carry one: a plan needs none.
    else if (set.account.password) desired.account.passwordAtApply = true;
    if (set.account.rotatePassword) desired.account.rotatePassword = true;
    if (set.account.rollbackPassword) desired.account.rollbackPassword = set.account.rollbackPassword;
    if (set.account.grantLogonRight !== undefined) desired.account.grantLogonRight = set.account.grantLogonRight;
  }
  if (set.dependencies) desired.dependencies = set.dependencies.map((d, i) => text(d, ['set', 'dependencies', i]));
  if (set.loadOrderGroup !== undefined) desired.loadOrderGroup = text(set.loadOrderGroup, ['set', 'loadOrderGroup']);
  if (set.failure) {
    const f: Partial<FailureSettings> = {};
    if (set.failure.resetPeriod !== undefined) f.resetPeriod = set.failure.resetPeriod;
    if (set.failure.actions) f.actions = set.failure.actions.map(failureAction);
    if (set.failure.rebootMessage !== undefined) f.rebootMessage = text(set.failure.rebootMessage, ['set', 'failure', 'rebootMessage']);
    if (set.failure.command !== undefined) f.command = text(set.failure.command, ['set', 'failure', 'command'], { commandLine: true });
    if (set.failure.nonCrashFailures !== undefined) f.nonCrashFailures = set.failure.nonCrashFailures;
    desired.failure = f;
  }
  if (set.environment !== undefined) {
    if (set.environment === null) desired.environment = null;
    else {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(set.environment)) {
        Object.defineProperty(env, k, { value: text(String(v), ['set', 'environment', k]), enumerable: true, writable: true, configurable: true });
      }
      desired.environment = env;
    }
  }

  const verify: VerifySpec = {};
  for (const [k, v] of Object.entries(s.verify)) {
    if (k === 'port' && typeof v === 'string') {
      const rendered = text(v, ['verify', 'port']).trim();
      const n = /^\d+$/.test(rendered) ? Number(rendered) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 65535)
        fail(`verify.port must be a port number from 1 to 65535, got ${JSON.stringify(rendered)}`, ['verify', 'port']);
      verify.port = n;
    } else if (k === 'http' && v && typeof v === 'object') {
      const http = v as NonNullable<VerifySpec['http']>;
      verify.http = { ...http, url: text(http.url, ['verify', 'http', 'url']) };
    } else {
      (verify as Record<string, unknown>)[k] = v;
    }
  }

  const service = text(s.service, ['service']);
  if (!/^[^\\/]{1,256}$/.test(service)) fail(`the service name ${JSON.stringify(service)} is not valid (1-256 characters, no / or \\)`, ['service']);
  const out: HostServiceRequest = {
    service,
    desired,
    restart: s.restart,
    verify,
    rollback: s.rollback,
  };
  if (s.dependents) out.dependents = s.dependents;
  if (s.timeouts) out.timeouts = { ...s.timeouts };
  if (!secret && set.account?.password) out.passwordRef = set.account.password;
  return out;
}

function failureAction(a: string | FailureAction): FailureAction {
  if (typeof a !== 'string') return { type: a.type, delayMs: a.delayMs };
  const [type, delay] = a.split('/');
  return { type: type as FailureActionType, delayMs: Number(delay) };
}
