#!/usr/bin/env bash
# Controller CPU of a real run, headless vs. with the dashboard: `svcfleet demo` (emulated hosts over the local
# transport; the pwsh workers and service processes are separate processes and not counted) once with
# --ui plain and once in the dashboard inside tmux. Prints both and the dashboard's overhead.
#   bash bench/ui/demo-cpu.sh [HOSTS]      (default 40; needs `npm run build`, pwsh and tmux)
set -euo pipefail
cd "$(dirname "$0")/../.."
hosts=${1:-40}
export PATH="$PATH:$HOME/.dotnet/tools"
work=$(mktemp -d)
trap 'tmux kill-session -t svcfleet-demo-cpu 2>/dev/null || true; rm -rf "$work"' EXIT

SVCFLEET_CPU_FILE=$work/plain.json node --import ./bench/ui/cpu-at-exit.mjs bin/svcfleet.js demo --hosts "$hosts" --faults none \
  --ui plain --journal "$work/j" > "$work/plain.log" 2>&1 || true

tmux new-session -d -s svcfleet-demo-cpu -x 160 -y 50 -e "PATH=$PATH" -e "SVCFLEET_CPU_FILE=$work/dash.json" \
  "node --import ./bench/ui/cpu-at-exit.mjs bin/svcfleet.js demo --hosts $hosts --faults none --journal $work/j; sleep 600"
until tmux capture-pane -p -t svcfleet-demo-cpu | grep -q 'Outcomes:'; do sleep 0.5; done
tmux send-keys -t svcfleet-demo-cpu q
until [[ -s $work/dash.json ]]; do sleep 0.2; done

node -e '
const [p, d] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
const line = (n, m) => `${n.padEnd(10)} controller cpu ${m.cpuMs.toFixed(0).padStart(6)} ms   wall ${(m.wallMs / 1000).toFixed(1).padStart(5)} s`;
console.log(line("plain", p));
console.log(line("dashboard", d));
console.log(`dashboard overhead: ${(((d.cpuMs - p.cpuMs) / p.cpuMs) * 100).toFixed(1)}% of the headless controller CPU`);
' "$work/plain.json" "$work/dash.json"
grep -E '^svcfleet demo: (finished|[0-9]+ hosts up)' "$work/plain.log" | sed 's/^/plain: /'
