import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkSignals } from '../../src/util/linked-signal.js';

describe('linkSignals', () => {
  it('fires with the reason of the first source that fires, and unlinks from the others', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    expect(linked.signal.aborted).toBe(false);
    b.abort({ kind: 'halt' });
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toEqual({ kind: 'halt' });
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0);
  });

  it('is already fired when a source is', () => {
    const a = new AbortController();
    a.abort('gone');
    expect(linkSignals([new AbortController().signal, a.signal]).signal.reason).toBe('gone');
  });

  it('dispose removes its listeners from every source; the signal no longer follows them', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    linked.dispose();
    linked.dispose();
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(b.signal, 'abort')).toHaveLength(0);
    a.abort();
    expect(linked.signal.aborted).toBe(false);
  });
});
