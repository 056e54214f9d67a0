/** Identical problems folded into one line each, with host ranges: "web[01-37]: failed: access denied (37)". */
import { Box, Text } from 'ink';
import type { ErrorGroup } from '../../state/queries.js';
import { formatGroup } from '../../report/run-text.js';
import { BUCKET_COLOR, tint } from '../theme.js';
import { useTheme } from '../theme-context.js';

export function ErrorPanel({ groups, maxRows }: { groups: readonly ErrorGroup[]; maxRows: number }) {
  const theme = useTheme();
  if (groups.length === 0) return null;
  const hosts = groups.reduce((n, g) => n + g.count, 0);
  const shown = groups.length > maxRows ? groups.slice(0, Math.max(0, maxRows - 1)) : groups;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        Problems: {hosts} host{hosts === 1 ? '' : 's'} in {groups.length} group{groups.length === 1 ? '' : 's'}
      </Text>
      {shown.map((g) => (
        <Text key={`${g.outcome}|${g.error.code}|${g.error.message}|${g.folded}`} wrap="truncate">
          {'  '}
          <Text {...tint(theme, BUCKET_COLOR[g.outcome])}>{formatGroup(g)}</Text>
        </Text>
      ))}
      {shown.length < groups.length ? (
        <Text dimColor wrap="truncate">
          {'  '}… {groups.length - shown.length} more group{groups.length - shown.length === 1 ? '' : 's'} (filter state:failed to see them)
        </Text>
      ) : null}
    </Box>
  );
}
