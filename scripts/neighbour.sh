#!/usr/bin/env bash
# A CPU-burning neighbour for protection and disturbance checks: N busy loops pinned to CPUS,
# each ended by `timeout` after SECONDS even if this script is killed with -9 (bounded in time).
# Usage: scripts/neighbour.sh [CPUS] [SECONDS] [N]     defaults: 0 60 1; SECONDS at most 3600
#   scripts/neighbour.sh 0 600 & neighbour=$!; make bench; kill $neighbour   # stops every loop at once
# It runs in the foreground until its loops end; Ctrl-C or SIGTERM to it stops them all.
set -euo pipefail
cpus=${1:-0} seconds=${2:-60} count=${3:-1}
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 && $seconds -le 3600 ]] \
  || { echo "neighbour: SECONDS must be 1..3600, got '$seconds'" >&2; exit 2; }
[[ $count =~ ^[0-9]+$ && $count -ge 1 && $count -le 64 ]] || { echo "neighbour: N must be 1..64, got '$count'" >&2; exit 2; }
taskset --cpu-list "$cpus" true 2>/dev/null || { echo "neighbour: cannot pin to CPUs '$cpus'" >&2; exit 2; }

loops=()
stop() { kill -TERM "${loops[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
for _ in $(seq "$count"); do
  taskset --cpu-list "$cpus" timeout "$seconds" sh -c 'while :; do :; done' &
  loops+=($!)
done
echo "neighbour: $count busy loop(s) on CPUs $cpus for at most ${seconds}s (pids ${loops[*]}; stop: kill $$)" >&2
wait || true
