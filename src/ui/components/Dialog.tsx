/** A modal question: a bordered box with a title, explanation lines and the keys that answer it. */
import { Box, Text } from 'ink';
import { tint } from '../theme.js';
import { useTheme } from '../theme-context.js';

export interface DialogProps {
  title: string;
  lines: readonly string[];
  choices: readonly { key: string; label: string }[];
  color?: string;
}

export function Dialog({ title, lines, choices, color = 'yellow' }: DialogProps) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} {...(theme.color ? { borderColor: color } : {})}>
      <Text bold {...tint(theme, color)} wrap="truncate">
        {title}
      </Text>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l}
        </Text>
      ))}
      <Text wrap="truncate">
        {choices.map((c, i) => (
          <Text key={c.key}>
            {i > 0 ? '   ' : ''}
            <Text bold>[{c.key}]</Text> {c.label}
          </Text>
        ))}
      </Text>
    </Box>
  );
}
