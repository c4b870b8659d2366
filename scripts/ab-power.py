#!/usr/bin/env python3
"""How many pairs `bench ab` needs on this machine: its gate's power, resampled from A/A runs.

    scripts/ab-power.py AB_JSON... [--metric server_cpu_us_per_req] [--scenario throughput]
                        [--change-pct 5] [--pairs 24,48,72] [--threshold-pct 3] [--alpha 0.05] [--draws 400]

AB_JSON: the ab.json of runs whose head equals their base (`bench ab HEAD HEAD`). Their per-pair ratios
of one figure, each run centred on its median, are drawn with replacement into simulated runs of each
size, shifted by the change, and judged by the gate (harness.compare.gate_power). Prints, per size,
how often a change of --change-pct and one of 0 were called a regression. Exit 2 with one line on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.compare.gate_power import centred_logs, gate_power
from harness.metrics import direction


def ratios_of(path: Path, scenario: str, metric: str) -> list[float]:
    try:
        changes = json.loads(path.read_text())["changes"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read the changes of {path}: {exc}") from None
    for change in changes:
        if change.get("scenario") == scenario and change.get("metric") == metric:
            return list(change.get("ratios") or [])
    raise ValueError(f"{path} has no {scenario} {metric}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ab_json", type=Path, nargs="+")
    parser.add_argument("--scenario", default="throughput")
    parser.add_argument("--metric", default="server_cpu_us_per_req")
    parser.add_argument("--change-pct", type=float, default=5.0)
    parser.add_argument("--pairs", default="24,48,72", help="sizes to simulate, comma-separated")
    parser.add_argument("--threshold-pct", type=float, default=3.0)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        sizes = [int(p) for p in args.pairs.split(",")]
        way = direction(args.metric)
    except (ValueError, KeyError) as exc:
        print(f"ab-power: error: {exc}", file=sys.stderr)
        return 2
    if way == "none" or not 0 < args.alpha < 1 or args.draws < 1 or min(sizes) < 1:
        print("ab-power: error: a gated metric, alpha in (0, 1) and positive sizes and draws, please", file=sys.stderr)
        return 2
    try:
        logs = centred_logs([ratios_of(path, args.scenario, args.metric) for path in args.ab_json])
    except ValueError as exc:
        print(f"ab-power: error: {exc}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    spread = 100 * 1.4826 * float(np.median(np.abs(logs)))
    print(f"{len(logs)} pairs from {len(args.ab_json)} run(s); spread of a pair's ratio {spread:.1f}% "
          f"(MAD x 1.4826); gate: threshold {args.threshold_pct:g}%, alpha {args.alpha:g}; {args.draws} draws each")
    for pairs in sizes:
        common = dict(direction=way, threshold_pct=args.threshold_pct, alpha=args.alpha, draws=args.draws, rng=rng)
        caught = gate_power(logs, args.change_pct, pairs, **common)
        false = gate_power(logs, 0.0, pairs, **common)
        print(f"{pairs:4d} pairs: a {args.change_pct:g}% change caught in {caught:.0%}, "
              f"no change flagged in {false:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
