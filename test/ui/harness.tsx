/** Mounts the Dashboard on ink-testing-library with a FakeRun, and waits on rendered frames. */
import { render } from 'ink-testing-library';
import { Dashboard, type DashboardProps } from '../../src/ui/Dashboard.js';
import { RunStore } from '../../src/ui/store.js';
import type { FakeRun } from './fake-run.js';

export const KEY = {
  enter: '\r',
  esc: '\u001b',
  up: '\u001b[A',
  down: '\u001b[B',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  home: '\u001b[H',
  end: '\u001b[F',
  backspace: '\u007f',
  ctrlC: '\u0003',
};

export interface Mounted {
  run: FakeRun;
  store: RunStore;
  frame(): string;
  press(...keys: string[]): Promise<void>;
  waitFor(pred: (frame: string) => boolean, what?: string, ms?: number): Promise<string>;
  unmount(): void;
  stdout: ReturnType<typeof render>['stdout'];
  frames: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function mount(run: FakeRun, props: Partial<DashboardProps> = {}): Mounted {
  const store = new RunStore(run);
  run.flush();
  const clock = props.clock ?? (() => run.clock);
  const r = render(
    <Dashboard
      store={store}
      color={false}
      interactive
      exitOnDone={false}
      fps={100}
      clock={clock}
      groupsOf={() => []}
      requestFor={() => undefined}
      size={{ columns: 120, rows: 40 }}
      {...props}
    />,
  );
  if (props.size) {
    // ink-testing-library's stdout is 100 columns with no rows; give it the asked size, as a terminal would.
    const size = props.size;
    Object.defineProperty(r.stdout, 'columns', { configurable: true, get: () => size.columns });
    Object.defineProperty(r.stdout, 'rows', { configurable: true, get: () => size.rows });
    r.stdout.emit('resize');
  }
  const frame = () => r.lastFrame() ?? '';
  const waitFor = async (pred: (f: string) => boolean, what = 'condition', ms = 3000) => {
    const until = Date.now() + ms;
    for (;;) {
      const f = frame();
      if (pred(f)) return f;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last frame:\n${f}`);
      await sleep(10);
    }
  };
  return {
    run,
    store,
    frame,
    waitFor,
    async press(...keys: string[]) {
      for (const k of keys) {
        r.stdin.write(k);
        // One frame at 100 fps, plus React's commit: enough for the next key to see the new state.
        await sleep(25);
      }
    },
    unmount: () => r.unmount(),
    stdout: r.stdout,
    frames: r.frames,
  };
}
