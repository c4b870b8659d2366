#!/usr/bin/env python3
"""Is this machine steady enough for absolute figures? Times a fixed piece of CPU work on every
CPU at once, over and over, for SECONDS, and says how often and how long each CPU ran slow.

The work is harness.machine.speed_probe's, timed in the thread's own CPU time, so waiting for the CPU does
not count and a slower host does. Every CPU is kept busy at once, as during a load test. A core is
steady when the median of nearly every second stays within 20% of its fastest second's. A virtual
machine's vCPUs can each switch between speeds on their own, for seconds to minutes at a time, with
nothing else running (docs/measurements.md, "The cores' own speed"). Requests per second then vary
across trials by about as much, whatever the harness does; the ratios between targets, measured round
by round, much less (docs/method.md).

Usage (from the repository root, after `make setup`; stop it with Ctrl-C):
    .venv/bin/python scripts/host-speed.py [--seconds 60] [--cpus 0-1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.errors import BenchError
from harness.machine.cpus import available_cpus, parse_cpu_list
from harness.machine.speed_probe import SLOW_PCT, Steadiness, probe_ms, steadiness

WORK_LOOPS = 500_000  # ten times the speed probe's work: readings every few tens of ms
MAX_SECONDS = 3600


def watch(cpu: int, seconds: float) -> list[tuple[float, float]]:
    """(time since start s, probe ms) on `cpu` until `seconds` have passed."""
    readings = []
    start = time.monotonic()
    while (now := time.monotonic() - start) < seconds:
        ms = probe_ms(cpu, loops=WORK_LOOPS, repeats=1)
        if ms is None:
            break
        readings.append((now, ms))
    return readings


def line(cpu: int, s: Steadiness) -> str:
    return (f"  CPU {cpu}: each second's median: fastest {s.fastest_ms:.1f} ms, median {s.median_ms:.1f} ms, "
            f"slowest {s.slowest_ms:.1f} ms; "
            f"{100 * s.slow_share:.0f}% of seconds over {SLOW_PCT:g}% slower than the fastest second, "
            f"longest slow spell {s.longest_slow_s:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help=f"how long to watch, 1-{MAX_SECONDS} (default 60)")
    parser.add_argument("--cpus", default=None, help="CPU list to watch, e.g. '0-1' (default: every CPU allowed)")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be 1-{MAX_SECONDS}, got {args.seconds:g}")
    try:
        cpus = parse_cpu_list(args.cpus) if args.cpus else available_cpus()
    except BenchError as exc:
        parser.error(str(exc))
    outside = sorted(set(cpus) - set(available_cpus()))
    if outside:
        parser.error(f"this process may not run on CPU {','.join(map(str, outside))}")
    print(f"watching CPU {','.join(map(str, cpus))} for {args.seconds:g} s, all busy at once ...", flush=True)
    with multiprocessing.Pool(len(cpus)) as pool:
        results = pool.starmap(watch, [(cpu, args.seconds) for cpu in cpus])
    verdicts = {cpu: steadiness(readings) for cpu, readings in zip(cpus, results, strict=True) if readings}
    for cpu, verdict in verdicts.items():
        print(line(cpu, verdict))
    slow = [cpu for cpu, v in verdicts.items() if v.slow_share > 0.05]
    if slow:
        print(f"this machine changes speed (CPU {','.join(map(str, slow))}): requests per second and CPU per request "
              "will vary across trials by up to the spread above, whatever the harness does; ratios measured round by "
              "round vary less. A machine with dedicated cores gives steadier absolute figures.")
    else:
        print(f"steady: every CPU stayed within {SLOW_PCT:g}% of its fastest second in at least 95% of seconds.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
