/**
 * Where runs are journaled when neither --journal, SVCFLEET_JOURNAL nor the config file says: the XDG state
 * directory ($XDG_STATE_HOME/svcfleet, else ~/.local/state/svcfleet). A relative XDG_STATE_HOME is ignored,
 * as the XDG Base Directory specification requires (https://specifications.freedesktop.org/basedir-spec/latest/).
 *
 * It is a configuration default, so it lives with the other defaults (load.ts); the journal itself is only ever
 * given a root.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultJournalRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'svcfleet');
}
