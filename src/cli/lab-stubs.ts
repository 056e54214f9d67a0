/**
 * The one-line descriptions of the lab commands. src/main.ts registers description-only stubs with them when
 * the lab is not loaded (so `svcfleet --help` lists `lab` and `demo` without loading any lab module); the real
 * commands in src/lab/cli use the same text.
 */
export const LAB_DESCRIPTION = 'Emulated Windows hosts on this machine (tests, demo); never sent to a real host.';
export const DEMO_DESCRIPTION = 'Hot-fix a built-in lab fleet of emulated Windows hosts, live in the dashboard (no inventory, no Windows, no root).';

/** The commands whose modules live under src/lab. */
export const LAB_COMMANDS = ['lab', 'demo'] as const;
