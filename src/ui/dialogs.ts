/**
 * The dashboard's questions: what each dialog says (`dialogContent`, drawn by components/Dialog.tsx) and what
 * each answer does (`answerDialog`). Both are pure: an answer returns the engine commands to send and the
 * dialog's next state, and dashboard-state.ts applies them. The content is data rather than JSX because the
 * layout needs its line count before anything is drawn (a dialog takes rows from the host table).
 */
import type { EngineCommand } from '../engine/events.js';
import type { HostRunState } from '../state/run-state.js';
import type { DialogProps } from './components/Dialog.js';

export type DialogState =
  | { kind: 'interrupt' }
  | { kind: 'abort' }
  | { kind: 'quit' }
  | { kind: 'quit-cancel' }
  | { kind: 'quit-now' }
  | { kind: 'retry'; hosts: string[] }
  | { kind: 'rollback'; selected: string[]; failed: string[] };

/** With `--on-failure ask`: the failed host the paused run asks about. */
export interface FailureQuestion {
  host: string;
  /** The host's state, when known. */
  record?: HostRunState;
}

/** "a, b, c, d and 3 more": host lists in dialogs and notes stay one line. */
export function names(list: readonly string[], max = 4): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

/** What the open question says; the on-failure question comes first, as it holds up the run. */
export function dialogContent(ask: FailureQuestion | undefined, dialog: DialogState | undefined, runId: string | undefined): DialogProps | undefined {
  if (ask) {
    const h = ask.record;
    return {
      title: `${ask.host} ${h?.state ?? 'failed'}: the run is paused (--on-failure ask)`,
      lines: [h?.result?.message ?? '', 'In-flight hosts keep going; no new host starts until you answer.'],
      choices: [
        { key: 'r', label: `retry ${ask.host}` },
        { key: 's', label: 'skip it and continue' },
        { key: 'a', label: 'abort the run' },
      ],
      color: 'red',
    };
  }
  if (!dialog) return undefined;
  switch (dialog.kind) {
    case 'interrupt':
      return {
        title: 'Interrupted: no new host starts',
        lines: ['Hosts in flight keep going while you choose.', 'Ctrl-C again cancels them (restored from their before-snapshots) and quits.'],
        choices: [
          { key: 'c', label: 'continue the run' },
          { key: 'x', label: 'cancel in-flight hosts (restored) and quit' },
          { key: 'q', label: 'quit: hosts that sent their change finish, the rest are skipped' },
        ],
        color: 'red',
      };
    case 'abort':
      return {
        title: 'Abort the run?',
        lines: ['Queued hosts are skipped. In-flight hosts finish their change', '(and roll back if it fails), or with [c] are cancelled and rolled back now.'],
        choices: [
          { key: 'y', label: 'abort, let in-flight finish' },
          { key: 'c', label: 'abort, cancel in-flight' },
          { key: 'n', label: 'keep running' },
        ],
        color: 'red',
      };
    case 'quit-cancel':
      return {
        title: 'Still waiting for in-flight hosts',
        lines: ['Cancel them now? They are cut off and restored from their before-snapshots.'],
        choices: [
          { key: 'y', label: 'cancel in-flight hosts and quit when they are restored' },
          { key: 'n', label: 'keep waiting' },
        ],
        color: 'red',
      };
    case 'quit-now':
      return {
        title: 'Exit now?',
        lines: ['The run stays in the journal, marked interrupted. Settle it later with', `  svcfleet resume ${runId ?? 'RUN'}`],
        choices: [
          { key: 'y', label: 'exit now' },
          { key: 'n', label: 'keep waiting' },
        ],
        color: 'red',
      };
    case 'quit':
      return {
        title: 'Quit while the run is going?',
        lines: ['Quitting aborts the run first: queued hosts are skipped,', 'in-flight hosts finish (or roll back if they fail).'],
        choices: [
          { key: 'y', label: 'abort and quit when in-flight hosts are done' },
          { key: 'n', label: 'keep watching' },
        ],
        color: 'red',
      };
    case 'retry':
      return {
        title: `Retry ${dialog.hosts.length} host${dialog.hosts.length === 1 ? '' : 's'}?`,
        lines: [names(dialog.hosts)],
        choices: [
          { key: 'y', label: 'retry' },
          { key: 'n', label: 'cancel' },
        ],
      };
    case 'rollback':
      return {
        title: 'Roll back which hosts?',
        lines: [`selected: ${dialog.selected.length ? names(dialog.selected) : '(none)'}`, `failed: ${dialog.failed.length ? names(dialog.failed) : '(none)'}`],
        choices: [
          ...(dialog.selected.length ? [{ key: 's', label: `selected (${dialog.selected.length})` }] : []),
          ...(dialog.failed.length ? [{ key: 'f', label: `failed (${dialog.failed.length})` }] : []),
          { key: 'n', label: 'cancel' },
        ],
      };
  }
}

/** An engine command, with the note the footer flashes once it is sent (none: send quietly). */
export interface Send {
  command: EngineCommand;
  note?: string;
}

/** What an answer does. `close`: the dialog goes away; otherwise the key was not an answer and it stays open. */
export interface DialogAnswer {
  close: boolean;
  sends: Send[];
  /** `q` then `y`: the run is being aborted, and the dashboard leaves once it is done. */
  quitting?: true;
  /** How far an insistent quit went: 2 once in-flight hosts were cancelled. */
  quitStage?: 2;
  /** Tagged hosts were rolled back: untag them. */
  untag?: true;
  /** The user insists on leaving now (the run stays in the journal, marked interrupted). */
  hardExit?: true;
}

const IGNORED: DialogAnswer = { close: false, sends: [] };
const send = (command: EngineCommand, note: string): Send => ({ command, note });
const abortFinish = (note: string): Send => send({ type: 'abort', inFlight: 'finish' }, note);
const abortCancel = (note: string): Send => send({ type: 'abort', inFlight: 'cancel' }, note);

/** The answer to the on-failure question: retry the host, skip it, or abort; any other key is ignored. */
export function answerFailure(host: string, input: string): DialogAnswer {
  if (input === 'r') {
    return { close: true, sends: [{ command: { type: 'retry', hosts: [host] } }, send({ type: 'resume' }, `retrying ${host}; run resumed`)] };
  }
  if (input === 's') return { close: true, sends: [send({ type: 'resume' }, `skipped ${host}; run resumed`)] };
  if (input === 'a') return { close: true, sends: [abortFinish('abort requested: in-flight hosts finish')] };
  return IGNORED;
}

/** The answer to an open dialog: `no` (n or Esc) closes any of them; keys that answer nothing are ignored. */
export function answerDialog(dialog: DialogState, input: string, no: boolean, ctrlC: boolean): DialogAnswer {
  if (no) return { close: true, sends: [] };
  const yes = input === 'y' || ctrlC;
  switch (dialog.kind) {
    case 'interrupt':
      // Ctrl-C's input is 'c' too: test it first, or a second Ctrl-C would read as "continue".
      if (input === 'x' || ctrlC) {
        return { close: true, sends: [abortCancel('cancelling in-flight hosts; will quit when they are restored')], quitting: true, quitStage: 2 };
      }
      if (input === 'c') return { close: true, sends: [send({ type: 'resume' }, 'run continues')] };
      if (input === 'q') return { close: true, sends: [abortFinish('aborting; will quit when in-flight hosts are done')], quitting: true };
      return IGNORED;
    case 'abort':
      if (input === 'y') return { close: true, sends: [abortFinish('abort requested: in-flight hosts finish')] };
      if (input === 'c') return { close: true, sends: [abortCancel('abort requested: in-flight hosts cancelled and rolled back')] };
      return IGNORED;
    case 'quit':
      if (!yes) return IGNORED;
      return { close: true, sends: [abortFinish('aborting; will quit when in-flight hosts are done')], quitting: true };
    case 'quit-cancel':
      if (!yes) return IGNORED;
      return { close: true, sends: [abortCancel('cancelling in-flight hosts; will quit when they are restored')], quitStage: 2 };
    case 'quit-now':
      return yes ? { close: true, sends: [], hardExit: true } : IGNORED;
    case 'retry':
      if (input !== 'y') return IGNORED;
      return { close: true, sends: [send({ type: 'retry', hosts: dialog.hosts }, `retry requested for ${names(dialog.hosts)}`)] };
    case 'rollback': {
      const hosts = input === 's' ? dialog.selected : input === 'f' ? dialog.failed : [];
      if (!hosts.length) return IGNORED;
      return { close: true, sends: [send({ type: 'rollback', hosts }, `rollback requested for ${names(hosts)}`)], untag: true };
    }
  }
}
