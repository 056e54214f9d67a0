import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/util/secret.js';

describe('Secret', () => {
  it('never prints its value through JSON, string conversion or inspect', () => {
    const s = new Secret('hunter2');
    const carrier = { password: s, nested: [s] };
    expect(JSON.stringify(carrier)).not.toContain('hunter2');
    expect(`${s}`).toBe('[REDACTED]');
    expect(inspect(carrier, { depth: 5 })).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });
});
