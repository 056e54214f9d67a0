import { Box, Text } from 'ink';
import { KEY_HELP } from '../keys.js';

export function Help() {
  const w = Math.max(...KEY_HELP.map((k) => k.keys.length));
  return (
    <Box flexDirection="column">
      <Text bold>Keys</Text>
      {KEY_HELP.map((k) => (
        <Text key={k.keys} wrap="truncate">
          {'  '}
          <Text bold>{k.keys.padEnd(w)}</Text> {k.action}
        </Text>
      ))}
      <Text> </Text>
      <Text wrap="truncate">With --on-failure ask, a failed host pauses the run and asks: retry, skip, or abort.</Text>
      <Text dimColor>Esc or ? closes this help</Text>
    </Box>
  );
}
