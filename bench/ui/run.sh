#!/usr/bin/env bash
# Dashboard CPU benchmark: compiles bench/ui (and what it imports) to node_modules/.cache, bundles the dashboard
# there as `npm run build` does for dist/ (scripts/build-ui.mjs), then runs it.
#   bash bench/ui/run.sh [--hosts 1000] [--concurrency 200] [--quick] [--fleet-only] [--rounds N] [--seconds N] [--apply-ms N]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p bench/ui/tsconfig.json
node scripts/build-ui.mjs --out node_modules/.cache/svcfleet-bench-ui/src/ui/mount.js
exec node node_modules/.cache/svcfleet-bench-ui/bench/ui/dashboard-cpu.js "$@"
