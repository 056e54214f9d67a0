/**
 * `--junit FILE`: one <testsuite> per run, one <testcase> per host (documented in docs/cli.md):
 *
 * - changed, unchanged                       → passed
 * - failed, rolled-back, rollback-failed,
 *   unknown, drifted                         → <failure type="OUTCOME" message="...">reason and details</failure>
 * - unreachable                              → <error type="unreachable">   (infrastructure, not the change)
 * - skipped                                  → <skipped message="..."/>
 *
 * CI systems (Jenkins, GitLab, GitHub) read this shape; testcase classname is `svcfleet.<mode>.<service>`.
 */
import { writeFileAtomic } from '../util/fsutil.js';
import { formatChange } from './summary.js';
import { isTerminal, type RunState } from '../state/run-state.js';

/** Text for XML attributes and content. XML 1.0 forbids most control characters even when escaped; drop them. */
export function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function junitXml(s: RunState): string {
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  let totalMs = 0;
  const mode = s.mode ?? 'apply';
  for (const name of s.hostOrder) {
    const h = s.hosts.get(name)!;
    const ms = h.ms ?? 0;
    totalMs += ms;
    const classname = `svcfleet.${mode}${h.service ? `.${h.service}` : ''}`;
    const open = `    <testcase name="${xml(name)}" classname="${xml(classname)}" time="${(ms / 1000).toFixed(3)}"`;
    const outcome = isTerminal(h.state) ? h.state : 'unknown';
    const message = h.result?.message ?? (isTerminal(h.state) ? '' : `no terminal state recorded (last state ${h.state})`);
    const reason = h.result?.reason;
    const detail = [
      `outcome: ${outcome}`,
      reason
        ? `reason: ${reason.code}${reason.win32 !== undefined ? ` (win32 ${reason.win32})` : ''}${reason.errorClass ? ` [${reason.errorClass}]` : ''}`
        : '',
      message,
      ...h.changes.map((c) => `diff: ${formatChange(c)}`),
      ...h.log.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => `${l.level}: ${l.text}`),
    ]
      .filter(Boolean)
      .join('\n');
    const sysout = h.changes.length ? `\n      <system-out>${xml(h.changes.map(formatChange).join('\n'))}</system-out>` : '';
    switch (outcome) {
      case 'changed':
      case 'unchanged':
        cases.push(`${open}>${sysout}\n    </testcase>`);
        break;
      case 'skipped':
        skipped++;
        cases.push(`${open}>\n      <skipped message="${xml(message)}"/>\n    </testcase>`);
        break;
      case 'unreachable':
        errors++;
        cases.push(`${open}>\n      <error type="unreachable" message="${xml(message)}">${xml(detail)}</error>\n    </testcase>`);
        break;
      default:
        failures++;
        cases.push(`${open}>\n      <failure type="${xml(outcome)}" message="${xml(message)}">${xml(detail)}</failure>${sysout}\n    </testcase>`);
    }
  }
  const name = `svcfleet ${mode} ${s.runId ?? ''}`.trim();
  const time = ((s.done?.ms ?? totalMs) / 1000).toFixed(3);
  const stamp = s.startedAt !== undefined ? ` timestamp="${new Date(s.startedAt).toISOString().replace(/\.\d+Z$/, '')}"` : '';
  const attrs = `name="${xml(name)}" tests="${s.hostOrder.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attrs}>`,
    `  <testsuite ${attrs}${stamp}>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** `--junit FILE`: written 0600 by atomic replace, never through a symlink (util/fsutil.ts). */
export async function writeJunitFile(file: string, s: RunState): Promise<void> {
  await writeFileAtomic(file, junitXml(s));
}
