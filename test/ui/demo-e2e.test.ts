/**
 * End to end: `svcfleet demo` in a real terminal (tmux), driven by keys like a person would: pause, filter,
 * drill into a host and back, resume, abort with its confirmation, then the summary and quit. Asserts on
 * `tmux capture-pane` text, and that the demo leaves no lab process or directory behind.
 * Needs the compiled CLI (built here when dist/ is older than its sources; the dashboard is then the bundle
 * scripts/build-ui.mjs makes, as users get it), pwsh (scripts/setup.sh) and tmux.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ensureBuilt, root } from './built.js';

const session = `svcfleet-e2e-${process.pid}`;
// A tmux server of this test's own (its socket in this run's temp dir), not the machine's default one: another
// run's sessions never share it, and killing it at the end cannot touch anyone else's.
const tmuxSocket = join(tmpdir(), `tmux-e2e-${process.pid}`);
const PATH = `${process.env['PATH']}:${join(homedir(), '.dotnet', 'tools')}`;
let journal = '';

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-S', tmuxSocket, ...args], { encoding: 'utf8' });
}

const screen = (): string => tmux('capture-pane', '-p', '-J', '-t', session);
const history = (): string => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session);

async function waitFor(pred: (text: string) => boolean, what: string, ms = 90_000, read = screen): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const text = read();
    if (pred(text)) return text;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; screen:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function keys(...k: string[]): Promise<void> {
  for (const key of k) {
    tmux('send-keys', '-t', session, key);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Lab service processes still running whose environment points into `dir`. */
function labProcessesIn(dir: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dir)) found.push(Number(pid));
    } catch {
      /* gone, or not ours */
    }
  }
  return found;
}

beforeAll(() => {
  if (spawnSync('tmux', ['-V']).status !== 0) {
    throw new Error('tmux is missing: install it with `apt-get install -y tmux` (or `bash scripts/setup.sh --peers` as root)');
  }
  if (spawnSync('pwsh', ['-v'], { env: { ...process.env, PATH } }).status !== 0) {
    throw new Error('pwsh is missing: run `bash scripts/setup.sh` (installs PowerShell 7 as a dotnet tool)');
  }
  ensureBuilt(join(root, 'dist', 'cli', 'commands', 'demo.js'));
  journal = mkdtempSync(join(tmpdir(), 'svcfleet-e2e-journal-'));
}, 120_000);

afterAll(() => {
  spawnSync('tmux', ['-S', tmuxSocket, 'kill-session', '-t', session]);
  spawnSync('tmux', ['-S', tmuxSocket, 'kill-server']);
  rmSync(tmuxSocket, { force: true });
  if (journal) rmSync(journal, { recursive: true, force: true });
});

test('svcfleet demo in tmux: pause, filter, drill in, back, resume, abort, summary, quit', async () => {
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '150',
    '-y',
    '45',
    '-e',
    `PATH=${PATH}`,
    // A person's terminal, even when the suite runs in CI: with CI set, Ink draws no live frames at all.
    '-e',
    'CI=0',
    `cd ${root} && node bin/svcfleet.js demo --hosts 12 --journal ${journal}; echo DEMO-EXIT=$?; sleep 600`,
  );
  // The lab comes up, then the dashboard with every host of the run.
  const start = await waitFor((t) => /Hosts 12\b/.test(t), 'the dashboard');
  expect(start).toMatch(/svcfleet apply · run \d{8}T\d{6}Z-[0-9a-f]{4} · spec .*hotfix\.yml · service MyGoService/);
  expect(start).toMatch(/canary 1 · .*budget \d\/3 used/);
  const labDir = /starting 12 emulated Windows hosts in (\S+)/.exec(history())![1]!;

  // Pause: no new host starts; the header says so.
  await keys('p');
  await waitFor((t) => t.includes('PAUSED (user)'), 'paused');

  // Filter to the west half's group, then by name.
  await keys('/', 'g', 'r', 'o', 'u', 'p', ':', 'w', 'e', 's', 't', 'Enter');
  await waitFor((t) => t.includes('Hosts 6 of 12 · filter: group:west'), 'group filter');
  await keys('Escape', '/', 'l', 'a', 'b', '0', '0', '3', 'Enter');
  const filtered = await waitFor((t) => t.includes('Hosts 1 of 12 · filter: lab003'), 'name filter');
  expect(filtered).toMatch(/› lab003 /);

  // Drill in, and back.
  await keys('Enter');
  const detail = await waitFor((t) => t.includes('Host lab003') && t.includes('Timeline'), 'host details');
  expect(detail).toContain('Diff');
  expect(detail).toContain('Request sent (secrets redacted)');
  await keys('Escape');
  await waitFor((t) => t.includes('Hosts 1 of 12') && !t.includes('Timeline'), 'back to the table');
  await keys('Escape');
  await waitFor((t) => /Hosts 12\b/.test(t) && !t.includes('filter:'), 'filter cleared');

  // Resume, let a few hosts change, then abort (with its confirmation).
  await keys('p');
  await waitFor((t) => t.includes('RUNNING'), 'resumed');
  await waitFor((t) => /changed [2-9]/.test(t), 'two hosts changed');
  await keys('a');
  const ask = await waitFor((t) => t.includes('Abort the run?'), 'abort dialog');
  expect(ask).toContain('In-flight hosts finish their change');
  await keys('y');

  // The run ends: the summary replaces the table, with grouped outcomes, the run id and next commands.
  const summary = await waitFor((t) => t.includes('Outcomes:') && t.includes('Next:'), 'summary', 120_000);
  const runId = /Run (\d{8}T\d{6}Z-[0-9a-f]{4}) \(apply\) finished in .*: exit 3 \(aborted\), aborted \(user\)/.exec(summary)?.[1];
  expect(runId, summary).toBeDefined();
  expect(summary).toMatch(/lab\[[^\]]+\]: changed \(\d+\)|lab\d{3}: changed \(1\)/);
  expect(summary).toMatch(/skipped: .*\(\d+\)/);
  expect(summary).toContain(`svcfleet show ${runId}`);

  // Quit: the summary stays on the terminal, the demo explains and removes its lab.
  await keys('q');
  const end = await waitFor((t) => t.includes('DEMO-EXIT='), 'the demo to exit', 60_000, history);
  expect(end).toContain('DEMO-EXIT=3');
  expect(end).toContain(`svcfleet show ${runId}`);
  expect(end).toMatch(/svcfleet demo: finished in [\d.]+ s, exit code 3\./);
  expect(end).toContain(`lab stopped (every service process killed) and ${labDir} removed`);
  expect(existsSync(labDir)).toBe(false);
  expect(labProcessesIn(labDir)).toEqual([]);
  // The run is in the journal for `svcfleet show`.
  const shown = execFileSync('node', ['bin/svcfleet.js', 'show', runId!, '--journal', journal], { cwd: root, encoding: 'utf8' });
  expect(shown).toContain(runId);
}, 240_000);
