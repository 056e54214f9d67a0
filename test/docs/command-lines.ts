/**
 * Checks a documented command line against the real command tree (commander, with the lab's commands), without
 * running it: the command exists, every option is one it declares, a value given to an option with fixed choices
 * is one of them, and there are not more positional arguments than the command takes. Synopsis notation is
 * understood: `[optional]` brackets, `...`, `(prose)`, `A|B` alternatives and UPPERCASE placeholders.
 */
import type { Command, Option } from 'commander';

/** A word that stands for a value the reader fills in: SPEC, PLAN.json, H, <name>, a|b. */
export function isPlaceholder(word: string): boolean {
  return /^[A-Z][A-Z0-9_-]*(\.[a-z]+)?$/.test(word) || word.includes('<') || word === '...';
}

/** A synopsis word; `optional` when it stood inside [brackets]. */
interface SynopsisWord {
  word: string;
  optional: boolean;
}

/** Drop synopsis punctuation: brackets, `(or …)` asides, shell redirections. */
function synopsis(argv: readonly string[]): SynopsisWord[] {
  const out: SynopsisWord[] = [];
  let aside = false;
  let depth = 0;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.startsWith('(')) aside = true;
    if (aside) {
      if (w.endsWith(')')) aside = false;
      continue;
    }
    if (w === '>') {
      i++; // and its target
      continue;
    }
    const opens = /^\[*/.exec(w)![0].length;
    const closes = /\]*$/.exec(w)![0].length;
    depth += opens;
    const bare = w.slice(opens, w.length - closes);
    if (bare) out.push({ word: bare, optional: depth > 0 });
    depth = Math.max(0, depth - closes);
  }
  return out;
}

export function synopsisWords(argv: readonly string[]): string[] {
  return synopsis(argv).map((w) => w.word);
}

export function findCommand(program: Command, words: readonly string[]): { cmd: Command; rest: string[]; path: string[] } {
  let cmd = program;
  let i = 0;
  const path: string[] = [];
  for (; i < words.length; i++) {
    const next = cmd.commands.find((c) => c.name() === words[i] || c.aliases().includes(words[i]!));
    if (!next) break;
    cmd = next;
    path.push(words[i]!);
  }
  return { cmd, rest: words.slice(i), path };
}

function findOption(cmd: Command, flag: string): Option | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((x) => x.long === flag || x.short === flag || (x.negate && x.long === flag));
    if (o) return o;
    if (flag === '--help' || flag === '-h') return { long: '--help', required: false, optional: false } as Option;
  }
  return undefined;
}

/** Problems with one documented command line; [] when it is a valid use of the command. */
export function checkCommandLine(program: Command, argv: readonly string[]): string[] {
  const parsed = synopsis(argv);
  const words = parsed.map((w) => w.word);
  const { cmd, rest, path } = findCommand(program, words);
  // An optional placeholder that is not an option's value stands for a group of options ([ROLLOUT-FLAGS]).
  const optionGroup = new Set(parsed.filter((w) => w.optional && isPlaceholder(w.word)).map((w) => w.word));
  if (path.length === 0) return [`no command "${words[0]}"`];
  const problems: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w.startsWith('-') && w.length > 1 && !/^-\d/.test(w)) {
      const [flag, inline] = w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
      const o = findOption(cmd, flag!);
      if (!o) {
        problems.push(`${path.join(' ')}: unknown option ${flag}`);
        continue;
      }
      if (o.required || o.optional) {
        const value = inline ?? (o.required || (rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('-')) ? rest[++i] : undefined);
        if (value === undefined && o.required) problems.push(`${path.join(' ')}: ${flag} needs a value`);
        if (value !== undefined && o.argChoices && !isPlaceholder(value)) {
          for (const alt of value.split('|')) {
            if (!o.argChoices.includes(alt)) problems.push(`${path.join(' ')}: ${flag} ${alt} is not one of ${o.argChoices.join(', ')}`);
          }
        }
      }
      continue;
    }
    // `...` after a command ("svcfleet lab ...") or an option ("--limit ...") stands for more of the same.
    if (!optionGroup.has(w) && w !== '...') positionals.push(w);
  }
  const declared = cmd.registeredArguments;
  const variadic = declared.at(-1)?.variadic ?? false;
  if (!variadic && positionals.length > declared.length) {
    problems.push(`${path.join(' ')}: takes ${declared.length} argument(s), the example gives ${positionals.length} (${positionals.join(' ')})`);
  }
  positionals.forEach((p, i) => {
    const choices = declared[i]?.argChoices;
    if (choices && !isPlaceholder(p)) {
      for (const alt of p.split('|')) if (!choices.includes(alt)) problems.push(`${path.join(' ')}: argument ${alt} is not one of ${choices.join(', ')}`);
    }
  });
  return problems;
}

/** The `svcfleet …` lines of a command's help (its Examples), for every command in the tree. */
export function helpExamples(program: Command): Array<{ where: string; line: string }> {
  const out: Array<{ where: string; line: string }> = [];
  const visit = (cmd: Command, path: string[]): void => {
    let text = '';
    cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
    cmd.outputHelp();
    for (const line of text.split('\n')) {
      const m = /^\s+(svcfleet\s+(\S+).*)$/.exec(line);
      if (m && program.commands.some((c) => c.name() === m[2]))
        out.push({ where: `svcfleet ${path.join(' ')} --help`.replace(/\s+--help$/, ' --help'), line: m[1]! });
    }
    for (const c of cmd.commands) visit(c, [...path, c.name()]);
  };
  visit(program, []);
  return out;
}
