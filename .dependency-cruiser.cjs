/**
 * The import rules of src/ (docs/architecture.md explains them). `npm run lint:deps` prints every violation
 * with the name of the rule it breaks; test/architecture/layers.test.ts runs the same check in `npm test`.
 *
 * The layers, lowest first. A folder may import itself and the folders BELOW it, never one above it: each
 * forbidden pair below becomes one rule named `<folder>-must-not-import-<higher folder>`, so a wrong-way import
 * says exactly which edge of the order it breaks.
 *
 * Type-only imports count (tsPreCompilationDeps): a type pulled from above is still a dependency on that
 * layer's meaning, and it is how most of the old loops started.
 */
'use strict';

/** [folder, what it holds]; the order is the rule. */
const LAYERS = [
  ['util', 'errors, secrets and secret references, YAML document helpers, host ranges, windows-cmdline, atomic file writes'],
  ['transport', 'the transport types, the open registry, SSH, WinRM and pwsh sessions (no lab code)'],
  ['remote', 'the remote protocol, building the invocation, frames, the PowerShell scripts loader'],
  ['inventory', 'inventories and host patterns (pure)'],
  ['config', 'the configuration file, its defaults and the rollout strategy'],
  ['spec', 'change specs and their per-host rendering (pure)'],
  ['engine', 'the scheduler and the per-host flow, run events and outcomes'],
  ['state', 'the run-state reducer shared by journal, report and ui'],
  ['journal', 'the durable run journal and its replay'],
  ['plan', 'plan grouping and plan files (pure)'],
  ['report', 'reporters: plain, ndjson, junit, show, inspect, summaries'],
  ['ui', 'the Ink dashboard'],
  ['app', 'one module per use case (plan, apply, rollback, ...)'],
  ['cli', 'thin command-line wiring: flags -> options -> app call -> exit code'],
  ['lab', 'the emulated Windows hosts, the lab transport and the lab/demo commands'],
];

const NAMES = LAYERS.map(([name]) => name);

/** `lower` must not import any folder above it; the lab has rules of its own below. */
const layerRules = [];
LAYERS.forEach(([lower, holds], i) => {
  for (const higher of NAMES.slice(i + 1)) {
    if (higher === 'lab') continue; // only-lab-may-import-lab and cli-must-not-import-lab cover it
    layerRules.push({
      name: `${lower}-must-not-import-${higher}`,
      comment:
        `src/${lower} (${holds}) sits below src/${higher} in the layer order (docs/architecture.md); ` +
        `move the shared piece down to src/${lower} or lower, or invert the dependency.`,
      severity: 'error',
      from: { path: `^src/${lower}/` },
      to: { path: `^src/${higher}/` },
    });
  }
});

/** Rules with their own wording; a generated rule of the same name gives way to these. */
const namedRules = [
  {
    name: 'no-circular',
    comment:
      'No import cycles between files: a cycle makes load order matter and hides which module owns what. ' +
      'Move the shared part into a module both sides import (e.g. journal/record.ts for store and replay).',
    severity: 'error',
    from: { path: '^src/' },
    to: { circular: true },
  },
  {
    name: 'cli-must-not-import-lab',
    comment:
      'The production command line never loads the lab: lab and demo commands reach it only through the ' +
      'dynamic import in src/main.ts, so `svcfleet plan` and `apply` load zero lab modules.',
    severity: 'error',
    from: { path: '^src/cli/' },
    to: { path: '^src/lab/' },
  },
  {
    name: 'only-lab-may-import-lab',
    comment:
      'The lab (emulated hosts, local transport) is off the production path: nothing outside src/lab imports it, ' +
      'except src/main.ts, and that only dynamically (main-may-import-lab-only-dynamically).',
    severity: 'error',
    from: { path: '^src/', pathNot: ['^src/lab/', '^src/main\\.ts$', '^src/cli/'] },
    to: { path: '^src/lab/' },
  },
  {
    name: 'main-may-import-lab-only-dynamically',
    comment: 'src/main.ts loads the lab with `await import(...)` only when a lab or demo command runs.',
    severity: 'error',
    from: { path: '^src/main\\.ts$' },
    to: { path: '^src/lab/', dynamic: false },
  },
  {
    name: 'app-must-not-import-cli',
    comment: 'The application layer is called by the CLI and by the public API; it knows nothing of commander or flags.',
    severity: 'error',
    from: { path: '^src/app/' },
    to: { path: '^src/cli/' },
  },
];

module.exports = {
  forbidden: [...namedRules, ...layerRules.filter((rule) => !namedRules.some((named) => named.name === rule.name))],
  options: {
    // Only our own modules: packages and node: builtins are not layers.
    includeOnly: '^src/',
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Count `import type` too (see above).
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
