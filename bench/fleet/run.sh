#!/usr/bin/env bash
# Fleet controller benchmark (not a test): compiles bench/fleet (and what it imports) to node_modules/.cache,
# then runs it. Same layout as bench/ui.
#   bash bench/fleet/run.sh [--hosts 1000] [--concurrency 200] [--connect-ms 50] [--plan-ms 250] [--apply-ms 700] [--no-journal]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p bench/fleet/tsconfig.json
exec node ${SVCFLEET_BENCH_NODE_OPTS:-} node_modules/.cache/svcfleet-bench-fleet/bench/fleet/fleet-bench.js "$@"
