/**
 * svcfleet reads Ansible inventories as Ansible does: `svcfleet inventory --list / --list --export /
 * --graph --vars` against Debian's `ansible-inventory` on several fixtures (INI with ranges, children and
 * :vars; YAML; group_vars/host_vars files and directories; conflicting precedence; ungrouped hosts; a
 * directory source; Windows connection variables), and host patterns / --limit against `ansible-playbook
 * --list-hosts` and `ansible --list-hosts --limit @file`.
 *
 * Known, deliberate differences the comparison accounts for (docs/inventory.md):
 *   - svcfleet prints secrets as [REDACTED]; the oracle's values for those keys are replaced before comparing,
 *     and svcfleet's output must not contain them.
 *   - a pattern term that matches nothing is an error in svcfleet (Ansible warns and ignores it).
 *   - host order inside a pattern result is compared as a set (Ansible walks deeper groups in set order).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphInventory, listInventory } from '../../../src/inventory/list.js';
import { groupTree, readInventory } from '../../../src/inventory/load.js';
import { selectHosts } from '../../../src/inventory/pattern.js';
import { InputError } from '../../../src/util/errors.js';
import { runCli } from '../run-cli.js';
import { makeOracle, requireAnsible, type Oracle } from './oracle.js';

const ROOT = join(import.meta.dirname, '../../..');
const FIX = join(ROOT, 'test/fixtures/inventories');

const FIXTURES: Array<{ name: string; source: string; secrets?: string[] }> = [
  { name: 'INI: ranges, children declared later, :vars literal types, ungrouped hosts', source: join(FIX, 'ini-ranges/hosts.ini') },
  { name: 'YAML: nested children, YAML 1.1 scalars, host:port keys, empty groups', source: join(FIX, 'yaml-groups/inventory.yml') },
  { name: 'group_vars/host_vars files and directories, extension-less INI', source: join(FIX, 'vars-dirs/hosts') },
  { name: 'conflicting precedence: depth, ansible_group_priority, names, files vs inline', source: join(FIX, 'precedence/hosts.ini') },
  { name: 'directory source with several files', source: join(FIX, 'dir-source') },
  {
    name: 'Windows connection variables (secrets redacted)',
    source: join(FIX, 'windows/hosts.yml'),
    secrets: ['ansible_password', 'db_password', 'api_token'],
  },
  { name: 'the example inventory shipped in inventory/ansible', source: join(ROOT, 'inventory/ansible/hosts.ini') },
];

let oracle: Oracle;
beforeAll(() => {
  requireAnsible();
  oracle = makeOracle();
});
afterAll(() => oracle?.dispose());

describe('the oracle', () => {
  it('gives the same answer in the fork server as the real /usr/bin/ansible-inventory', async () => {
    const args = ['-i', join(FIX, 'vars-dirs/hosts'), '--list'];
    const [server, binary] = await Promise.all([oracle.run('ansible-inventory', args), oracle.runBinary('ansible-inventory', args)]);
    expect(binary.code, binary.stderr).toBe(0);
    expect(server).toEqual(binary);
  });
});

/** Replace the values of secret keys anywhere in the oracle's document; return the values replaced. */
function redact(doc: unknown, keys: readonly string[], found: Set<string>): unknown {
  if (Array.isArray(doc)) return doc.map((d) => redact(d, keys, found));
  if (doc && typeof doc === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) {
      if (keys.includes(k) && typeof v === 'string') {
        found.add(v);
        out[k] = '[REDACTED]';
      } else out[k] = redact(v, keys, found);
    }
    return out;
  }
  return doc;
}

async function oracleJson(args: string[]): Promise<unknown> {
  const r = await oracle.run('ansible-inventory', args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe.each(FIXTURES)('$name', ({ source, secrets = [] }) => {
  it('--list, --list --export and --graph --vars match ansible-inventory', async () => {
    const [list, exported, graph] = await Promise.all([
      oracleJson(['-i', source, '--list']),
      oracleJson(['-i', source, '--list', '--export']),
      oracle.run('ansible-inventory', ['-i', source, '--graph', '--vars']),
    ]);
    const data = readInventory({ sources: source });
    const found = new Set<string>();

    // --list through the real command, the rest through the library.
    const cli = await runCli(['inventory', '-i', source, '--list']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(redact(list, secrets, found));
    expect(JSON.parse(JSON.stringify(listInventory(data, { export: true })))).toEqual(redact(exported, secrets, found));
    expect(graph.code, graph.stderr).toBe(0);
    expect(graphInventory(data, 'all', { vars: true })).toBe(
      graph.stdout.trimEnd().replace(/\{(\w+) = [^}]*\}/g, (m, k: string) => (secrets.includes(k) ? `{${k} = [REDACTED]}` : m)),
    );

    // Every secret the oracle printed was found and replaced, and svcfleet printed none of them.
    expect(found.size > 0).toBe(secrets.length > 0);
    for (const value of found) expect(cli.stdout).not.toContain(value);
  });
});

/** Host patterns, each checked against one ansible-playbook --list-hosts run per inventory. */
const PATTERNS: Array<{ source: string; patterns: string[]; unmatched: string[] }> = [
  {
    source: join(FIX, 'ini-ranges/hosts.ini'),
    patterns: [
      'web:&prod:!web03',
      'web*',
      '~db-[ab]',
      'prod:!db',
      'web[0:2]',
      'web[-1]',
      'db[1:]',
      'web[3]',
      'all:!web',
      '*.example.com',
      'web01,db-a',
      'ungrouped',
      'api*:&api?-nodea',
      'staging:db',
      '!web',
      '&prod',
      'all',
      '*',
      'web0[!12]',
    ],
    unmatched: ['nosuch', 'web:!web3', '~nomatch.*'],
  },
  {
    source: join(FIX, 'yaml-groups/inventory.yml'),
    patterns: ['windows', 'linux:!jump01', 'web:&canary', '*.corp.example:!app*', 'log[a:c]', 'log?', 'empty_group,app'],
    unmatched: ['nosuch*'],
  },
  { source: join(FIX, 'precedence/hosts.ini'), patterns: ['parent:&beta', 'alpha:beta:!h2', 'deep', 'zeta[0:1]', '~h[12]'], unmatched: [] },
];

function parseListHosts(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const pattern = /^ {4}pattern: \['(.*)'\]$/.exec(line);
    if (pattern) {
      current = [];
      out.set(pattern[1]!.replace(/\\\\/g, '\\'), current);
      continue;
    }
    if (current && /^ {6}\S/.test(line)) current.push(line.trim());
  }
  return out;
}

describe.each(PATTERNS)('host patterns on $source', ({ source, patterns, unmatched }) => {
  it('select the same hosts as ansible-playbook --list-hosts; unmatched terms are errors', async () => {
    const playbook = join(oracle.dir, `plays-${patterns.length}-${unmatched.length}-${source.length}.yml`);
    writeFileSync(playbook, [...patterns, ...unmatched].map((p) => `- hosts: ${JSON.stringify(p)}\n  gather_facts: false\n  tasks: []\n`).join(''));
    const r = await oracle.run('ansible-playbook', ['-i', source, '--list-hosts', playbook]);
    expect(r.code, r.stderr).toBe(0);
    const theirs = parseListHosts(r.stdout);
    const tree = groupTree(readInventory({ sources: source }));
    for (const p of patterns) {
      const expected = theirs.get(p);
      expect(expected, `oracle output for ${p}`).toBeDefined();
      expect(expected!.length, `${p} must select something in the fixture`).toBeGreaterThan(0);
      expect([...selectHosts(tree, p)].sort(), p).toEqual([...expected!].sort());
    }
    for (const p of unmatched) {
      expect(() => selectHosts(tree, p), p).toThrow(InputError);
      expect(r.stderr).toMatch(/Could not match supplied host pattern|No hosts matched/);
    }
  });
});

describe('--limit @file', () => {
  it('reads one pattern per line, like ansible --limit @file', async () => {
    const source = join(FIX, 'ini-ranges/hosts.ini');
    const limitFile = join(oracle.dir, 'retry.txt');
    writeFileSync(limitFile, 'web01\ndb-b\n\n!web01\napi2-nodea\n');
    const r = await oracle.run('ansible', ['all', '-i', source, '--list-hosts', '--limit', `@${limitFile}`]);
    expect(r.code, r.stderr).toBe(0);
    const theirs = r.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();
    const cli = await runCli(['inventory', '-i', source, '--list', '--limit', `@${limitFile}`]);
    const hosts = Object.keys((JSON.parse(cli.stdout) as { _meta: { hostvars: object } })._meta.hostvars).sort();
    expect(hosts).toEqual(theirs);
    expect(readFileSync(limitFile, 'utf8')).toContain('!web01');
  });
});
