/**
 * Kerberos with TLS channel binding: svcfleet's own small Node-API addon (native/gssapi-cb, C against MIT
 * libgssapi_krb5, built by scripts/build-gssapi-cb.sh), because no npm GSSAPI binding passes channel bindings to
 * gss_init_sec_context / gss_accept_sec_context (gssapi.ts says what the `kerberos` package does). It is used only
 * for contexts that carry bindings; the `kerberos` package still does everything else.
 *
 * The bindings' application data is RFC 5929 "tls-server-end-point:" + hash of the server certificate (cbt.ts),
 * with no addresses, which is what Windows' Extended Protection for Authentication checks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KerberosError } from './gssapi.js';

/** An opaque GSS context handle (a JS external; the addon deletes the context when it is collected). */
export type GssContext = { readonly __gssContext: unique symbol };

export interface GssStep {
  context: GssContext;
  token: Buffer | null;
  complete: boolean;
  /** ret_flags (GSS_C_CHANNEL_BOUND_FLAG on the acceptor: the initiator's bindings matched). */
  flags: number;
}

export interface GssCbAddon {
  readonly GSS_C_DELEG_FLAG: number;
  readonly GSS_C_MUTUAL_FLAG: number;
  readonly GSS_C_SEQUENCE_FLAG: number;
  readonly GSS_C_CHANNEL_BOUND_FLAG: number;
  /** GSS_ROUTINE_ERROR(GSS_S_BAD_BINDINGS) >> 16, as found in a rejection's `routine`. */
  readonly ROUTINE_BAD_BINDINGS: number;
  /** mech: 0 = Kerberos 5, 1 = SPNEGO. */
  initSecContext(context: GssContext | null, target: string, flags: number, mech: 0 | 1, input: Buffer | null, appData: Buffer | null): Promise<GssStep>;
  acceptSecContext(context: GssContext | null, input: Buffer, appData: Buffer | null, service: string): Promise<GssStep & { principal: string }>;
}

/** What a rejected addon call carries besides MIT's message. */
export interface GssCallError extends Error {
  major: number;
  minor: number;
  routine: number;
}

export function isGssCallError(err: unknown): err is GssCallError {
  return err instanceof Error && typeof (err as Partial<GssCallError>).routine === 'number';
}

export const ADDON_RELATIVE_PATH = 'native/gssapi-cb/build/gssapi_cb.node';

/** The package root: the nearest directory above this module with svcfleet's package.json (src/ and dist/ alike). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'svcfleet') return dir;
      } catch {
        // not ours; keep going up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('svcfleet package root not found');
    dir = up;
  }
}

let cached: GssCbAddon | undefined;

/** The addon, or KerberosError('krb-binding-missing') saying how to build it. `path` is for tests. */
export function loadGssCb(path?: string): GssCbAddon {
  if (cached && !path) return cached;
  let file = path ?? '';
  try {
    file ||= join(packageRoot(), ADDON_RELATIVE_PATH);
    const addon = createRequire(import.meta.url)(file) as GssCbAddon;
    if (!path) cached = addon;
    return addon;
  } catch (err) {
    throw new KerberosError(
      'krb-binding-missing',
      `Kerberos channel binding needs svcfleet's GSSAPI addon (${file || ADDON_RELATIVE_PATH}), and it could not be loaded: ` +
        `${(err as Error).message.split('\n')[0]}. Install libkrb5-dev and a C compiler, then run bash scripts/build-gssapi-cb.sh (or scripts/setup.sh --peers)`,
      { cause: err },
    );
  }
}

/** True when the addon loads (transport.ts warns once per host when it does not and Kerberos goes unbound). */
export function gssCbAvailable(): boolean {
  try {
    loadGssCb();
    return true;
  } catch {
    return false;
  }
}
