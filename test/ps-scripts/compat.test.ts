/**
 * Windows PowerShell 5.1 compatibility of ps-scripts/: PowerShell's own parser plus an AST walk (compat-check.ps1)
 * must find nothing in the shipped scripts, and must find every construct of the negative corpus, on its line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { psScriptsDir } from '../../src/remote/scripts.js';
import { enginePath, here, runPwsh } from './pwsh.js';

interface Finding {
  file: string;
  line: number;
  rule: string;
  text: string;
}

const corpus = join(here, 'fixtures', 'ps7-only.ps1');
// What is sent: the scripts of ps-scripts/ as they are, and the engine as assembled from ps-scripts/engine/ (its
// parts are never sent alone, so a finding is reported on a line of the assembled engine, as the remote sees it).
const shipped = [
  ...readdirSync(psScriptsDir())
    .filter((f) => f.endsWith('.ps1'))
    .map((f) => join(psScriptsDir(), f)),
  enginePath,
];

let findings: Finding[] = [];

beforeAll(async () => {
  const run = await runPwsh(['-File', join(here, 'compat-check.ps1'), ...shipped, corpus]);
  if (run.code !== 0) throw new Error(`compat-check.ps1 failed (exit ${run.code}): ${run.stderr}`);
  findings = JSON.parse(run.stdout.trim()) as Finding[];
});

describe('Windows PowerShell 5.1 compatibility check', () => {
  it('covers every script that is sent: the bootstrap and the assembled engine', () => {
    expect(shipped.map((f) => f.split('/').pop()).sort()).toEqual(expect.arrayContaining(['bootstrap.ps1', 'engine.ps1']));
  });

  it('finds nothing 6+/7-only (and nothing 5.1-only, nor non-ASCII) in the shipped scripts', () => {
    expect(findings.filter((f) => f.file !== corpus)).toEqual([]);
  });

  const expected = readFileSync(corpus, 'utf8')
    .split('\n')
    .map((text, i) => ({ line: i + 1, rule: /# expect: (.+)$/.exec(text)?.[1]?.trim() }))
    .filter((e): e is { line: number; rule: string } => Boolean(e.rule));

  it('has a negative corpus with the constructs the issue names', () => {
    const rules = expected.map((e) => e.rule).join('\n');
    for (const needle of [
      'ternary',
      'null-coalescing',
      'pipeline-chain',
      '-Parallel',
      '-AsHashtable',
      'AutomaticDelayedStart',
      '.BinaryPathName',
      'Remove-Service',
      '-AdditionalChildPath',
      '-AsByteStream',
      'clean-block',
      '-Depth',
      'csharp5',
    ]) {
      expect(rules).toContain(needle);
    }
  });

  it.each(expected)('catches line $line: $rule', ({ line, rule }) => {
    const onLine = findings.filter((f) => f.file === corpus && f.line === line).map((f) => f.rule);
    expect(onLine).toContain(rule);
  });

  it('reports nothing on lines of the corpus that are fine in 5.1', () => {
    const flagged = new Set(findings.filter((f) => f.file === corpus).map((f) => f.line));
    const unexpected = [...flagged].filter((l) => !expected.some((e) => e.line === l));
    expect(unexpected).toEqual([]);
  });
});
