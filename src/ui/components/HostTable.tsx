/**
 * The host table, virtualized: the caller passes the full ordered list and the table renders only the
 * `height` rows in view, so 10,000 hosts cost the same per frame as 20 (plus one pass to order/filter).
 */
import { memo } from 'react';
import { Box, Text } from 'ink';
import { bucketOf, isTerminal, type HostRunState } from '../../state/run-state.js';
import { hostElapsedMs } from '../../state/queries.js';
import { formatDuration } from '../../report/run-text.js';
import { BUCKET_COLOR, tint } from '../theme.js';
import { useTheme } from '../theme-context.js';

export interface HostTableProps {
  rows: readonly HostRunState[];
  cursor: number;
  offset: number;
  height: number;
  width: number;
  now: number;
  tagged: ReadonlySet<string>;
  total: number;
  filter: string;
}

function cut(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

function fit(text: string, width: number): string {
  return cut(text, width).padEnd(width);
}

function info(h: HostRunState): string {
  if (isTerminal(h.state)) {
    if (h.result && h.state !== 'changed' && h.state !== 'unchanged') return h.result.message;
    if (h.changes.length) return `${h.changes.length} field${h.changes.length === 1 ? '' : 's'}: ${h.changes.map((c) => c.field).join(', ')}`;
    return h.result?.message ?? '';
  }
  const last = h.log[h.log.length - 1];
  return last ? last.text : '';
}

interface HostRowProps {
  head: string;
  state: string;
  color: string | undefined;
  rest: string;
  selected: boolean;
}

/**
 * One table row, as three text children (plain, coloured state, plain) rather than one per column: every child is
 * a React fiber and an Ink text node, reconciled and squashed on every frame. Memoized on its text, so a row that
 * reads the same as in the last frame (a finished or queued host) is not rendered, committed or measured again.
 */
const HostRow = memo(function HostRow({ head, state, color, rest, selected }: HostRowProps) {
  return (
    <Text wrap="truncate" inverse={selected} bold={selected}>
      {head}
      <Text {...(color ? { color } : {})}>{state}</Text>
      {rest}
    </Text>
  );
});

export function HostTable(p: HostTableProps) {
  const theme = useTheme();
  const visible = p.rows.slice(p.offset, p.offset + p.height);
  let nameW = 8;
  for (const h of visible) nameW = Math.max(nameW, h.name.length);
  nameW = Math.min(nameW, 28);
  const stateW = 15;
  const phaseW = 13;
  const elapsedW = 8;
  const fixed = 2 + nameW + 1 + stateW + 1 + phaseW + 1 + elapsedW + 1 + 3 + 1 + 3 + 1;
  const infoW = Math.max(0, p.width - fixed);
  const title = `Hosts ${p.rows.length === p.total ? p.total : `${p.rows.length} of ${p.total}`}${
    p.filter ? ` · filter: ${p.filter}` : ''
  }${p.tagged.size ? ` · ${p.tagged.size} tagged` : ''}${p.rows.length > p.height ? ` · ${p.offset + 1}-${p.offset + visible.length}` : ''}`;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {title}
      </Text>
      <Text dimColor wrap="truncate">
        {`  ${fit('HOST', nameW)} ${fit('STATE', stateW)} ${fit('PHASE', phaseW)} ${fit('ELAPSED', elapsedW)} ${fit('TRY', 3)} ${fit('BAT', 3)} INFO`}
      </Text>
      {visible.length === 0 ? <Text dimColor> (no hosts match)</Text> : null}
      {visible.map((h, i) => {
        const selected = p.offset + i === p.cursor;
        const ms = hostElapsedMs(h, p.now);
        const mark = `${selected ? '›' : ' '}${p.tagged.has(h.name) ? '*' : ' '}`;
        const batch = h.batch === undefined ? '' : h.canary ? 'C' : String(h.batch + 1);
        const rest =
          ` ${fit(h.remotePhase ?? '', phaseW)} ${fit(ms === undefined ? '' : formatDuration(ms), elapsedW)} ` +
          `${fit(h.attempts ? String(h.attempts) : '', 3)} ${fit(batch, 3)} ${cut(info(h), infoW)}`;
        return (
          <HostRow
            key={h.name}
            head={`${mark}${fit(h.name, nameW)} `}
            state={fit(h.state, stateW)}
            color={tint(theme, BUCKET_COLOR[bucketOf(h.state)]).color}
            rest={rest}
            selected={selected}
          />
        );
      })}
    </Box>
  );
}
