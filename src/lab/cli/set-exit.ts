/**
 * How a lab command reports its exit code to the CLI that registered it. Declared here, not imported from
 * src/cli, so the lab's command modules depend on nothing above them: src/cli registers the lab commands
 * (through a dynamic import), never the other way round. Structurally the same callback as the CLI's own.
 */
export type SetExit = (code: number) => void;
