/**
 * Every `svcfleet …` example in README.md, docs/*.md and the commands' own help is checked against the real
 * command tree, and every concrete one (no placeholders) RUNS here as written — in a world of files named like
 * the examples' files and emulated hosts named like their hosts (test/docs/world.ts). Fixed paths and ports of
 * the lab examples (/tmp/lab/…, 18001…) are mapped into this run's temp dir and reserved ports, so two suites can
 * share a machine. An example that cannot run here must be listed in NOT_RUN with the reason and the test that
 * covers it instead; a new example that is neither run nor listed fails this file.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/commands/index.js';
import type { CliContext } from '../../src/cli/context.js';
import { createProgram } from '../../src/cli/main.js';
import { registerLabCommands } from '../../src/lab/cli/index.js';
import { readLabHost, stopLabHost } from '../../src/lab/host.js';
import { releasePorts, reservePorts } from '../../src/lab/fleet/ports.js';
import { requirePwsh } from '../app/fleet/lab-fleet.js';
import { checkCommandLine, helpExamples, isPlaceholder, synopsisWords } from './command-lines.js';
import { type DocExample, extractExamples, shellWords, transcripts } from './examples.js';
import { createDocWorld, DOC_SERVICE, type DocWorld } from './world.js';

const ROOT = join(import.meta.dirname, '..', '..');

function commandTree(): Command {
  const program = createProgram();
  const cli: CliContext = {
    app: { env: {}, cwd: ROOT },
    stdout: { write: () => undefined },
    stderr: { write: () => undefined },
    setExit: () => undefined,
  };
  registerCommands(program, cli);
  registerLabCommands(program, cli);
  return program;
}

const program = commandTree();
const COMMANDS = new Set(program.commands.map((c: Command) => c.name()));
const examples = extractExamples(ROOT, COMMANDS);

/** Concrete: nothing for the reader to fill in (RUN aside: the run id the previous example printed). */
function concrete(e: DocExample): boolean {
  return synopsisWords(e.argv).every((w) => w === 'RUN' || (!isPlaceholder(w) && !/[|]/.test(w))) && !e.argv.some((w) => w.startsWith('['));
}

/** Concrete examples (their words after `svcfleet`) that do not run in this file, why, and where they are covered. */
const NOT_RUN: Record<string, string> = {
  'demo --faults none': '40 hosts (the default) take minutes; the same code path runs as `demo --hosts 12 --ui plain` below and in test/ui/demo-e2e.test.ts',
  demo: 'the same: 40 hosts in the dashboard; covered by test/ui/demo-e2e.test.ts (tmux) and the 12-host run below',
  'apply spec.yml -i inventory/hosts.ini --vault-id prod@~/.vault-prod':
    'the vaulted group_vars file the example names is shown only as prose; --vault-id LABEL@FILE is run for real in test/inventory/vault-cli.test.ts',
};

describe('every documented command line is a valid use of the command', () => {
  it('finds the examples (README, docs, help)', () => {
    expect(examples.length).toBeGreaterThan(40);
    expect(examples.some((e) => e.where.startsWith('README.md'))).toBe(true);
  });

  it.each(examples.map((e) => [e.where, e] as const))('%s', (_where, e) => {
    expect(checkCommandLine(program, e.argv), e.text).toEqual([]);
  });

  it('every help example', () => {
    const problems = helpExamples(program).flatMap(({ where, line }) =>
      checkCommandLine(program, shellWords(line.replace(/^svcfleet\s+/, ''))).map((p) => `${where}: ${line}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('the checker itself rejects what it should', () => {
    expect(checkCommandLine(program, ['apply', 'x.yml', '--no-such-flag'])).toEqual(['apply: unknown option --no-such-flag']);
    expect(checkCommandLine(program, ['apply', 'x.yml', '--ui', 'fancy'])[0]).toMatch(/--ui fancy is not one of/);
    expect(checkCommandLine(program, ['nosuch'])).toEqual(['no command "nosuch"']);
    expect(checkCommandLine(program, ['show', 'a', 'b'])[0]).toMatch(/takes 1 argument/);
  });
});

describe('every concrete example runs as written', () => {
  let dir: string;
  let world: DocWorld;
  const ran = new Set<string>(); // DocExample.text
  let applyRun: string | undefined; // the README's apply run, which the cli.md examples go on with
  /** Runs an example (RUN → `runId`) and records it as run. */
  const run = async (text: string, runId?: string, digest?: string) => {
    const words = shellWords(text.replace(/^svcfleet\s+/, '')).join('\0');
    const e = examples.find((x) => x.argv.join('\0') === words);
    if (!e) throw new Error(`no such example in the docs: ${text}`);
    ran.add(e.text);
    // RUN is the run id the previous example printed; a documented plan digest is the one this plan printed.
    const argv = e.argv.map((w, i) => (w === 'RUN' ? runId! : e.argv[i - 1] === '--expect-digest' && digest ? digest : w));
    return world.run(argv);
  };

  beforeAll(async () => {
    requirePwsh();
    dir = mkdtempSync(join(tmpdir(), 'svcfleet-docs-'));
    world = await createDocWorld(dir, ['web01', 'web02', 'web03', 'web04', 'web05', 'web06']);
    // The files the README's examples name: an Ansible INI inventory and the README's own change spec.
    mkdirSync(join(dir, 'inventory'));
    const line = (h: string) => `${h} ansible_host=127.0.0.1 app_port=${world.ports.get(h)}`;
    writeFileSync(
      join(dir, 'inventory', 'hosts.ini'),
      [
        '[web]',
        ...['web01', 'web02', 'web03', 'web04', 'web05', 'web06'].map(line),
        '[prod]',
        'web01',
        'web02',
        'web03',
        'web04',
        '[all:vars]',
        'ansible_user=svc',
        'ansible_ssh_private_key_file=id_ed25519',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'id_ed25519'), 'not a key: the hosts are emulated and reached without ssh\n', { mode: 0o600 });
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const spec = /```yaml\n(service:[\s\S]*?)```/.exec(readme)![1]!;
    writeFileSync(join(dir, 'hotfix.yml'), spec);
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('README: plan → apply the saved plan with canary, batches and budget → show → roll back three hosts', async () => {
    const plan = await run("svcfleet plan hotfix.yml -i inventory/hosts.ini --limit 'web:&prod' -o plan.json");
    expect(plan.code, plan.stderr).toBe(0);
    const digest = /plan digest ([0-9a-f]{12})/.exec(plan.stdout + plan.stderr)?.[1];
    expect(digest, plan.stdout + plan.stderr).toBeDefined();
    const apply = await run('svcfleet apply plan.json  --expect-digest 3f1c0a9b2e7d --canary 1 --batches 1,5,25%,100% --max-failures 2%', undefined, digest);
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);
    const runId = /\b(\d{8}T\d{6}Z-[0-9a-f]{4})\b/.exec(apply.stdout + apply.stderr)?.[1];
    expect(runId).toBeDefined();
    applyRun = runId;
    for (const h of ['web01', 'web02', 'web03', 'web04']) {
      expect(readLabHost(world.stateDir(h)).services[DOC_SERVICE]!.description).toBe('Payments API');
    }
    for (const h of ['web05', 'web06']) expect(readLabHost(world.stateDir(h)).services[DOC_SERVICE]!.description).toBe('lab app');

    const show = await run('svcfleet show RUN', runId);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/web01/);

    const rollback = await run("svcfleet rollback RUN --hosts '~web0[1-3]'", runId);
    expect(rollback.code, rollback.stderr + rollback.stdout).toBe(0);
    for (const h of ['web01', 'web02', 'web03']) expect(readLabHost(world.stateDir(h)).services[DOC_SERVICE]!.description).toBe('lab app');
    expect(readLabHost(world.stateDir('web04')).services[DOC_SERVICE]!.description).toBe('Payments API');
  }, 600_000);

  it('cli.md: resume, retry, runs, show of that run', async () => {
    const runs = await run('svcfleet runs');
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toContain(applyRun!);
    const runId = applyRun;
    for (const text of ['svcfleet show RUN', 'svcfleet resume RUN', 'svcfleet retry RUN --failed']) {
      const r = await run(text, runId);
      expect(r.code, `${text}: ${r.stderr}${r.stdout}`).toBe(0);
    }
  }, 300_000);

  it('cli.md: schema for each kind', async () => {
    const e = examples.find((x) => x.argv[0] === 'schema' && x.argv.includes('>'))!;
    for (const kind of e.argv[1]!.split('|')) {
      const r = await world.run(['schema', kind]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).$schema).toMatch(/json-schema/);
    }
    ran.add(e.text);
  });

  it('dashboard.md: the demo on 12 hosts, plain', async () => {
    const r = await run('svcfleet demo --hosts 12 --ui plain');
    // The demo's three deliberate faults fail or roll back hosts: exit 2, as docs/dashboard.md says.
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/12 hosts/);
  }, 600_000);

  // The `$ …` transcripts of the lab docs, step by step: commands run, files written by `cat`/`echo >`, and the
  // exit codes (`echo $?`) and error lines they show checked. /tmp/lab and the fixed ports map into this run.
  it.each(['docs/lab.md', 'docs/remote-protocol.md'])(
    '%s: the transcript runs as shown',
    async (doc) => {
      const base = join(dir, doc.replace(/\W/g, '_'));
      mkdirSync(base, { recursive: true });
      const text = readFileSync(join(ROOT, doc), 'utf8');
      const fixedPorts = [...new Set([...text.matchAll(/\b18\d{3}\b/g)].map((m) => m[0]))];
      const ports = await reservePorts(fixedPorts.length);
      const map = (s: string) => fixedPorts.reduce((acc, p, i) => acc.replaceAll(p, String(ports[i])), s.replaceAll('/tmp/lab', join(base, 'lab')));
      const cwd = process.cwd();
      process.chdir(base);
      try {
        for (const steps of transcripts(join(ROOT, doc), ROOT)) {
          let last: { code: number; stderr: string; step: string } | undefined;
          for (const step of steps) {
            const cmd = map(step.command);
            const words = shellWords(cmd);
            if (words[0] === 'svcfleet') {
              const e = examples.find((x) => x.argv.join('\0') === shellWords(step.command).slice(1).join('\0'));
              if (e) ran.add(e.text);
              const r = await world.run(words.slice(1));
              last = { code: r.code, stderr: r.stderr, step: `${step.where}: ${step.command}` };
              for (const line of step.output.filter((l) => l.startsWith('svcfleet:'))) expect(r.stderr, step.where).toContain(map(line));
              if (!steps.some((s) => s.command === 'echo $?' && steps.indexOf(s) === steps.indexOf(step) + 1)) {
                expect(r.code, `${last.step}\n${r.stderr}`).toBe(0);
              }
            } else if (words[0] === 'cat' && words.length === 2) {
              writeFileSync(join(base, words[1]!), `${step.output.map(map).join('\n')}\n`);
            } else if (words[0] === 'echo' && words[1] === '$?') {
              expect(last?.code, `${last?.step}\n${last?.stderr}`).toBe(Number(step.output[0]));
            } else if (words[0] === 'echo' && words[2] === '>' && words.length === 4) {
              writeFileSync(join(base, words[3]!), `${words[1]}\n`);
            } else {
              throw new Error(`${step.where}: this test does not know how to run \`${step.command}\``);
            }
          }
        }
      } finally {
        process.chdir(cwd);
        const labs = join(base, 'lab');
        if (existsSync(labs)) for (const h of readdirSync(labs)) await stopLabHost(join(labs, h)).catch(() => undefined);
        releasePorts(ports);
      }
    },
    600_000,
  );

  it('every concrete example was run above or is listed in NOT_RUN with a reason', () => {
    const key = (e: DocExample) => e.argv.join(' ');
    const ranWords = new Set(examples.filter((e) => ran.has(e.text)).map(key));
    const missing = examples.filter((e) => concrete(e) && !ranWords.has(key(e)) && !(key(e) in NOT_RUN)).map((e) => `${e.where}: ${e.text}`);
    expect(missing).toEqual([]);
    const stale = Object.keys(NOT_RUN).filter((t) => !examples.some((e) => key(e) === t));
    expect(stale).toEqual([]);
  });
});
