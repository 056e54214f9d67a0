/**
 * Colours and glyphs per state. With colour, the progress bar is solid blocks in state colours; without
 * (NO_COLOR, or a terminal without colours) every state gets its own glyph so the bar still reads.
 * NO_COLOR (https://no-color.org): set and non-empty means no colour; bold/inverse stay (they are not colour).
 * No React in this module: index.ts imports it before React is loaded (see index.ts on NODE_ENV).
 */
import type { StateBucket } from '../state/run-state.js';

export interface Theme {
  color: boolean;
}

export function colorWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !(env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '');
}

/** Ink colour names per bucket; `undefined` means the terminal's default colour. */
export const BUCKET_COLOR: Record<StateBucket, string | undefined> = {
  queued: 'gray',
  running: 'cyan',
  changed: 'green',
  unchanged: 'blue',
  failed: 'red',
  'rolled-back': 'yellow',
  'rollback-failed': 'magenta',
  unreachable: 'redBright',
  drifted: 'yellowBright',
  skipped: 'gray',
  unknown: 'magentaBright',
};

/** Progress-bar glyphs when there is no colour: one distinct, legend-able character per bucket. */
export const BUCKET_GLYPH: Record<StateBucket, string> = {
  queued: '.',
  running: '>',
  changed: '#',
  unchanged: '=',
  failed: 'F',
  'rolled-back': 'R',
  'rollback-failed': '!',
  unreachable: 'U',
  drifted: 'D',
  skipped: '-',
  unknown: '?',
};

export const BAR_GLYPH_COLOR = '█';
export const BAR_GLYPH_QUEUED_COLOR = '░';

/** Props for an Ink <Text> coloured as `bucket`, or none without colour. */
export function tint(theme: Theme, color: string | undefined): { color?: string } {
  return theme.color && color ? { color } : {};
}
