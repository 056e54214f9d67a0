/**
 * render: the exact bootstrap and stdin payload that would go to one host for a spec (secrets redacted, the
 * password never resolved). Contacts nothing.
 */
import { resolve } from 'node:path';
import type { HostSpec } from '../inventory/types.js';
import { buildInvocation, buildPayload, type OutgoingRequest } from '../remote/invocation.js';
import { PROTOCOL_VERSION } from '../remote/protocol.js';
import { loadPsScripts } from '../remote/scripts.js';
import { loadSpec } from '../spec/load.js';
import { renderHostRequests } from '../spec/render.js';
import { InputError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { type ConfigOptions, loadAppConfig } from './config.js';
import type { AppContext } from './context.js';
import { stripRef } from './run.js';
import { type TargetOptions, loadHosts } from './targets.js';

export interface RenderOptions extends ConfigOptions, TargetOptions {
  spec: string;
  host: string;
  /** Include the whole remote engine script in the payload. */
  full?: boolean;
}

export interface RenderedRequest {
  service: string;
  /** Where the account password comes from (a reference), if the spec sets one. */
  passwordFrom: unknown;
  encodedCommand: string;
  bootstrap: string;
  payload: { script: string; native: string; request: unknown };
  /** The second stdin line, when the spec sets an account password: the password never goes into the JSON line. */
  passwordLine?: string;
}

export interface RenderResult {
  host: HostSpec;
  requests: RenderedRequest[];
}

export async function render(options: RenderOptions, ctx: AppContext): Promise<RenderResult> {
  if (!options.spec) throw new InputError('no change spec given: svcfleet render SPEC --host HOST -i INVENTORY', { field: 'SPEC' });
  if (!options.host) throw new InputError('which host? use --host HOST', { field: '--host' });
  const config = await loadAppConfig(options, ctx);
  const inv = await loadHosts(options, config, ctx);
  const host = inv.hosts.find((h) => h.name === options.host);
  if (!host) throw new InputError(`host ${options.host} is not in the inventory (or not selected by --limit)`, { field: '--host', host: options.host });
  const spec = loadSpec(resolve(ctx.cwd, options.spec));
  const requests = renderHostRequests(spec, host);
  const scripts = loadPsScripts();
  const rendered = requests.map((r) => {
    const request: OutgoingRequest = {
      v: PROTOCOL_VERSION,
      op: 'apply',
      nonce: '<per-call random nonce>',
      runId: '<run id>',
      expectedHash: '<configHash of the journaled before-snapshot>',
      ...stripRef(r),
    };
    // The password is never resolved for render; show where it goes (and where it comes from).
    if (r.passwordRef && request.desired?.account) request.desired = { ...request.desired, account: { ...request.desired.account, password: new Secret('') } };
    const invocation = buildInvocation(request);
    const shown = buildPayload(request).request;
    const payload = options.full
      ? { script: scripts.engine, native: scripts.native, request: shown }
      : {
          script: `<ps-scripts/engine.ps1: ${scripts.engine.length} characters; --full prints it>`,
          native: `<ps-scripts/native.ps1: ${scripts.native.length} characters, loaded only for a request that needs native code; --full prints it>`,
          request: shown,
        };
    const passwordLine = request.desired?.account?.password === undefined ? {} : { passwordLine: `hex:${Secret.redacted}` };
    return {
      service: r.service,
      passwordFrom: r.passwordRef,
      encodedCommand: invocation.encodedCommand,
      bootstrap: scripts.bootstrap,
      payload,
      ...passwordLine,
    };
  });
  return { host, requests: rendered };
}
