import type { ConnectionSettings } from '../transport/types.js';

/** One host after inventory loading, variable merging and connection mapping. */
export interface HostSpec {
  name: string;
  /** Every group the host belongs to, ancestors included, 'all' excluded. */
  groups: string[];
  /** Merged variables (Ansible precedence), secrets removed into `connection`. */
  vars: Record<string, unknown>;
  connection: ConnectionSettings;
}

export interface Inventory {
  /** Where it was read from (for error messages). */
  source: string;
  hosts: HostSpec[];
  /** group -> direct child groups / direct hosts / group vars, shaped like `ansible-inventory --list`. */
  groups: Record<string, { children: string[]; hosts: string[]; vars: Record<string, unknown> }>;
}
