/**
 * The live run dashboard: header, state bar, grouped problems, the virtualized host table, host details,
 * help, confirm dialogs and the end-of-run summary. It reads RunState (through RunStore) and steers the run
 * only with EngineCommands through `store.send`.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Box, Text, useApp, useInput, useStdout, type Key } from 'ink';
import { isTerminal, type HostRunState, type RunState } from '../state/run-state.js';
import { errorGroups, orderedHosts, retryableHosts, type HostFolder } from '../state/queries.js';
import { runSummary } from '../report/run-text.js';
import type { EngineCommand } from '../engine/events.js';
import { foldHosts } from '../report/hostrange.js';
import { makeMatcher } from './filter.js';
import { footerHint } from './keys.js';
import type { RunStore } from './store.js';
import { useThrottledRun } from './throttle.js';
import type { Theme } from './theme.js';
import { ThemeContext } from './theme-context.js';
import { Header } from './components/Header.js';
import { ProgressBar } from './components/ProgressBar.js';
import { ErrorPanel } from './components/ErrorPanel.js';
import { HostTable, scrollOffset } from './components/HostTable.js';
import { HostDetail, detailLines } from './components/HostDetail.js';
import { Help } from './components/Help.js';
import { Dialog, type DialogProps } from './components/Dialog.js';
import { Summary } from './components/Summary.js';

export interface DashboardProps {
  store: RunStore;
  /** Host-range folding (default: the report layer's foldHosts). */
  fold?: HostFolder;
  color: boolean;
  /** Keys are read only when true (stdin is a TTY); otherwise the dashboard only watches. */
  interactive: boolean;
  /** Leave as soon as the run is done (after drawing the summary) instead of waiting for `q`. */
  exitOnDone: boolean;
  fps: number;
  /** Share of one CPU core data-driven redraws may use (throttle.ts); 0 = no limit besides `fps`. */
  cpuShare?: number;
  clock: () => number;
  groupsOf: (host: string) => readonly string[];
  requestFor: (host: string) => unknown;
  /**
   * Last resort when the user insists on leaving while in-flight hosts do not end (after abort and cancel):
   * runDashboard unmounts and exits the process (the run stays in the journal, marked interrupted).
   */
  onHardExit?: () => void;
  /** Fallback size when the output stream does not report one (not a TTY). */
  size?: { columns: number; rows: number };
}

type DialogState =
  | { kind: 'abort' }
  | { kind: 'quit' }
  | { kind: 'quit-cancel' }
  | { kind: 'quit-now' }
  | { kind: 'retry'; hosts: string[] }
  | { kind: 'rollback'; selected: string[]; failed: string[] };

type View = 'table' | 'detail' | 'help' | 'summary';

const ROLLBACK_CANDIDATES = new Set(['failed', 'rollback-failed', 'unknown']);

function names(list: readonly string[], max = 4): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

function useTerminalSize(fallback: { columns: number; rows: number }): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || fallback.columns, rows: stdout.rows || fallback.rows });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

export function Dashboard(props: DashboardProps) {
  const { store } = props;
  const fold = props.fold ?? foldHosts;
  const s: RunState = store.state;
  store.frameStarted();
  useThrottledRun(store, { fps: props.fps, cpuShare: props.cpuShare ?? 0, clock: props.clock });
  const now = props.clock();
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize(props.size ?? { columns: 100, rows: 30 });
  const theme = useMemo<Theme>(() => ({ color: props.color }), [props.color]);

  const [view, setView] = useState<View>('table');
  const [cursor, setCursor] = useState(0);
  const [offset, setOffset] = useState(0);
  const [detailHost, setDetailHost] = useState<string | undefined>();
  const [detailOffset, setDetailOffset] = useState(0);
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState(false);
  const [tagged, setTagged] = useState<ReadonlySet<string>>(new Set());
  const [dialog, setDialog] = useState<DialogState | undefined>();
  const [answeredPause, setAnsweredPause] = useState<number | undefined>();
  const [flash, setFlash] = useState<{ text: string; at: number } | undefined>();
  const [showErrors, setShowErrors] = useState(true);
  const [quitting, setQuitting] = useState(false);
  /** How far an insistent quit went: 1 abort (finish) sent, 2 cancel sent. */
  const [quitStage, setQuitStage] = useState(1);
  const askQuit = (): void =>
    setDialog(!quitting ? { kind: 'quit' } : quitStage < 2 ? { kind: 'quit-cancel' } : { kind: 'quit-now' });
  const [final, setFinal] = useState(false);
  const [sawDone, setSawDone] = useState(false);

  const version = s.version;
  const matcher = useMemo(() => makeMatcher(filter, props.groupsOf), [filter, props.groupsOf]);
  const ordered = useMemo(() => {
    const all = orderedHosts(s);
    return matcher ? all.filter(matcher) : all;
  }, [version, matcher]);
  const groups = useMemo(() => errorGroups(s, fold), [version, fold]);
  const done = s.done !== undefined;

  const send = (c: EngineCommand, note: string) => {
    store.send(c);
    setFlash({ text: note, at: props.clock() });
  };

  // The run just ended: show the summary once (the user may then browse hosts), or leave if asked to. Set while
  // rendering (React re-runs this function at once, before committing), not in an effect: an effect would commit
  // and draw one more full frame of the table first, only for the summary to replace it.
  if (done && !sawDone) {
    setSawDone(true);
    setDialog(undefined);
    setEditing(false);
    if (quitting || props.exitOnDone || !props.interactive) setFinal(true);
    else setView('summary');
  }

  // Leave after the final frame (the summary alone) has been drawn, so it stays on the terminal.
  useEffect(() => {
    if (!final) return;
    const t = setTimeout(() => exit(), Math.max(20, Math.round(1000 / props.fps)));
    return () => clearTimeout(t);
  }, [final, exit, props.fps]);

  const askHost =
    s.paused?.reason === 'on-failure' && s.paused.seq !== answeredPause && !done
      ? (s.paused.host ?? s.lastFailedHost)
      : undefined;

  // ----- layout: everything must fit in rows-1 lines, or Ink clears the whole screen on every frame
  const width = Math.max(40, columns);
  const budgetRows = Math.max(8, rows - 1);
  const errRows = showErrors && groups.length && view === 'table' ? Math.min(groups.length, 5) + 1 : 0;
  const dialogProps = dialogFor();
  const dialogRows = dialogProps ? dialogProps.lines.length + 4 : 0;
  const footerRows = 1;
  const tableRows = Math.max(1, budgetRows - 4 - errRows - dialogRows - 2 - footerRows);
  const detailRows = Math.max(1, budgetRows - 4 - dialogRows - footerRows - 1);

  const cur = Math.min(cursor, Math.max(0, ordered.length - 1));
  const off = scrollOffset(cur, offset, tableRows, ordered.length);
  const selected: HostRunState | undefined = ordered[cur];
  const detail = detailHost !== undefined ? s.hosts.get(detailHost) : undefined;
  const lines = useMemo(
    () => (view === 'detail' && detail ? detailLines(detail, props.requestFor(detail.name), now, width) : []),
    [view, detail, version, now, width],
  );

  function dialogFor(): DialogProps | undefined {
    if (askHost) {
      const h = s.hosts.get(askHost);
      return {
        title: `${askHost} ${h?.state ?? 'failed'}: the run is paused (--on-failure ask)`,
        lines: [h?.result?.message ?? '', 'In-flight hosts keep going; no new host starts until you answer.'],
        choices: [
          { key: 'r', label: `retry ${askHost}` },
          { key: 's', label: 'skip it and continue' },
          { key: 'a', label: 'abort the run' },
        ],
        color: 'red',
      };
    }
    if (!dialog) return undefined;
    switch (dialog.kind) {
      case 'abort':
        return {
          title: 'Abort the run?',
          lines: [
            'Queued hosts are skipped. In-flight hosts finish their change',
            '(and roll back if it fails), or with [c] are cancelled and rolled back now.',
          ],
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
          lines: ['The run stays in the journal, marked interrupted. Settle it later with', `  svcfleet resume ${s.runId ?? 'RUN'}`],
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
          lines: [
            `selected: ${dialog.selected.length ? names(dialog.selected) : '(none)'}`,
            `failed: ${dialog.failed.length ? names(dialog.failed) : '(none)'}`,
          ],
          choices: [
            ...(dialog.selected.length ? [{ key: 's', label: `selected (${dialog.selected.length})` }] : []),
            ...(dialog.failed.length ? [{ key: 'f', label: `failed (${dialog.failed.length})` }] : []),
            { key: 'n', label: 'cancel' },
          ],
        };
    }
  }

  // ----- keys
  const move = (delta: number, to?: 'home' | 'end') => {
    if (view === 'detail') {
      const max = Math.max(0, lines.length - detailRows);
      setDetailOffset((o) => (to === 'home' ? 0 : to === 'end' ? max : Math.max(0, Math.min(max, o + delta))));
      return;
    }
    const last = Math.max(0, ordered.length - 1);
    const next = to === 'home' ? 0 : to === 'end' ? last : Math.max(0, Math.min(last, cur + delta));
    setCursor(next);
    setOffset(scrollOffset(next, off, tableRows, ordered.length));
  };

  const openRollback = (hostInView?: string) => {
    const sel = tagged.size ? [...tagged] : hostInView ? [hostInView] : selected ? [selected.name] : [];
    const failed = s.hostOrder.filter((n) => ROLLBACK_CANDIDATES.has(s.hosts.get(n)!.state));
    setDialog({ kind: 'rollback', selected: sel, failed });
  };

  const answerDialog = (input: string, key: Key) => {
    const no = key.escape || input === 'n';
    if (askHost) {
      const at = s.paused!.seq;
      if (input === 'r') {
        store.send({ type: 'retry', hosts: [askHost] });
        send({ type: 'resume' }, `retrying ${askHost}; run resumed`);
      } else if (input === 's') send({ type: 'resume' }, `skipped ${askHost}; run resumed`);
      else if (input === 'a') send({ type: 'abort', inFlight: 'finish' }, 'abort requested: in-flight hosts finish');
      else return;
      setAnsweredPause(at);
      return;
    }
    if (!dialog) return;
    if (no) {
      setDialog(undefined);
      return;
    }
    switch (dialog.kind) {
      case 'abort':
        if (input === 'y') send({ type: 'abort', inFlight: 'finish' }, 'abort requested: in-flight hosts finish');
        else if (input === 'c') send({ type: 'abort', inFlight: 'cancel' }, 'abort requested: in-flight hosts cancelled and rolled back');
        else return;
        break;
      case 'quit':
        if (input === 'y' || (key.ctrl && input === 'c')) {
          send({ type: 'abort', inFlight: 'finish' }, 'aborting; will quit when in-flight hosts are done');
          setQuitting(true);
        } else return;
        break;
      case 'quit-cancel':
        if (input === 'y' || (key.ctrl && input === 'c')) {
          send({ type: 'abort', inFlight: 'cancel' }, 'cancelling in-flight hosts; will quit when they are restored');
          setQuitStage(2);
        } else return;
        break;
      case 'quit-now':
        if (input === 'y' || (key.ctrl && input === 'c')) {
          setDialog(undefined);
          props.onHardExit?.();
          return;
        }
        return;
      case 'retry':
        if (input !== 'y') return;
        send({ type: 'retry', hosts: dialog.hosts }, `retry requested for ${names(dialog.hosts)}`);
        break;
      case 'rollback': {
        const hosts = input === 's' ? dialog.selected : input === 'f' ? dialog.failed : [];
        if (!hosts.length) return;
        send({ type: 'rollback', hosts }, `rollback requested for ${names(hosts)}`);
        setTagged(new Set());
        break;
      }
    }
    setDialog(undefined);
  };

  const onKey = (input: string, key: Key): void => {
    if (final) return;
    if (editing) {
      if (key.return) setEditing(false);
      else if (key.escape) {
        setFilter('');
        setEditing(false);
      } else if (key.backspace || key.delete) setFilter((f) => f.slice(0, -1));
      else if (input && !key.ctrl && !key.meta && !key.upArrow && !key.downArrow) setFilter((f) => f + input);
      setCursor(0);
      setOffset(0);
      return;
    }
    if (askHost || dialog) {
      answerDialog(input, key);
      return;
    }
    if ((key.ctrl && input === 'c') || input === 'q') {
      if (done) setFinal(true);
      else askQuit();
      return;
    }
    if (view === 'help') {
      if (key.escape || input === '?') setView(done ? 'summary' : 'table');
      return;
    }
    if (input === '?') return setView('help');
    if (key.upArrow) return move(-1);
    if (key.downArrow) return move(1);
    if (key.pageUp) return move(-(view === 'detail' ? detailRows : tableRows));
    if (key.pageDown) return move(view === 'detail' ? detailRows : tableRows);
    if (key.home) return move(0, 'home');
    if (key.end) return move(0, 'end');
    const hostInView = view === 'detail' ? detailHost : selected?.name;
    if (input === 'p' && !done) {
      if (s.paused) send({ type: 'resume' }, 'resume requested');
      else send({ type: 'pause' }, 'pause requested: in-flight hosts keep going, no new host starts');
      return;
    }
    if (input === 'a' && !done) return setDialog({ kind: 'abort' });
    if (input === 'r') {
      const hosts = retryableHosts(s);
      if (!hosts.length) setFlash({ text: 'nothing to retry', at: props.clock() });
      else setDialog({ kind: 'retry', hosts });
      return;
    }
    if (input === 'b') return openRollback(hostInView);
    if (input === 'x' && hostInView) {
      const h = s.hosts.get(hostInView)!;
      if (isTerminal(h.state)) setFlash({ text: `${h.name} already finished (${h.state}); nothing to exclude`, at: props.clock() });
      else send({ type: 'exclude', host: h.name }, `exclude requested for ${h.name} (${h.state === 'queued' ? 'it will be skipped' : 'it is in flight and will finish'})`);
      return;
    }
    if (view === 'summary') {
      if (key.escape) setView('table');
      else if (key.return) setView('table');
      return;
    }
    if (view === 'detail') {
      if (key.escape) setView('table');
      return;
    }
    // table
    if (input === '/') {
      setEditing(true);
      return;
    }
    if (key.return && selected) {
      setDetailHost(selected.name);
      setDetailOffset(0);
      setView('detail');
      return;
    }
    if (input === ' ' && selected) {
      const next = new Set(tagged);
      if (next.has(selected.name)) next.delete(selected.name);
      else next.add(selected.name);
      setTagged(next);
      return;
    }
    if (input === 'e') return setShowErrors((v) => !v);
    if (input === 's' && done) return setView('summary');
    if (key.escape) {
      if (filter) setFilter('');
      else if (tagged.size) setTagged(new Set());
    }
  };
  // Ink re-attaches a changed handler in a passive effect, which can run after the next key arrives; a
  // stable handler that calls the latest closure sees every key with the state of the last render.
  const onKeyRef = useRef(onKey);
  onKeyRef.current = onKey;
  const stableOnKey = useCallback((input: string, key: Key) => onKeyRef.current(input, key), []);
  useInput(stableOnKey, { isActive: props.interactive });

  // ----- render
  const summary = done || final ? runSummary(s, now, fold) : undefined;
  if (final && summary) {
    return (
      <ThemeContext.Provider value={theme}>
        <Box flexDirection="column" width={width}>
          <ProgressBar state={s} width={width} />
          <Summary summary={summary} maxGroups={Math.max(3, budgetRows - 10)} />
        </Box>
      </ThemeContext.Provider>
    );
  }

  const flashText = flash && props.clock() - flash.at < 5000 ? flash.text : undefined;
  const footer = editing
    ? `/${filter}▏  (Enter keep · Esc clear · terms: name group:G state:S !not)`
    : (flashText ?? (view === 'summary' ? 'Esc/Enter browse hosts  r retry  b rollback  ? help  q quit' : footerHint(!done)));

  return (
    <ThemeContext.Provider value={theme}>
      <Box flexDirection="column" width={width}>
        <Header state={s} now={now} width={width} />
        <ProgressBar state={s} width={width} />
        {dialogProps ? <Dialog {...dialogProps} /> : null}
        {view === 'help' ? <Help /> : null}
        {view === 'summary' && summary ? (
          <Summary summary={summary} maxGroups={Math.max(3, budgetRows - 14 - dialogRows)} />
        ) : null}
        {view === 'detail' && detail ? <HostDetail lines={lines} offset={Math.min(detailOffset, Math.max(0, lines.length - detailRows))} height={detailRows} /> : null}
        {view === 'table' ? (
          <>
            {errRows ? <ErrorPanel groups={groups} maxRows={errRows - 1} /> : null}
            <HostTable
              rows={ordered}
              cursor={cur}
              offset={off}
              height={tableRows}
              width={width}
              now={now}
              tagged={tagged}
              total={s.hostOrder.length}
              filter={filter}
            />
          </>
        ) : null}
        <Text dimColor={!editing && !flashText} bold={editing} wrap="truncate">
          {footer}
        </Text>
      </Box>
    </ThemeContext.Provider>
  );
}
