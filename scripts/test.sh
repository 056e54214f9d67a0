#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, type-checks, runs vitest.
# The tmux end-to-end test of the demo drives a live terminal against wall-clock waits, so it runs on its own
# after the rest instead of competing with the pwsh-heavy suites for the two cores.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --peers || exit 1
export PATH="$PATH:$HOME/.dotnet/tools"
npx tsc -p tsconfig.json --noEmit || exit 1
# Lint and format (biome.json), warnings included so they cannot pile up unseen; the layer rules run as a test
# (test/architecture).
npx biome check --error-on-warnings || exit 1

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
E2E=test/ui/demo-e2e.test.ts
status=0
if (($#)); then
  npx vitest run --reporter=default --reporter=json --outputFile="$results/1.json" "$@" || status=1
else
  npx vitest run --reporter=default --reporter=json --outputFile="$results/1.json" --exclude "$E2E" || status=1
  npx vitest run --reporter=default --reporter=json --outputFile="$results/2.json" "$E2E" || status=1
fi

# One plain closing line over both runs: "N passed, N failed".
node -e '
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    try {
      const r = JSON.parse(require("fs").readFileSync(f, "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    } catch { failed += 1; console.error(`no results in ${f}`); }
  }
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results"/*.json
exit $status
