#!/usr/bin/env bash
# Dashboard CPU benchmark: compiles bench/ui (and what it imports) to node_modules/.cache, then runs it.
#   bash bench/ui/run.sh [--quick] [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p bench/ui/tsconfig.json
exec node node_modules/.cache/svcfleet-bench-ui/bench/ui/dashboard-cpu.js "$@"
