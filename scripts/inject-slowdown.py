#!/usr/bin/env python3
"""Inject a known slowdown into a target: FRACTION × its CPU µs per request of added CPU per request.

    scripts/inject-slowdown.py TARGET_DIR FRACTION [--cpu-us-per-req US | --from-run RUN_DIR]
                               [--overhead-us US] [--out DIR]

A fraction, not a fixed number of µs, so that "10%" means the same on any machine. The slowdown is
the apps' test-only knob SLOWDOWN_US (a busy-wait before every request, in tenths of a µs, in
targets/express_app/app.js and targets/fastapi_app/main.py), written into the manifest's [native]
env. Express's knob sits in a middleware the app has anyway, so it adds its busy-wait and nothing
else; FastAPI's is a pure ASGI layer of its own, about a µs of a request's hundreds. A knob that
costs more than its busy-wait can say so with --overhead-us, which is subtracted.

Where the CPU per request comes from:
  default (calibration)  one `bench run --profile ci --scenario throughput` of the target as it is
                         (about a minute): the median of its trials.
  --cpu-us-per-req US    given;
  --from-run RUN_DIR     the median `server_cpu_us_per_req` of the target's throughput step in a stored
                         run.
With --out, TARGET_DIR is copied there first (node_modules and .venv left out) and the copy is changed;
otherwise TARGET_DIR itself is. Prints what it set. Exit 2 with one line on bad input.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

MANIFEST = "target.toml"
KNOB = "SLOWDOWN_US"
SCENARIO = "throughput"
METRIC = "server_cpu_us_per_req"
LEFT_OUT = ("node_modules", ".venv", ".install-stamp", "__pycache__")
# The calibration runs this repository's scenarios, wherever it is started from.
SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class Refused(Exception):
    """Bad input: one line, exit 2."""


def metric_by_trial(run_dir: Path, target: str) -> dict[int, float]:
    """trial -> CPU µs per request of the target's throughput step (its aggregate row) in a stored run."""
    import json

    try:
        data = json.loads((run_dir / "results.json").read_text())
    except (OSError, ValueError) as exc:
        raise Refused(f"cannot read {run_dir / 'results.json'}: {exc}") from None
    values = {m["trial"]: m["value"] for m in data.get("metrics", []) if m.get("target") == target
              and m.get("scenario") == SCENARIO and m.get("metric") == METRIC and "endpoint=" not in m.get("step", "")}
    if not values:
        raise Refused(f"{run_dir} has no {METRIC} of {target!r} in the {SCENARIO} scenario")
    return values


def cpu_us_from_run(run_dir: Path, target: str) -> float:
    return statistics.median(metric_by_trial(run_dir, target).values())


def _copy_as(target_dir: Path, folder: Path, name: str) -> None:
    """A copy of the target named `name`, its installed dependencies linked, not copied."""
    shutil.copytree(target_dir, folder, ignore=shutil.ignore_patterns(*LEFT_OUT))
    for left_out in LEFT_OUT:
        if (target_dir / left_out).exists():
            (folder / left_out).symlink_to((target_dir / left_out).resolve())
    manifest = folder / MANIFEST
    manifest.write_text(re.sub(r'^name\s*=\s*"[^"]*"', f'name = "{name}"', manifest.read_text(), count=1,
                               flags=re.MULTILINE))


def calibrate(target_dir: Path, target: str, bench: Path) -> float:
    """The target's CPU µs per request: the median of one short run's throughput trials."""
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        targets = Path(tmp) / "targets"
        plain = f"{target}-plain"
        _copy_as(target_dir, targets / "plain", plain)
        command = [str(bench), "run", "--profile", "ci", "--scenario", SCENARIO, "--target", plain,
                   "--targets-dir", str(targets), "--scenarios-dir", str(SCENARIOS_DIR),
                   "--results-dir", str(Path(tmp) / "results"), "--name", "calibration", "--quiet"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Refused(f"calibration run failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        return cpu_us_from_run(Path(tmp) / "results" / "calibration", plain)


def set_knob(manifest: Path, microseconds: float) -> None:
    """Write SLOWDOWN_US into the manifest's `env = { ... }` inline table of [native] (replacing one there)."""
    text = manifest.read_text()
    entry = f'{KNOB} = "{microseconds:g}"'
    if re.search(rf"{KNOB}\s*=\s*\"[\d.]*\"", text):
        text = re.sub(rf"{KNOB}\s*=\s*\"[\d.]*\"", entry, text, count=1)
    elif re.search(r"^env\s*=\s*\{", text, flags=re.MULTILINE):
        text = re.sub(r"^env\s*=\s*\{\s*", f"env = {{ {entry}, ", text, count=1, flags=re.MULTILINE)
    else:
        raise Refused(f"{manifest} has no `env = {{ ... }}` line in [native] to add {KNOB} to")
    if tomllib.loads(text)["native"]["env"].get(KNOB) != f"{microseconds:g}":  # the edit landed where meant
        raise Refused(f"could not set {KNOB} in [native] env of {manifest}")
    manifest.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target_dir", type=Path)
    parser.add_argument("fraction", type=float, help="e.g. 0.10 for 10%% of the CPU per request")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--cpu-us-per-req", type=float, help="the target's CPU µs per request, if known")
    source.add_argument("--from-run", type=Path, help="a stored run to read the target's CPU µs per request from")
    parser.add_argument("--overhead-us", type=float, default=0.0,
                        help="the knob's own cost per request beyond its busy-wait, subtracted (default 0)")
    parser.add_argument("--out", type=Path, help="copy TARGET_DIR here and change the copy")
    parser.add_argument("--bench", type=Path, default=Path(sys.executable).parent / "bench",
                        help="the bench command for the calibration run (default: beside this Python)")
    args = parser.parse_args(argv)
    try:
        if not 0 < args.fraction <= 10:
            raise Refused(f"FRACTION must be in (0, 10], got {args.fraction}")
        manifest = args.target_dir / MANIFEST
        if not manifest.is_file():
            raise Refused(f"no {MANIFEST} in {args.target_dir}")
        name = tomllib.loads(manifest.read_text())["name"]
        overhead = args.overhead_us
        if args.cpu_us_per_req is not None:
            cpu_us = args.cpu_us_per_req
        elif args.from_run is not None:
            cpu_us = cpu_us_from_run(args.from_run, name)
        else:
            cpu_us = calibrate(args.target_dir, name, args.bench)
        if cpu_us <= 0:
            raise Refused(f"CPU per request must be positive, got {cpu_us}")
        microseconds = round(args.fraction * cpu_us - overhead, 1)
        if microseconds < 0.1:
            raise Refused(f"{args.fraction:.0%} of {cpu_us:.1f} µs is {args.fraction * cpu_us:.1f} µs, less than the "
                          f"knob's own cost of {overhead:.1f} µs: a slowdown that small cannot be injected this way")
        folder = args.target_dir
        if args.out is not None:
            shutil.copytree(args.target_dir, args.out, ignore=shutil.ignore_patterns(*LEFT_OUT))
            folder = args.out
        set_knob(folder / MANIFEST, microseconds)
    except Refused as exc:
        print(f"inject-slowdown: error: {exc}", file=sys.stderr)
        return 2
    share = f"{args.fraction:.0%} of {cpu_us:.1f} µs CPU per request, less the knob's {overhead:.1f} µs"
    print(f"{name}: {KNOB}={microseconds:g} ({share}) in {folder / MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
