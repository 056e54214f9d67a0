/**
 * Dynamic inventory scripts against Debian's ansible-inventory: the fixture scripts in
 * test/fixtures/inventories/dynamic/ (a CMDB-style Python script answering --list with _meta and group_vars
 * beside it; an old-style bash script answering --host per host, with Ansible's list and "host with vars"
 * group shorthands) give the same `--list`, `--list --export` and `--graph --vars` in svcfleet and Ansible.
 * Scripts that fail make both fail; svcfleet names the script (Ansible only warns and reads nothing).
 * Secrets print as [REDACTED] in svcfleet (docs/inventory.md); the oracle's are replaced before comparing.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphInventory, listInventory } from '../../../src/inventory/list.js';
import { readInventory } from '../../../src/inventory/load.js';
import { InputError } from '../../../src/util/errors.js';
import { runCli } from '../run-cli.js';
import { makeOracle, requireAnsible, type Oracle } from './oracle.js';

const FIX = join(import.meta.dirname, '../../fixtures/inventories/dynamic');

let oracle: Oracle;
beforeAll(() => {
  requireAnsible();
  oracle = makeOracle();
});
afterAll(() => oracle?.dispose());

function redact(doc: unknown, keys: readonly string[]): unknown {
  if (Array.isArray(doc)) return doc.map((d) => redact(d, keys));
  if (doc && typeof doc === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) out[k] = keys.includes(k) ? '[REDACTED]' : redact(v, keys);
    return out;
  }
  return doc;
}

async function oracleJson(args: string[]): Promise<unknown> {
  const r = await oracle.run('ansible-inventory', args);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/Failed to parse|Unable to parse/);
  return JSON.parse(r.stdout);
}

describe.each([
  { name: 'CMDB script with _meta (Python) and group_vars beside it', source: join(FIX, 'cmdb/cmdb.py'), secrets: ['ansible_password'] },
  { name: 'old-style script without _meta (bash, --host per host)', source: join(FIX, 'nometa/inventory.sh'), secrets: [] },
])('$name', ({ source, secrets }) => {
  it('--list, --list --export and --graph --vars match ansible-inventory -i SCRIPT', async () => {
    const [list, exported, graph] = await Promise.all([
      oracleJson(['-i', source, '--list']),
      oracleJson(['-i', source, '--list', '--export']),
      oracle.run('ansible-inventory', ['-i', source, '--graph', '--vars']),
    ]);
    const cli = await runCli(['inventory', '-i', source, '--list']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(redact(list, secrets));
    const data = readInventory({ sources: source });
    expect(JSON.parse(JSON.stringify(listInventory(data, { export: true })))).toEqual(redact(exported, secrets));
    expect(graph.code, graph.stderr).toBe(0);
    expect(graphInventory(data, 'all', { vars: true })).toBe(
      graph.stdout.trimEnd().replace(/\{(\w+) = [^}]*\}/g, (m, k: string) => (secrets.includes(k) ? `{${k} = [REDACTED]}` : m)),
    );
    if (secrets.length) expect(cli.stdout).not.toContain('from-cmdb');
  });
});

describe('failing scripts', () => {
  it.each(['fails.sh', 'badjson.sh', 'notobject.sh', 'hostfails.sh'])('%s: Ansible reads nothing from it; svcfleet stops naming the script', async (name) => {
    const source = join(FIX, 'broken', name);
    const r = await oracle.run('ansible-inventory', ['-i', source, '--list']);
    expect(r.stderr).toMatch(/Failed to parse|Unable to parse|failed to parse/i);
    // Ansible wraps its warnings to the terminal width, also inside a long path (after a '-'): compare unwrapped.
    expect(r.stderr.replace(/\n/g, '')).toContain(source);
    expect(() => readInventory({ sources: source })).toThrow(InputError);
    const cli = await runCli(['inventory', '-i', source, '--list']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(source);
  });
});
