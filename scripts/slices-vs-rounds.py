#!/usr/bin/env python3
"""Paired slices against rounds, through the harness, at equal measured time: the ratio's spread.

For each chosen scenario, runs the two designs alternately REPEATS times each:
- rounds: TRIALS trials of each target, each a fresh server, a warm-up and a window of LOAD_S / TRIALS
  seconds, paired trial by trial (A B, B A, ...);
- slices: one trial of both servers at once and LOAD_S pairs of 1-s slices (harness.kinds.sliced).
Both measure each target for LOAD_S seconds. Per run and design: the Express/FastAPI ratio of rps and of
server CPU per request, as the median of the per-round (per-pair) ratios with its order-statistic interval
(harness.stats.median_order_ci, its real coverage), the interval's half-width, and the run's wall time;
then the medians' spread across the repeats. The scenario files are copied to a temporary folder with
their quick profile replaced; the repository's are not touched.

Usage (from the repository root, after `make setup`; about 2 minutes per scenario and repeat):
    BENCH_CPU_LOCK=wait .venv/bin/python scripts/slices-vs-rounds.py [--scenarios cpu,crud] [--repeats 3]
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.config import RunConfig
from harness.results import load_results
from harness.run import prepare_run
from harness.stats import median_order_ci

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("rps", "server_cpu_us_per_req")
WARMUP_S = 3


def profile(design: str, users: int, load_s: int, trials: int, extra: dict) -> dict:
    if design == "rounds":
        return {"users": [users], "warmup_s": WARMUP_S, "duration_s": load_s / trials, "trials": trials, **extra}
    return {"users": [users], "warmup_s": WARMUP_S, "duration_s": 1, "trials": 1, **extra,
            "slices": {"slice_s": 1, "settle_s": 0.1, "pairs": load_s}}


def scenario_folder(scenarios: list[str], design: str, load_s: int, trials: int) -> Path:
    """A copy of scenarios/ whose chosen files' quick profile is the design's."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{design}-"))
    shutil.copytree(ROOT / "scenarios", folder, dirs_exist_ok=True)
    for name in scenarios:
        path = folder / f"{name}.py"
        text = path.read_text()
        start, end = quick_span(text, name)
        quick = ast.literal_eval(text[start:end])
        extra = {k: v for k, v in quick.items() if k in ("params", "matrix", "spawn_rate")}
        path.write_text(text[:start] + repr(profile(design, quick["users"][0], load_s, trials, extra)) + text[end:])
    return folder


def quick_span(text: str, name: str) -> tuple[int, int]:
    """Where the quick profile's dict literal lies in a scenario file: its braces, balanced."""
    at = text.find('"quick": {')
    if at < 0:
        raise SystemExit(f"{name}: no quick profile to replace")
    start = depth = at + len('"quick": ')
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return start, end + 1
    raise SystemExit(f"{name}: its quick profile does not close")


def ratios(run: Path, scenario: str, metric: str) -> list[float]:
    """Express/FastAPI per round (trial i of each) or per pair (slice i of each)."""
    values: dict[str, dict[int, float]] = defaultdict(dict)
    for m in load_results(run).metrics:
        if m.scenario == scenario and m.metric == metric and "endpoint=" not in m.step:
            values[m.target][m.trial] = m.value
    express, fastapi = values["express"], values["fastapi"]
    return [express[k] / fastapi[k] for k in sorted(express) if fastapi.get(k)]


def measure(scenarios: list[str], design: str, folder: Path, out: Path, name: str) -> tuple[Path, float]:
    config = RunConfig(profile="quick", targets=["express", "fastapi"], scenarios=scenarios, results_dir=out,
                       run_name=name, scenarios_dir=folder, ceiling_s=0)
    start = time.monotonic()
    run = prepare_run(config).execute()
    return run, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="cpu,crud")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load-s", type=int, default=24, help="measured seconds per target in each design")
    parser.add_argument("--trials", type=int, default=6, help="the rounds design's trials")
    parser.add_argument("--out", type=Path, default=Path("build/slices-vs-rounds"))
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    folders = {d: scenario_folder(scenarios, d, args.load_s, args.trials) for d in ("rounds", "slices")}
    rows = []
    for repeat in range(1, args.repeats + 1):
        for design in ("rounds", "slices") if repeat % 2 else ("slices", "rounds"):
            run, wall_s = measure(scenarios, design, folders[design], args.out, f"{design}-{repeat}-{time.time():.0f}")
            for scenario in scenarios:
                for metric in METRICS:
                    values = ratios(run, scenario, metric)
                    ci, median = median_order_ci(values), statistics.median(values)
                    half = (ci.high - ci.low) / 2 / median
                    rows.append({"design": design, "repeat": repeat, "scenario": scenario, "metric": metric,
                                 "median": median, "low": ci.low, "high": ci.high, "coverage": ci.coverage,
                                 "half_width_pct": 100 * half, "n": len(values),
                                 "wall_s": wall_s, "run": str(run)})
                    print(json.dumps(rows[-1]), flush=True)
    print("\n| scenario | metric | design | medians (each repeat) | spread | half-widths | n | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario in scenarios:
        for metric in METRICS:
            for design in ("rounds", "slices"):
                mine = [r for r in rows if (r["scenario"], r["metric"], r["design"]) == (scenario, metric, design)]
                medians = [r["median"] for r in mine]
                spread = 100 * (max(medians) / min(medians) - 1)
                halves = ", ".join(f"{r['half_width_pct']:.1f}%" for r in mine)
                print(f"| {scenario} | {metric} | {design} | {', '.join(f'{m:.3f}' for m in medians)} | "
                      f"{spread:.1f}% | {halves} "
                      f"({statistics.median(r['coverage'] for r in mine):.0%} CI) | {mine[0]['n']} | "
                      f"{statistics.median(r['wall_s'] for r in mine):.0f} |")


if __name__ == "__main__":
    main()
