/**
 * The live run dashboard: header, state bar, grouped problems, the virtualized host table, host details,
 * help, confirm dialogs and the end-of-run summary. It reads RunState (through RunStore) and steers the run
 * only with EngineCommands through `store.send`.
 */
import { useEffect, useMemo, useState } from 'react';
import { Box, Text, useApp, useStdout } from 'ink';
import type { RunState } from '../state/run-state.js';
import { errorGroups, orderedHosts, type HostFolder } from '../state/queries.js';
import { runSummary } from '../report/run-text.js';
import { foldHosts } from '../util/hostrange.js';
import { makeMatcher } from './filter.js';
import { footerHint, SUMMARY_FOOTER } from './keys.js';
import { scrollOffset } from './dashboard-state.js';
import { dialogContent } from './dialogs.js';
import { useDashboardState } from './use-dashboard-state.js';
import type { RunStore } from './store.js';
import { useThrottledRun } from './throttle.js';
import type { Theme } from './theme.js';
import { ThemeContext } from './theme-context.js';
import { Header } from './components/Header.js';
import { ProgressBar } from './components/ProgressBar.js';
import { ErrorPanel } from './components/ErrorPanel.js';
import { HostTable } from './components/HostTable.js';
import { HostDetail, detailLines } from './components/HostDetail.js';
import { Help } from './components/Help.js';
import { Dialog } from './components/Dialog.js';
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
  /** Warnings of the command, shown under the header (at most MAX_WARNING_ROWS lines). */
  warnings?: () => readonly string[];
}

const MAX_WARNING_ROWS = 3;

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
  const done = s.done !== undefined;
  const [ui, drawn] = useDashboardState({
    store,
    interactive: props.interactive,
    done,
    exitOnDone: props.exitOnDone,
    clock: props.clock,
    onHardExit: props.onHardExit,
  });
  const { view, filter, editing, tagged, final } = ui;

  const version = s.version;
  const matcher = useMemo(() => makeMatcher(filter, props.groupsOf), [filter, props.groupsOf]);
  const ordered = useMemo(() => {
    const all = orderedHosts(s);
    return matcher ? all.filter(matcher) : all;
  }, [version, matcher]);
  const groups = useMemo(() => errorGroups(s, fold), [version, fold]);

  // Leave after the final frame (the summary alone) has been drawn, so it stays on the terminal.
  useEffect(() => {
    if (!final) return;
    const t = setTimeout(() => exit(), Math.max(20, Math.round(1000 / props.fps)));
    return () => clearTimeout(t);
  }, [final, exit, props.fps]);

  const askHost = s.paused?.reason === 'on-failure' && s.paused.seq !== ui.answeredPause && !done ? (s.paused.host ?? s.lastFailedHost) : undefined;

  // ----- layout: everything must fit in rows-1 lines, or Ink clears the whole screen on every frame
  const width = Math.max(40, columns);
  const budgetRows = Math.max(8, rows - 1);
  const warnings = props.warnings?.() ?? [];
  const warnRows = Math.min(warnings.length, MAX_WARNING_ROWS);
  const errRows = ui.showErrors && groups.length && view === 'table' ? Math.min(groups.length, 5) + 1 : 0;
  const ask = askHost !== undefined ? { host: askHost, record: s.hosts.get(askHost) } : undefined;
  const dialogProps = dialogContent(ask, ui.dialog, s.runId);
  const dialogRows = dialogProps ? dialogProps.lines.length + 4 : 0;
  const footerRows = 1;
  const tableRows = Math.max(1, budgetRows - 4 - warnRows - errRows - dialogRows - 2 - footerRows);
  const detailRows = Math.max(1, budgetRows - 4 - warnRows - dialogRows - footerRows - 1);

  const cur = Math.min(ui.cursor, Math.max(0, ordered.length - 1));
  const off = scrollOffset(cur, ui.offset, tableRows, ordered.length);
  const detail = ui.detailHost !== undefined ? s.hosts.get(ui.detailHost) : undefined;
  const lines = useMemo(
    () => (view === 'detail' && detail ? detailLines(detail, props.requestFor(detail.name), now, width) : []),
    [view, detail, version, now, width],
  );
  drawn({ run: s, done, askHost, rows: ordered, cursor: cur, offset: off, tableRows, detailRows, detailLines: lines.length });

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

  const flash = ui.flash;
  const flashText = flash && props.clock() - flash.at < 5000 ? flash.text : undefined;
  const footer = editing
    ? `/${filter}▏  (Enter keep · Esc clear · terms: name group:G state:S !not)`
    : (flashText ?? (view === 'summary' ? SUMMARY_FOOTER : footerHint(!done)));

  return (
    <ThemeContext.Provider value={theme}>
      <Box flexDirection="column" width={width}>
        <Header state={s} now={now} width={width} warnings={warnings} maxWarnings={MAX_WARNING_ROWS} />
        <ProgressBar state={s} width={width} />
        {dialogProps ? <Dialog {...dialogProps} /> : null}
        {view === 'help' ? <Help /> : null}
        {view === 'summary' && summary ? <Summary summary={summary} maxGroups={Math.max(3, budgetRows - 14 - dialogRows)} /> : null}
        {view === 'detail' && detail ? (
          <HostDetail lines={lines} offset={Math.min(ui.detailOffset, Math.max(0, lines.length - detailRows))} height={detailRows} />
        ) : null}
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
