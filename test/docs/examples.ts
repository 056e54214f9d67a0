/**
 * The `svcfleet …` command lines the documentation shows: every line of a fenced code block in README.md and
 * docs/*.md that starts with `svcfleet ` (or `$ svcfleet `), with `\` continuations joined and a trailing
 * `# comment` dropped, split into words as a POSIX shell would. A synopsis line's description (after three or more
 * spaces, in lower case) is dropped too. Blocks marked ```text are pictures (the dashboard), not commands.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocExample {
  /** e.g. README.md:26 */
  where: string;
  /** The line as written (continuations joined). */
  text: string;
  /** The words after `svcfleet`, unquoted. */
  argv: string[];
}

/**
 * Shell words (single and double quotes, backslash escapes outside single quotes); stops at an unquoted '#' and
 * at a '|' that starts a word (the rest of a pipeline is another program's business).
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < line.length && line[i] !== '"'; i++) cur += line[i] === '\\' && /["\\$`]/.test(line[i + 1] ?? '') ? line[++i] : line[i];
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
      inWord = true;
    } else if (c === '\\') {
      cur += line[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if ((c === '#' || c === '|') && !inWord) {
      break; // a comment, or a pipe (a '|' inside a word is synopsis: spec|inventory|config)
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export function docFiles(root: string): string[] {
  const docs = join(root, 'docs');
  return [
    join(root, 'README.md'),
    ...readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(docs, f)),
  ];
}

export function extractExamples(root: string, commands: ReadonlySet<string>): DocExample[] {
  const out: DocExample[] = [];
  for (const file of docFiles(root)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    let fence = false;
    let picture = false;
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      const marker = /^\s*```\s*(\w*)/.exec(raw);
      if (marker) {
        fence = !fence;
        picture = fence && marker[1] === 'text';
        continue;
      }
      if (!fence || picture) continue;
      const m = /^\s*(?:\$\s+)?svcfleet\s+(.*)$/.exec(raw);
      if (!m) continue;
      const start = i;
      let text = m[1]!;
      while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
      // A synopsis line's description: the text after its last run of 3+ spaces, when that is prose.
      text = text.replace(/\s{3,}(?=[a-z(][^#]*\s)(?!.*\s{3,}).*$/, '');
      const argv = shellWords(text);
      if (!commands.has(argv[0] ?? '')) continue;
      out.push({ where: `${relative(root, file)}:${start + 1}`, text: `svcfleet ${text.trim()}`, argv });
    }
  }
  return out;
}

/** One `$ command` of a console transcript, with the lines it printed. */
export interface TranscriptStep {
  where: string;
  command: string;
  output: string[];
}

/** The `$ …` transcripts of a doc file: each fenced block that has `$ ` lines, as steps. */
export function transcripts(file: string, root: string): TranscriptStep[][] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: TranscriptStep[][] = [];
  let fence = false;
  let steps: TranscriptStep[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*```/.test(raw)) {
      if (fence && steps.length) blocks.push(steps);
      fence = !fence;
      steps = [];
      continue;
    }
    if (!fence) continue;
    const m = /^\s*\$ (.*)$/.exec(raw);
    if (m) {
      let command = m[1]!;
      const start = i;
      while (/\\\s*$/.test(command) && i + 1 < lines.length) command = command.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
      steps.push({ where: `${relative(root, file)}:${start + 1}`, command, output: [] });
    } else if (steps.length) {
      steps.at(-1)!.output.push(raw);
    }
  }
  return blocks;
}
