/**
 * `svcfleet selftest --junit FILE`: one <testsuite> per host, one <testcase> per scenario plus "host left as
 * found". Passed → empty testcase; failed → <failure>; not run → <skipped message="not run: reason"/>, so a CI
 * system shows it as skipped and never as passed. Escaped by src/report/junit.ts's `xml`, like every JUnit report.
 */
import { xml } from '../../report/junit.js';
import type { SelftestReport } from './report.js';

export function selftestJunitXml(report: SelftestReport): string {
  const classname = `svcfleet.selftest.${report.host}`;
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  let totalMs = 0;
  for (const c of report.cases) {
    totalMs += c.ms;
    const open = `    <testcase name="${xml(c.name)}" classname="${xml(classname)}" time="${(c.ms / 1000).toFixed(3)}"`;
    const out = c.details.length ? `\n      <system-out>${xml(c.details.join('\n'))}</system-out>` : '';
    if (c.status === 'passed') cases.push(`${open}>${out}\n    </testcase>`);
    else if (c.status === 'not-run') {
      skipped++;
      cases.push(`${open}>\n      <skipped message="${xml(`not run: ${c.message}`)}"/>\n    </testcase>`);
    } else {
      failures++;
      cases.push(`${open}>\n      <failure type="selftest" message="${xml(c.message)}">${xml(c.details.join('\n'))}</failure>${out}\n    </testcase>`);
    }
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="svcfleet selftest" tests="${report.cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${(totalMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(`svcfleet.selftest.${report.host}`)}" tests="${report.cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${(totalMs / 1000).toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
