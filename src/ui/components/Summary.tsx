/** The end-of-run screen: the same title, counts, grouped outcomes and next commands the plain output prints. */
import { Box, Text } from 'ink';
import { formatGroup, type RunSummary } from '../../report/run-text.js';
import { BUCKET_COLOR, tint } from '../theme.js';
import { useTheme } from '../theme-context.js';

export function Summary({ summary, maxGroups }: { summary: RunSummary; maxGroups: number }) {
  const theme = useTheme();
  const groups = summary.groups.length > maxGroups ? summary.groups.slice(0, Math.max(1, maxGroups - 1)) : summary.groups;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {summary.title}
      </Text>
      <Text wrap="truncate">{summary.counts}</Text>
      <Text bold>Outcomes:</Text>
      {groups.map((g) => (
        <Text key={`${g.outcome}|${g.error.code}|${g.error.message}`} wrap="truncate">
          {'  '}
          <Text {...tint(theme, BUCKET_COLOR[g.outcome])}>{formatGroup(g)}</Text>
        </Text>
      ))}
      {groups.length < summary.groups.length ? <Text dimColor> … {summary.groups.length - groups.length} more (svcfleet show shows all)</Text> : null}
      {summary.next.length ? <Text bold>Next:</Text> : null}
      {summary.next.map((c) => (
        <Text key={c} wrap="truncate">
          {'  '}
          {c}
        </Text>
      ))}
    </Box>
  );
}
