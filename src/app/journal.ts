/** The journal as the use cases open it, and what they record about each host. */
import { accessSync, constants as fsConstants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ResolvedConfig } from '../config/schema.js';
import type { ServiceChange } from '../engine/types.js';
import type { HostSpec } from '../inventory/types.js';
import { hostsRolledBack, type RolledBackHost } from '../journal/replay.js';
import { Journal, type JournalHost } from '../journal/store.js';
import type { OutgoingRequest } from '../remote/invocation.js';
import { PROTOCOL_VERSION } from '../remote/protocol.js';
import { redactRequest } from '../remote/redact.js';
import { InputError } from '../util/errors.js';
import type { AppContext } from './context.js';

export function openJournal(config: ResolvedConfig, ctx: AppContext): Journal {
  const root = resolve(ctx.cwd, config.journal);
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    accessSync(root, fsConstants.W_OK);
  } catch (e) {
    throw new InputError(`cannot use the journal directory ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { field: '--journal' });
  }
  return new Journal(root);
}

/**
 * Hosts that rollback runs of `runId` took back, found by scanning the journal's run manifests (a rollback run
 * names its parent), so that continuing the run can leave them alone.
 */
export async function laterRollbacks(journal: Journal, runId: string): Promise<Map<string, RolledBackHost>> {
  const rollbacks = [];
  for (const m of await journal.listRuns()) if (m.mode === 'rollback' && m.parentRunId === runId) rollbacks.push(await journal.readRun(m.runId));
  return hostsRolledBack(rollbacks);
}

/** A host as the journal records it: its changes redacted like the request that is sent. */
export function journalHost(h: HostSpec, changes?: readonly ServiceChange[], plannedHashes?: Record<string, string>): JournalHost {
  return {
    name: h.name,
    groups: h.groups,
    vars: h.vars,
    connection: { ...h.connection } as unknown as Record<string, unknown>,
    ...(changes
      ? {
          changes: changes
            .map((c) => redactRequest({ v: PROTOCOL_VERSION, op: 'apply', nonce: '', runId: '', ...c } as OutgoingRequest))
            .map(({ v: _v, op: _op, nonce: _n, runId: _r, ...rest }) => rest),
        }
      : {}),
    ...(plannedHashes ? { plannedHashes } : {}),
  };
}

/** An output file (--junit, -o) is checked before anything runs: its directory must exist and be writable. */
export function checkWritableFile(ctx: AppContext, file: string | undefined, field: string): string | undefined {
  if (file === undefined) return undefined;
  const abs = resolve(ctx.cwd, file);
  try {
    if (!statSync(dirname(abs)).isDirectory()) throw new Error('not a directory');
    accessSync(dirname(abs), fsConstants.W_OK);
  } catch {
    throw new InputError(`cannot write ${abs}: its directory does not exist or is not writable`, { field });
  }
  return abs;
}
