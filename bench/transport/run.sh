#!/usr/bin/env bash
# Transport benchmark (not a test): compiles bench/transport (and what it imports) to node_modules/.cache, then
# runs it. Same layout as bench/ui and bench/fleet.
#   bash bench/transport/run.sh [--hosts 200] [--concurrency 50] [--phases floor,ssh,winrm,ssh-hold,winrm-hold]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p bench/transport/tsconfig.json
# The lab's non-TS files next to their compiled modules, as `npm run build` does for dist/.
node scripts/copy-assets.mjs --out node_modules/.cache/svcfleet-bench-transport/src
exec node node_modules/.cache/svcfleet-bench-transport/bench/transport/main.js "$@"
