import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { parseSpec } from '../../src/spec/load.js';
import { renderHostRequests } from '../../src/spec/render.js';
import { tmpTree } from '../inventory/helpers.js';

const DOCS = join(import.meta.dirname, '../../docs');

function yamlBlocks(file: string): string[] {
  return [...readFileSync(join(DOCS, file), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('the examples in the docs are valid', () => {
  it('docs/spec.md: every spec example parses and renders', () => {
    const blocks = yamlBlocks('spec.md');
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const [i, block] of blocks.entries()) {
      const spec = parseSpec(block, `docs/spec.md#${i}`);
      expect(renderHostRequests(spec, { name: 'web01', vars: { site: 'ams', app_port: 8081 } }).length).toBeGreaterThan(0);
    }
  });

  it('README.md: the change spec example parses and renders', () => {
    const blocks = yamlBlocks('../README.md').filter((b) => b.startsWith('service:'));
    expect(blocks).toHaveLength(1);
    const spec = parseSpec(blocks[0]!, 'README.md');
    expect(renderHostRequests(spec, { name: 'web01', vars: { app_port: 8081 } }).length).toBe(1);
  });

  it('docs/inventory.md: the native example loads', () => {
    const [native] = yamlBlocks('inventory.md');
    const dir = tmpTree({ 'fleet.yml': native! });
    const inv = loadInventory({ sources: join(dir, 'fleet.yml'), env: { SVCFLEET_PASSWORD: 'x', KEY_PASSPHRASE: 'y' } });
    expect(inv.hosts.map((h) => h.name)).toContain('lab07');
    expect(inv.hosts.find((h) => h.name === 'web01')!.vars.app_port).toBe(18001);
  });

  it('docs/config.md: the example is a valid config', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const [example] = yamlBlocks('config.md');
    const dir = tmpTree({ 'package.json': '{}', '.svcfleetrc.yaml': example! });
    expect((await loadConfig({ cwd: dir, env: {} })).concurrency).toBe(50);
  });
});
