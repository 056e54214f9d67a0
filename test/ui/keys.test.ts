/** The dashboard's key map, without Ink or a terminal: which key means what in which mode. */
import type { Key } from 'ink';
import { describe, expect, test } from 'vitest';
import { footerHint, keyAction, type KeyMode } from '../../src/ui/keys.js';

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};
const k = (flags: Partial<Key> = {}): Key => ({ ...NO_KEY, ...flags });
const TABLE: KeyMode = { final: false, editing: false, dialog: false, view: 'table', done: false };
const press = (input: string, flags: Partial<Key> = {}, mode: Partial<KeyMode> = {}) => keyAction(input, k(flags), { ...TABLE, ...mode });

describe('key map', () => {
  test('after the final frame no key means anything', () => {
    expect(press('q', {}, { final: true })).toBeUndefined();
    expect(press('c', { ctrl: true }, { final: true })).toBeUndefined();
  });

  test('while typing a filter every key edits it: Enter keeps, Esc clears, backspace, text; arrows do nothing', () => {
    const editing = { editing: true };
    expect(press('', { return: true }, editing)).toEqual({ type: 'filter-edit', edit: { op: 'keep' } });
    expect(press('', { escape: true }, editing)).toEqual({ type: 'filter-edit', edit: { op: 'clear' } });
    expect(press('', { backspace: true }, editing)).toEqual({ type: 'filter-edit', edit: { op: 'backspace' } });
    expect(press('', { delete: true }, editing)).toEqual({ type: 'filter-edit', edit: { op: 'backspace' } });
    // q, ? and p are text here, not commands
    expect(press('q', {}, editing)).toEqual({ type: 'filter-edit', edit: { op: 'append', text: 'q' } });
    expect(press('web 1', {}, editing)).toEqual({ type: 'filter-edit', edit: { op: 'append', text: 'web 1' } });
    expect(press('c', { ctrl: true }, editing)).toEqual({ type: 'filter-edit', edit: { op: 'none' } });
    expect(press('x', { meta: true }, editing)).toEqual({ type: 'filter-edit', edit: { op: 'none' } });
    expect(press('', { upArrow: true }, editing)).toEqual({ type: 'filter-edit', edit: { op: 'none' } });
  });

  test('an open dialog takes the next key as its answer; n and Esc say no; Ctrl-C is passed on', () => {
    const dialog = { dialog: true };
    expect(press('y', {}, dialog)).toEqual({ type: 'answer', input: 'y', no: false, ctrlC: false });
    expect(press('n', {}, dialog)).toEqual({ type: 'answer', input: 'n', no: true, ctrlC: false });
    expect(press('', { escape: true }, dialog)).toEqual({ type: 'answer', input: '', no: true, ctrlC: false });
    expect(press('c', { ctrl: true }, dialog)).toEqual({ type: 'answer', input: 'c', no: false, ctrlC: true });
    expect(press('q', {}, dialog)).toEqual({ type: 'answer', input: 'q', no: false, ctrlC: false });
  });

  test('q quits from every view; Ctrl-C interrupts while the run goes and quits after it; help closes with Esc or ?', () => {
    for (const view of ['table', 'detail', 'help', 'summary'] as const) {
      expect(press('q', {}, { view })).toEqual({ type: 'quit' });
      expect(press('c', { ctrl: true }, { view })).toEqual({ type: 'interrupt' });
      expect(press('c', { ctrl: true }, { view, done: true })).toEqual({ type: 'quit' });
    }
    expect(press('?')).toEqual({ type: 'help' });
    expect(press('?', {}, { view: 'help' })).toEqual({ type: 'close-help' });
    expect(press('', { escape: true }, { view: 'help' })).toEqual({ type: 'close-help' });
    expect(press('p', {}, { view: 'help' })).toBeUndefined();
    expect(press('', { downArrow: true }, { view: 'help' })).toBeUndefined();
  });

  test('moving: arrows, pages, Home and End (the same keys scroll the host details)', () => {
    for (const view of ['table', 'detail', 'summary'] as const) {
      expect(press('', { upArrow: true }, { view })).toEqual({ type: 'move', delta: -1 });
      expect(press('', { downArrow: true }, { view })).toEqual({ type: 'move', delta: 1 });
      expect(press('', { pageUp: true }, { view })).toEqual({ type: 'page', direction: -1 });
      expect(press('', { pageDown: true }, { view })).toEqual({ type: 'page', direction: 1 });
      expect(press('', { home: true }, { view })).toEqual({ type: 'jump', to: 'home' });
      expect(press('', { end: true }, { view })).toEqual({ type: 'jump', to: 'end' });
    }
  });

  test('run commands work in every view but help; pause and abort only while the run goes', () => {
    for (const view of ['table', 'detail', 'summary'] as const) {
      expect(press('p', {}, { view })).toEqual({ type: 'pause-toggle' });
      expect(press('a', {}, { view })).toEqual({ type: 'abort' });
      expect(press('r', {}, { view })).toEqual({ type: 'retry' });
      expect(press('b', {}, { view })).toEqual({ type: 'rollback' });
      expect(press('x', {}, { view })).toEqual({ type: 'exclude' });
    }
    expect(press('p', {}, { done: true })).toBeUndefined();
    expect(press('a', {}, { done: true })).toBeUndefined();
    expect(press('r', {}, { done: true })).toEqual({ type: 'retry' });
    expect(press('b', {}, { done: true })).toEqual({ type: 'rollback' });
  });

  test('summary and details go back to the table with Esc (the summary with Enter too)', () => {
    expect(press('', { escape: true }, { view: 'summary' })).toEqual({ type: 'back' });
    expect(press('', { return: true }, { view: 'summary' })).toEqual({ type: 'back' });
    expect(press('', { escape: true }, { view: 'detail' })).toEqual({ type: 'back' });
    expect(press('', { return: true }, { view: 'detail' })).toBeUndefined();
    expect(press('/', {}, { view: 'detail' })).toBeUndefined();
    expect(press('e', {}, { view: 'summary' })).toBeUndefined();
  });

  test('the table: filter, details, tag, errors panel, summary (once done), Esc clears', () => {
    expect(press('/')).toEqual({ type: 'start-filter' });
    expect(press('', { return: true })).toEqual({ type: 'open-detail' });
    expect(press(' ')).toEqual({ type: 'tag' });
    expect(press('e')).toEqual({ type: 'toggle-errors' });
    expect(press('s')).toBeUndefined();
    expect(press('s', {}, { done: true })).toEqual({ type: 'summary' });
    expect(press('', { escape: true })).toEqual({ type: 'clear' });
    expect(press('z')).toBeUndefined();
  });

  test('the footer lists the live keys while the run goes, and the summary key after', () => {
    expect(footerHint(true)).toBe('↑↓ move  / filter  ⏎ details  p pause  a abort  r retry  b rollback  x exclude  ? help  q quit');
    expect(footerHint(false)).toBe('↑↓ move  / filter  ⏎ details  r retry  b rollback  ? help  s summary  q quit');
  });
});
