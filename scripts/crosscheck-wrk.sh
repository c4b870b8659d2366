#!/usr/bin/env bash
# Cross-check the harness's /json throughput against wrk (a C load generator) on the same pinned target.
# Usage: scripts/crosscheck-wrk.sh [TARGET] [CONNECTIONS] [SECONDS]   (needs `apt-get install wrk`)
# The target runs on CPU 0 as in `bench run`, wrk on CPU 1 with one thread; compare the printed
# Requests/sec with the `rps` of the `throughput` scenario at the same concurrency.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-fastapi} connections=${2:-64} seconds=${3:-10}
command -v wrk >/dev/null || { echo "crosscheck: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
port=$(.venv/bin/python -c 'from harness.runtime.server import free_port; print(free_port())')
.venv/bin/bench serve "$target" --port "$port" --cpus 0 > "build/crosscheck-$target.log" 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null; wait $serve 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
taskset -c 1 wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$port/json" >/dev/null  # warm-up
taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/json"
