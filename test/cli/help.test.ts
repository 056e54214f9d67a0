/**
 * Every command has `--help` with examples. Walks the real commander tree, so a command added
 * later without examples fails here.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/commands/index.js';
import type { CliContext } from '../../src/cli/context.js';
import { registerLabCommands } from '../../src/lab/cli/index.js';

function helpText(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

function walk(cmd: Command, path: string[] = []): { path: string; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [{ path: [...path, c.name()].join(' '), cmd: c }, ...walk(c, [...path, c.name()])]);
}

describe('svcfleet --help', () => {
  const program = new Command('svcfleet');
  const cli: CliContext = { app: { env: {}, cwd: process.cwd() }, stdout: process.stdout, stderr: process.stderr, setExit: () => {} };
  registerCommands(program, cli);
  registerLabCommands(program, cli);
  const all = walk(program).filter((c) => c.cmd.name() !== 'help');

  it('knows the commands docs/cli.md lists', () => {
    const top = program.commands.map((c) => c.name());
    for (const name of [
      'plan',
      'apply',
      'rollback',
      'resume',
      'retry',
      'runs',
      'show',
      'inspect',
      'render',
      'ping',
      'inventory',
      'selftest',
      'schema',
      'lab',
      'demo',
    ]) {
      expect(top).toContain(name);
    }
  });

  it.each(all.map((c) => [c.path, c.cmd] as const))('%s --help has examples', (_path, cmd) => {
    expect(helpText(cmd)).toMatch(/\nExamples:\n {2}svcfleet /);
  });
});

describe('svcfleet --help without the lab loaded', () => {
  it("lists lab and demo through stubs with the real commands' descriptions", async () => {
    const { registerLab } = await import('../../src/main.js');
    const stubbed = new Command('svcfleet');
    const real = new Command('svcfleet');
    const cli: CliContext = { app: { env: {}, cwd: process.cwd() }, stdout: process.stdout, stderr: process.stderr, setExit: () => {} };
    await registerLab(stubbed, cli, ['node', 'svcfleet', '--help']);
    registerLabCommands(real, cli);
    for (const name of ['lab', 'demo']) {
      const stub = stubbed.commands.find((c) => c.name() === name);
      expect(stub?.description()).toBe(real.commands.find((c) => c.name() === name)?.description());
      expect(stub?.commands).toEqual([]);
    }
    const loaded = new Command('svcfleet');
    await registerLab(loaded, cli, ['node', 'svcfleet', 'help', 'lab']);
    expect(loaded.commands.find((c) => c.name() === 'lab')?.commands.map((c) => c.name())).toContain('up');
  });
});
