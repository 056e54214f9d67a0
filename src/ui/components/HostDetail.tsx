/**
 * One host in full: result, rollback result, phase timeline, before/after diff, the request that was sent
 * (redacted by the caller), and the live log tail. Built as a flat list of lines so it scrolls like the table.
 */
import { Box, Text } from 'ink';
import { bucketOf, type HostRunState } from '../../state/run-state.js';
import { hostElapsedMs } from '../../state/queries.js';
import { formatDuration, reasonText } from '../../report/run-text.js';
import { evidenceLines } from '../../report/show.js';
import { BUCKET_COLOR, tint } from '../theme.js';
import { useTheme } from '../theme-context.js';

export interface DetailLine {
  text: string;
  color?: string;
  bold?: boolean;
  dim?: boolean;
}

const clock = (iso: string) => iso.slice(11, 19);

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  return JSON.stringify(v);
}

export function detailLines(h: HostRunState, request: unknown, now: number, width: number): DetailLine[] {
  const out: DetailLine[] = [];
  const ms = hostElapsedMs(h, now);
  const head = [
    `Host ${h.name}`,
    h.service ? `service ${h.service}` : undefined,
    `state ${h.state}${h.remotePhase ? ` (${h.remotePhase})` : ''}`,
    `attempts ${h.attempts}`,
    h.batch !== undefined ? (h.canary ? 'canary batch' : `batch ${h.batch + 1}`) : undefined,
    ms !== undefined ? `elapsed ${formatDuration(ms)}` : undefined,
  ].filter(Boolean);
  out.push({ text: head.join(' · '), bold: true, color: BUCKET_COLOR[bucketOf(h.state)] });

  if (h.result) {
    const r = h.result;
    const why = reasonText(r.reason, r.outcome);
    out.push({ text: `Result: ${r.outcome}${r.message ? ` — ${r.message}` : ''}${why ? ` [${why}]` : ''}`, color: BUCKET_COLOR[r.outcome] });
    if (r.outcome === 'rolled-back') out.push({ text: 'Rollback: succeeded — the service is back to its snapshot', color: 'yellow' });
    if (r.outcome === 'rollback-failed')
      out.push({ text: 'Rollback: FAILED — the host needs attention (svcfleet rollback RUN)', color: 'magenta', bold: true });
  }
  if (h.lastError && h.result?.outcome !== undefined && h.lastError.message !== h.result.message) {
    out.push({ text: `Last error (earlier attempt): ${h.lastError.message} [${h.lastError.code}]`, dim: true });
  }

  if (h.evidence) {
    out.push({ text: '' }, { text: 'Service evidence (last failed start)', bold: true });
    for (const line of evidenceLines(h.evidence)) out.push({ text: `  ${line}`, color: line.startsWith(' ') ? undefined : 'red' });
  }

  out.push({ text: '' }, { text: 'Timeline', bold: true });
  if (h.timelineDropped) out.push({ text: `  … ${h.timelineDropped} earlier steps`, dim: true });
  const t0 = h.timeline[0] ? Date.parse(h.timeline[0].at) : 0;
  for (const t of h.timeline) {
    const rel = `+${((Date.parse(t.at) - t0) / 1000).toFixed(1)}s`;
    out.push({
      text: `  ${clock(t.at)} ${rel.padStart(8)}  ${t.state}${t.remotePhase ? ` (${t.remotePhase})` : ''}`,
      color: BUCKET_COLOR[bucketOf(t.state)],
    });
  }

  out.push({ text: '' }, { text: `Diff${h.configHash ? ` (config ${h.configHash.slice(0, 12)})` : ''}`, bold: true });
  if (h.changes.length === 0) out.push({ text: '  (no differences reported yet)', dim: true });
  for (const c of h.changes) {
    out.push({ text: `  ${c.field}${c.restartNeeded ? ' (needs restart)' : ''}` });
    out.push({ text: `    - ${show(c.before)}`, color: 'red' });
    out.push({ text: `    + ${show(c.after)}`, color: 'green' });
  }

  out.push({ text: '' }, { text: 'Request sent (secrets redacted)', bold: true });
  if (request === undefined) out.push({ text: '  (not available for this run)', dim: true });
  else for (const line of JSON.stringify(request, null, 2).split('\n')) out.push({ text: `  ${line}` });

  out.push({ text: '' }, { text: `Log (last ${h.log.length}${h.logDropped ? `, ${h.logDropped} earlier dropped` : ''})`, bold: true });
  if (h.log.length === 0) out.push({ text: '  (no log lines yet)', dim: true });
  for (const l of h.log) {
    const color = l.level === 'error' ? 'red' : l.level === 'warn' ? 'yellow' : undefined;
    out.push({ text: `  ${clock(l.at)} ${l.level.padEnd(5)} ${l.text}`, color, dim: l.level === 'debug' });
  }
  // Cut to the width here so that one long value cannot wrap and push the rest off screen.
  return out.map((l) => (l.text.length > width ? { ...l, text: `${l.text.slice(0, Math.max(0, width - 1))}…` } : l));
}

export function HostDetail({ lines, offset, height }: { lines: readonly DetailLine[]; offset: number; height: number }) {
  const theme = useTheme();
  const shown = lines.slice(offset, offset + height);
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Text key={offset + i} wrap="truncate" bold={l.bold} dimColor={l.dim} {...tint(theme, l.color)}>
          {l.text || ' '}
        </Text>
      ))}
      {lines.length > height ? (
        <Text dimColor wrap="truncate">
          lines {offset + 1}-{Math.min(lines.length, offset + height)} of {lines.length} · ↑↓ PgUp PgDn scroll · Esc back
        </Text>
      ) : (
        <Text dimColor>Esc back</Text>
      )}
    </Box>
  );
}
