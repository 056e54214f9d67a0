/** The run's hosts as one bar split by state, plus a legend with the count of every non-empty state. */
import { Box, Text } from 'ink';
import { STATE_BUCKETS, type RunState, type StateBucket } from '../../state/run-state.js';
import { bucketCounts } from '../../state/queries.js';
import { BAR_GLYPH_COLOR, BAR_GLYPH_QUEUED_COLOR, BUCKET_COLOR, BUCKET_GLYPH, tint } from '../theme.js';
import { useTheme } from '../theme-context.js';

/**
 * Bar and legend order: finished hosts first, then running, then queued, so the bar fills from the left as a
 * progress bar does.
 */
const BAR_ORDER: readonly StateBucket[] = [...STATE_BUCKETS.filter((b) => b !== 'queued' && b !== 'running'), 'running', 'queued'];

/** Split `width` cells among the buckets by count (largest remainder, so the cells always add up). */
export function barSegments(counts: Record<StateBucket, number>, width: number): [StateBucket, number][] {
  const total = BAR_ORDER.reduce((n, b) => n + counts[b], 0);
  if (total === 0 || width <= 0) return [];
  const exact = BAR_ORDER.map((b) => [b, (counts[b] * width) / total] as const);
  const cells = exact.map(([b, x]) => [b, Math.floor(x), x - Math.floor(x)] as [StateBucket, number, number]);
  let left = width - cells.reduce((n, c) => n + c[1], 0);
  // Give the leftover cells to the largest remainders, but never to an empty bucket.
  for (const c of [...cells].sort((a, b) => b[2] - a[2])) {
    if (left <= 0) break;
    if (counts[c[0]] > 0) {
      c[1]++;
      left--;
    }
  }
  return cells.filter((c) => c[1] > 0).map((c) => [c[0], c[1]]);
}

export function ProgressBar({ state, width }: { state: RunState; width: number }) {
  const theme = useTheme();
  const counts = bucketCounts(state);
  const total = state.hostOrder.length;
  const label = ` ${state.finished}/${total}`;
  const barWidth = Math.max(10, width - label.length - 2);
  const segs = barSegments(counts, barWidth);
  const glyph = (b: StateBucket) => (theme.color ? (b === 'queued' ? BAR_GLYPH_QUEUED_COLOR : BAR_GLYPH_COLOR) : BUCKET_GLYPH[b]);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        [
        {segs.map(([b, n]) => (
          <Text key={b} {...tint(theme, BUCKET_COLOR[b])}>
            {glyph(b).repeat(n)}
          </Text>
        ))}
        ]{label}
      </Text>
      <Text wrap="truncate">
        {BAR_ORDER.filter((b) => counts[b] > 0).map((b, i) => (
          <Text key={b}>
            {i > 0 ? '  ' : ''}
            <Text {...tint(theme, BUCKET_COLOR[b])}>{theme.color ? '■' : BUCKET_GLYPH[b]}</Text>
            {` ${b} ${counts[b]}`}
          </Text>
        ))}
      </Text>
    </Box>
  );
}
