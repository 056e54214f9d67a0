#!/usr/bin/env bash
# Soak benchmark (not a test): N hosts through the real ssh transport against in-process ssh responders (a
# separate process) with a seeded 1% of connection faults; every host accounted for, RSS series and slope.
#   bash bench/soak/run.sh [--hosts 2000] [--concurrency 200] [--seed 13] [--plan-ms 50] [--apply-ms 200]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p bench/soak/tsconfig.json
exec node node_modules/.cache/svcfleet-bench-soak/bench/soak/soak-bench.js "$@"
