/**
 * `svcfleet show RUN`: every host of a journaled run with its outcome and per-service diff — including hosts the
 * controller never finished (crash, kill -9), which are named as such with what the journal knows about them.
 * `runs`: the journal's run list.
 */
import type { FieldChange, StartEvidence } from '../remote/protocol.js';
import type { RunManifest, RunRecord } from '../journal/store.js';
import { replayRun } from '../journal/replay.js';
import { reasonText } from './run-text.js';
import { formatChange } from './summary.js';

export interface ShownHost {
  name: string;
  /** Terminal outcome, or null when none was recorded. */
  outcome: string | null;
  /** The last active state recorded, for hosts without an outcome. */
  lastState?: string;
  reason?: { code: string; win32?: number; errorClass?: string };
  message?: string;
  /** service -> the last planned diff recorded for it. */
  diffs: Record<string, FieldChange[]>;
  /** Services whose before-snapshot is in the journal (apply was, or may have been, sent). */
  snapshots: string[];
  /** What the service said at its last failed start, when one was recorded. */
  evidence?: StartEvidence;
}

export interface ShownRun {
  runId: string;
  mode: string;
  status: 'done' | 'running' | 'interrupted';
  manifest: RunManifest;
  hosts: ShownHost[];
  counts: Record<string, number>;
  /** Journal damage seen while reading (torn last line after a crash, checksum failures). */
  journal: { damagedLines: number; tornTail: boolean };
}

export function showRun(record: RunRecord): ShownRun {
  const replay = replayRun(record);
  const diffs = new Map<string, Record<string, FieldChange[]>>();
  const evidence = new Map<string, StartEvidence>();
  for (const e of record.events) {
    if (e.type === 'host-evidence') evidence.set(e.host, e.evidence);
    if (e.type !== 'host-diff') continue;
    let d = diffs.get(e.host);
    if (!d) diffs.set(e.host, (d = {}));
    d[e.service] = e.changes;
  }
  const counts: Record<string, number> = {};
  const hosts = replay.hosts.map((h): ShownHost => {
    const st = replay.state.hosts.get(h.name);
    const key = h.outcome ?? 'no outcome';
    counts[key] = (counts[key] ?? 0) + 1;
    return {
      name: h.name,
      outcome: h.outcome ?? null,
      ...(h.outcome === undefined && st ? { lastState: st.state } : {}),
      ...(st?.result ? { reason: st.result.reason, message: st.result.message } : {}),
      diffs: diffs.get(h.name) ?? {},
      snapshots: h.snapshotServices,
      ...(evidence.has(h.name) ? { evidence: evidence.get(h.name)! } : {}),
    };
  });
  const m = record.manifest;
  return {
    runId: m.runId,
    mode: m.mode,
    status: m.status === 'done' ? 'done' : record.interrupted ? 'interrupted' : 'running',
    manifest: m,
    hosts,
    counts,
    journal: { damagedLines: record.damaged, tornTail: record.tornTail },
  };
}

export function formatShow(run: ShownRun): string[] {
  const m = run.manifest;
  const lines: string[] = [];
  const origin = [
    m.specFile ? `spec ${m.specFile}` : '',
    m.inventorySource ? `inventory ${m.inventorySource}` : '',
    m.limit ? `limit ${m.limit}` : '',
    m.parentRunId ? `rollback of ${m.parentRunId}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  lines.push(
    `Run ${run.runId} (${run.mode}) ${run.status}${m.exitCode !== undefined && run.status === 'done' ? `, exit ${m.exitCode}` : ''}; started ${m.createdAt}${origin ? `; ${origin}` : ''}`,
  );
  lines.push(
    `${run.hosts.length} hosts: ${Object.entries(run.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ')}`,
  );
  if (run.journal.tornTail || run.journal.damagedLines) {
    lines.push(
      `journal: ${run.journal.tornTail ? 'the last line was cut off by a crash (ignored)' : ''}${run.journal.damagedLines ? ` ${run.journal.damagedLines} damaged line(s) skipped` : ''}`.trim(),
    );
  }
  const width = Math.max(4, ...run.hosts.map((h) => h.name.length));
  for (const h of run.hosts) {
    const name = h.name.padEnd(width);
    if (h.outcome === null) {
      const where = h.lastState && h.lastState !== 'queued' ? `stopped while ${h.lastState}` : 'never started';
      const snap = h.snapshots.length
        ? `; before-snapshot journaled (${h.snapshots.join(', ')}): \`svcfleet rollback ${run.runId}\` restores it, \`svcfleet resume ${run.runId}\` finishes it`
        : '; nothing was sent to it';
      lines.push(`${name}  no outcome recorded: ${where}${snap}`);
    } else {
      const reason = h.reason && !['ok', 'no-change', 'would-change'].includes(h.reason.code) ? ` [${reasonText(h.reason)}]` : '';
      lines.push(`${name}  ${h.outcome}: ${h.message ?? ''}${reason}`);
    }
    for (const [service, changes] of Object.entries(h.diffs)) {
      for (const c of changes) lines.push(`${' '.repeat(width)}    ${service}: ${formatChange(c)}`);
    }
    if (h.evidence) lines.push(...evidenceLines(h.evidence).map((l) => `${' '.repeat(width)}    ${l}`));
  }
  return lines;
}

/** Start-failure evidence as text: the exit codes, then the logged lines, oldest first. */
export function evidenceLines(ev: StartEvidence): string[] {
  const codes = [
    ev.win32ExitCode !== null ? `Win32 exit code ${ev.win32ExitCode}` : '',
    ev.serviceExitCode !== null && ev.serviceExitCode !== 0 ? `service exit code ${ev.serviceExitCode}` : '',
  ].filter(Boolean);
  const out = [`${ev.service} failed to start${codes.length ? `: ${codes.join(', ')}` : ''}; last lines logged about it:`];
  if (ev.lines.length === 0) out.push('  (none found)');
  if (ev.truncated) out.push('  … earlier lines left out');
  for (const l of ev.lines) out.push(`  ${l.at.slice(11, 19)} ${l.source}${l.id ? ` ${l.id}` : ''}: ${l.text}`);
  return out;
}

export function formatRuns(runs: (RunManifest & { interrupted: boolean })[]): string[] {
  if (runs.length === 0) return ['no runs in the journal'];
  const lines = ['RUN                     MODE      STATUS       EXIT  HOSTS  STARTED                   COUNTS'];
  for (const r of runs) {
    const status = r.status === 'done' ? 'done' : r.interrupted ? 'interrupted' : 'running';
    const counts = r.counts
      ? Object.entries(r.counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ')
      : '';
    lines.push(
      `${r.runId.padEnd(24)}${r.mode.padEnd(10)}${status.padEnd(13)}${String(r.exitCode ?? '-').padEnd(6)}${String(r.hostCount).padEnd(7)}${r.createdAt.padEnd(26)}${counts}${r.parentRunId ? ` (rollback of ${r.parentRunId})` : ''}`,
    );
  }
  return lines;
}
