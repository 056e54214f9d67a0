/** Two header lines: what run this is and its status; then strategy, budget, elapsed, ETA and rate. */
import { Box, Text } from 'ink';
import type { RunState } from '../../state/run-state.js';
import { progress } from '../../state/queries.js';
import { formatDuration } from '../../report/run-text.js';
import { tint } from '../theme.js';
import { useTheme } from '../theme-context.js';

export function statusBadge(s: RunState): { text: string; color: string } {
  if (s.done) return { text: `DONE exit ${s.done.exitCode}`, color: s.done.exitCode === 0 ? 'green' : 'red' };
  if (s.aborting) return { text: `ABORTING (in-flight ${s.aborting.inFlight === 'finish' ? 'finish' : 'roll back'})`, color: 'red' };
  if (s.paused) return { text: `PAUSED (${s.paused.reason})`, color: 'yellow' };
  return { text: 'RUNNING', color: 'cyan' };
}

export function Header({
  state: s,
  now,
  width,
  warnings = [],
  maxWarnings = 3,
}: {
  state: RunState;
  now: number;
  width: number;
  warnings?: readonly string[];
  maxWarnings?: number;
}) {
  const theme = useTheme();
  const p = progress(s, now);
  const badge = statusBadge(s);
  const first = [
    `svcfleet ${s.mode ?? 'apply'}`,
    `run ${s.runId ?? '…'}`,
    s.specFile ? `spec ${s.specFile}` : undefined,
    s.services.length ? `service ${s.services.join(', ')}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const st = s.strategy;
  const left = Math.max(0, s.budget.limit - s.budget.used);
  const second = [
    st?.canaryDefault ? `canary: ${st.canary.join(', ')} (default; --no-canary to skip)` : st?.canary.length ? `canary ${st.canary.length}` : undefined,
    s.batch ? `batch ${s.batch.index + 1}/${s.batch.total}${s.batch.canary ? ' (canary)' : ''}` : undefined,
    st ? `concurrency ${st.concurrency}` : undefined,
    `budget ${s.budget.used}/${s.budget.limit} used, ${left} left${s.budget.exceeded ? ' (EXCEEDED)' : ''}`,
    `elapsed ${formatDuration(p.elapsedMs)}`,
    p.etaMs !== undefined && !s.done ? `ETA ${formatDuration(p.etaMs)}` : s.paused ? 'ETA paused' : undefined,
    p.hostsPerMinute !== undefined ? `${p.hostsPerMinute.toFixed(1)} hosts/min` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const room = Math.max(10, width - badge.text.length - 1);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>{first.length > room ? `${first.slice(0, room - 1)}…` : first.padEnd(room)}</Text>{' '}
        <Text bold inverse={!theme.color} {...tint(theme, badge.color)}>
          {badge.text}
        </Text>
      </Text>
      <Text wrap="truncate">{second}</Text>
      {warningLines(warnings, maxWarnings).map((w, i) => (
        <Text key={i} wrap="truncate" bold {...tint(theme, 'yellow')}>
          {w}
        </Text>
      ))}
    </Box>
  );
}

/** The command's warnings, one line each; the last line says how many more there are (all are on stderr). */
export function warningLines(warnings: readonly string[], max: number): string[] {
  if (warnings.length <= max) return warnings.map((w) => `warning: ${w}`);
  const shown = warnings.slice(0, max - 1).map((w) => `warning: ${w}`);
  return [...shown, `warning: ${warnings[max - 1]} (+${warnings.length - max} more on stderr)`];
}
