#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, type-checks, runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --peers
export PATH="$PATH:$HOME/.dotnet/tools"
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"
