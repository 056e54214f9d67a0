import { randomBytes } from 'node:crypto';

/**
 * Run ids sort by start time and are safe as directory names and in shell commands:
 * `20260125T140312Z-3fa9` (UTC second + 4 random hex digits against collisions within a second).
 */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export const RUN_ID_RE = /^\d{8}T\d{6}Z-[0-9a-f]{4}$/;
