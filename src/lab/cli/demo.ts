/**
 * `svcfleet demo`: the whole tool on a built-in lab, with nothing to prepare. It starts N emulated Windows hosts
 * in a temp dir (src/lab/demo), then runs exactly what a user would type against them —
 *   svcfleet apply hotfix.yml -i inventory.yml --canary 1 --batches 3,25%,100% --max-failures 3
 * — through the application layer's apply (same engine, journal, dashboard and outputs), with a context whose
 * transport registry holds one `local` transport over a pool of warm pwsh workers. Afterwards it stops every lab service process and removes the lab; the run stays
 * in the journal, so `svcfleet show RUN` works afterwards.
 */
import { type Command, Option } from 'commander';
import { apply } from '../../app/apply.js';
import type { AppContext } from '../../app/context.js';
import type { CliContext } from '../../cli/context.js';
import { DEMO_DESCRIPTION } from '../../cli/lab-stubs.js';
import { configFlags } from '../../cli/flags.js';
import { ExitCode } from '../../engine/events.js';
import type { LiveView } from '../../report/outputs.js';
import { startDemoLab, type DemoLab } from '../demo/fleet.js';
import { createLabRunner } from '../runner/index.js';
import { createLocalTransport } from '../transport/index.js';
import { createTransportRegistry } from '../../transport/registry.js';
import { InputError } from '../../util/errors.js';
import { runDashboard } from '../../ui/index.js';

interface DemoFlags {
  hosts: string;
  faults: 'default' | 'none';
  ui?: 'plain' | 'ndjson' | 'dashboard';
  workers: string;
  concurrency: string;
  journal?: string;
}

const FAULT_NOTE: Record<string, string> = {
  'access-denied': 'the SCM denies the config change (access denied): failed, nothing changed',
  crash: 'the service crashes after starting with the new arguments: verify fails, rolled back',
  unreachable: 'the host does not exist: unreachable',
};

function whole(value: string, field: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InputError(`${field} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`, { field });
  }
  return Number(value);
}

/** The `svcfleet apply` arguments the demo runs (also printed, so users can copy the pattern). */
export function demoApplyArgs(lab: DemoLab, f: { concurrency: number; ui?: string; journal?: string }): string[] {
  const args = [
    'apply',
    lab.specFile,
    '-i',
    lab.inventoryFile,
    '--canary',
    '1',
    '--batches',
    '3,25%,100%',
    '--max-failures',
    '3',
    '--concurrency',
    String(f.concurrency),
  ];
  if (f.ui) args.push('--ui', f.ui);
  if (f.journal) args.push('--journal', f.journal);
  return args;
}

async function demo(f: DemoFlags, cli: CliContext): Promise<void> {
  const hosts = whole(f.hosts, '--hosts', 1, 500);
  const workers = whole(f.workers, '--workers', 1, 16);
  const concurrency = whole(f.concurrency, '--concurrency', 1, 200);
  const quiet = f.ui === 'ndjson'; // stdout is the event stream: notes go to stderr
  const note = (line: string): void => void (quiet ? cli.stderr : cli.stdout).write(`${line}\n`);

  // Ctrl-C while the lab starts or stops must still kill the lab's service processes.
  let lab: DemoLab | undefined;
  let stopping: Promise<void> | undefined;
  const stopLab = (): Promise<void> => (stopping ??= lab ? lab.stop() : Promise.resolve());
  const onSignal = (signal: NodeJS.Signals): void => {
    void stopLab().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const onExit = (): void => lab?.killSync();
  const onHardSignal = (signal: NodeJS.Signals): void => {
    lab?.killSync();
    process.exit(signal === 'SIGHUP' ? 129 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  const started = Date.now();
  try {
    lab = await startDemoLab({ hosts, faults: f.faults, onProgress: (m) => note(`svcfleet demo: ${m}`) });
    // From here the run owns Ctrl-C (a dashboard key, or apply's Ctrl-C handling). A closed terminal
    // (SIGHUP) or SIGTERM ends the demo at once: the lab's processes are killed on the way out.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.once('SIGHUP', onHardSignal);
    process.once('SIGTERM', onHardSignal);
    const faulty = lab.hosts.filter((h) => h.fault);
    note(`svcfleet demo: ${hosts} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s; service ${lab.service}`);
    for (const h of faulty) note(`  fault on ${h.name}: ${FAULT_NOTE[h.fault!]}`);
    const args = demoApplyArgs(lab, { concurrency, ...(f.ui ? { ui: f.ui } : {}), ...(f.journal ? { journal: f.journal } : {}) });
    note(`svcfleet demo: running  svcfleet ${args.join(' ')}`);

    const runner = createLabRunner({ mode: 'pool', size: workers });
    const transport = createLocalTransport({ labRunner: runner });
    // The demo's own registry: its hosts are all `local`, reached through the one shared warm pool.
    const transports = createTransportRegistry();
    transports.register('local', () => transport);
    const context: AppContext = {
      ...cli.app,
      transports,
      // Handed over ready-made, so the dashboard subscribes before the engine's first event (the engine starts
      // on the next macrotask; loading the UI module there first would miss run-start).
      dashboard: (handle, groupsOf) => runDashboard(handle, { groupsOf }),
    };
    let code: number = ExitCode.ok;
    try {
      // Exactly what `svcfleet apply` makes of the printed arguments.
      const settings = configFlags({
        canary: ['1'],
        batches: '3,25%,100%',
        maxFailures: '3',
        concurrency: String(concurrency),
        ...(f.journal ? { journal: f.journal } : {}),
      });
      const result = await apply({ input: lab.specFile, inventory: [lab.inventoryFile], settings, ...(f.ui ? { view: f.ui as LiveView } : {}) }, context);
      code = result.exitCode;
    } finally {
      await transports.dispose();
      await runner.close();
    }
    cli.setExit(code);
    note('');
    note(`svcfleet demo: finished in ${((Date.now() - started) / 1000).toFixed(1)} s, exit code ${code}.`);
    if (faulty.length && code === ExitCode.hostsFailed) {
      note(
        `  The exit code is ${code} because of the demo's deliberate faults (${faulty.map((h) => h.name).join(', ')}); ` +
          '`svcfleet demo --faults none` runs a clean fleet and exits 0.',
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHardSignal);
    process.off('SIGTERM', onHardSignal);
    await stopLab();
    process.off('exit', onExit);
    if (lab) note(`svcfleet demo: lab stopped (every service process killed) and ${lab.dir} removed.`);
  }
}

export function registerDemo(program: Command, cli: CliContext): void {
  program
    .command('demo')
    .description(DEMO_DESCRIPTION)
    .option('--hosts <n>', 'number of emulated hosts', '40')
    .addOption(
      new Option('--faults <set>', 'default: three hosts fail in typical ways (exit code 2); none: a clean run')
        .choices(['default', 'none'])
        .default('default'),
    )
    .addOption(new Option('--ui <view>', 'live view (default: dashboard on a terminal, plain otherwise)').choices(['plain', 'ndjson', 'dashboard']))
    .option('--workers <n>', 'warm pwsh workers running the emulated hosts', '4')
    .option('--concurrency <n>', 'hosts in flight at once', '8')
    .option('--journal <dir>', 'journal directory (default $XDG_STATE_HOME/svcfleet or ~/.local/state/svcfleet)')
    .addHelpText(
      'after',
      `
The demo starts the hosts, applies a sample hot-fix (new start arguments, description and recovery actions)
with a canary and batches, and ends with the summary and the run id (\`svcfleet show RUN\` afterwards).
Exit codes are those of \`svcfleet apply\`: with the default faults the demo exits 2 (some hosts failed or
were rolled back), on purpose; \`--faults none\` exits 0.

Examples:
  svcfleet demo
  svcfleet demo --hosts 12 --ui plain
  svcfleet demo --faults none`,
    )
    .action((f: DemoFlags) => demo(f, cli));
}
