#!/usr/bin/env bash
# svcfleet next to Ansible and pdsh on the same lab SSH hosts (not a test). Needs `npm run build` (the svcfleet
# CLI runs from dist/) and Debian's openssh-server, ansible-core, pdsh.
#   bash bench/peers/run.sh [--hosts 200] [--concurrency 50] [--tools svcfleet,ansible,pdsh]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p bench/peers/tsconfig.json
exec node node_modules/.cache/svcfleet-bench-peers/bench/peers/peers-bench.js "$@"
