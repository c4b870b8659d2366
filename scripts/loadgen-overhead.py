#!/usr/bin/env python3
"""Generator efficiency: what the harness's Locust plugin costs against plain Locust.

Runs the same closed load twice on the same core, against a raw server (default `node_raw`,
far faster than Locust, so Locust's own core is the limit): once with plain Locust
(`FastHttpUser`, zero think time, GET /json, nothing else loaded) and once as the harness runs
it (scenarios/throughput.py's user with harness/loadgen/plugin.py, which records every
request in HDR histograms); then the harness's open-model user on the same request at a fixed
offered rate (--open-rate), compared by CPU time per request. All are started as
harness/loadgen/driver.py starts Locust with one local worker: one headless process, pinned with
taskset. Prints each variant's req/s, the load generator's CPU use and CPU time per request, the
plugin's overhead in %, and the open-model user's CPU per request over the closed harness user's,
round by round (the two a few seconds apart: on a shared machine the ratio holds better than
either figure). Holds the CPUs it pins as `bench run` does (harness.machine.locks): refused while a run
has them; and, as a run does, keeps idle cores polling (harness.machine.idle_hold), since the open-model
variant leaves its core idle between requests and a halted core's wake-up would be in its figure
only.

The plugin should cost at most 5% of plain Locust's throughput per core.
Loopback only; every process it starts is stopped before it returns.

Usage (from the repository root, after `make setup`):
    .venv/bin/python scripts/loadgen-overhead.py [--duration-s 10] [--users 64] [--rounds 1] [--open-rate 3000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.errors import BenchError  # noqa: E402
from harness.loadgen.arrival import DEFAULT_MAX_IN_FLIGHT  # noqa: E402
from harness.loadgen.driver import PLUGIN  # noqa: E402
from harness.loadgen.params import OUTPUT_ENV, PARAMS_ENV, STEPS_ENV, TAIL_S  # noqa: E402
from harness.machine import idle_hold  # noqa: E402
from harness.machine.locks import lock_cpus  # noqa: E402
from harness.runtime.native import start_native  # noqa: E402
from harness.runtime.procs import pinned  # noqa: E402
from harness.runtime.server import free_port  # noqa: E402
from harness.targets import discover_targets, select_targets  # noqa: E402

HARNESS_SCENARIO = ROOT / "scenarios" / "throughput.py"
# The same user as scenarios/throughput.py, without the harness: plain Locust.
PLAIN_LOCUSTFILE = '''
from locust import FastHttpUser, constant, task


class JsonUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def json(self) -> None:
        self.client.get("/json", name="GET /json")
'''
# The harness's open-model user (harness/loadgen/open_user.py, as scenarios/rate.py uses it) on the same
# request: each handed to an idle long-lived sender greenlet, timed from its intended send time, at a fixed
# offered rate.
OPEN_LOCUSTFILE = '''
from typing import Any

from harness.loadgen.open_user import OpenUser


class JsonOpenUser(OpenUser):
    def send(self, context: dict[str, Any]) -> None:
        self.client.get("/json", name="GET /json", context=context)
'''
VARIANTS = ("plain", "harness", "open")
RAMP_S = 1.0  # users spawn over this (the same ramp in every variant)
SETTLE_S = 0.5  # after the ramp, before the CPU window opens
EXIT_GRACE_S = 30.0


@dataclass(frozen=True)
class Measured:
    variant: str
    requests: int
    failures: int
    rps: float
    loadgen_cpu_pct: float  # the Locust process, in % of one core, over the CPU window
    loadgen_cpu_us_per_req: float
    others_cpu_pct: float  # what other processes took of the load generator's cores meanwhile


def locust_command(files: list[Path], host_url: str, users: int, run_s: float, cpus: list[int], stats: Path,
                   shaped: bool) -> list[str]:
    """The command line, with the driver's flags for one local worker plus the stats this script reads.

    Throughput is Locust's own count over its run (num_requests over first to last request),
    the ramp included: the same for both variants, it dilutes both by the same couple of %.
    """
    command = [
        sys.executable, "-m", "locust", "-f", ",".join(map(str, files)),
        "--headless", "--only-summary", "--loglevel", "WARNING",
        "-t", f"{round(run_s)}s", "--stop-timeout", "0", "--host", host_url, "--json-file", str(stats),
    ]  # fmt: skip
    if not shaped:  # the plugin's StepShape sets the users otherwise
        command += ["-u", str(users), "-r", str(users / RAMP_S)]
    return pinned(command, cpus)


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = psutil.Process(process.pid).cpu_times()
            total += times.user + times.system
    return total


def run_variant(variant: str, host_url: str, users: int, duration_s: float, cpus: list[int], work: Path,
                open_rate: float = 0.0) -> Measured:
    """One Locust run (one process) of `duration_s` after the ramp; its figures."""
    stats = work / f"{variant}-stats"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run_s = RAMP_S + duration_s + TAIL_S
    if variant == "plain":
        locustfile = work / "plain_locustfile.py"
        locustfile.write_text(PLAIN_LOCUSTFILE)
        files = [locustfile]
    elif variant == "open":
        locustfile = work / "open_locustfile.py"
        locustfile.write_text(OPEN_LOCUSTFILE)
        files = [locustfile, PLUGIN]
        # one sender (as harness.kinds.load plans one per worker) offering open_rate requests a second
        step = {"users": 1, "spawn_rate": 1, "warmup_s": RAMP_S, "duration_s": duration_s, "rate_per_s": open_rate,
                "max_in_flight": DEFAULT_MAX_IN_FLIGHT}
        user_params = {"distribution": "poisson", "max_in_flight": DEFAULT_MAX_IN_FLIGHT, "seed": 0,
                       "loadgen_workers": 1}
        env.update({STEPS_ENV: json.dumps([step]), OUTPUT_ENV: str(work / "window-open.json"),
                    PARAMS_ENV: json.dumps(user_params)})
    else:
        files = [HARNESS_SCENARIO, PLUGIN]
        # The plugin's StepShape holds the users for warm-up + duration (+ its tail), recording
        # every request from the end of the ramp on: the measured span is all recorded.
        step = {"users": users, "spawn_rate": users / RAMP_S, "warmup_s": RAMP_S, "duration_s": duration_s}
        env.update({STEPS_ENV: json.dumps([step]), OUTPUT_ENV: str(work / "window.json"), PARAMS_ENV: "{}"})
    command = locust_command(files, host_url, users, run_s, cpus, stats, shaped=variant != "plain")
    log = (work / f"{variant}-locust.log").open("ab")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        cpu_window = _cpu_window(processes, duration_s, cpus)
        processes[0].wait(timeout=run_s + EXIT_GRACE_S)
    except subprocess.TimeoutExpired:
        raise BenchError(f"Locust ({variant}) did not finish in time; log {log.name}") from None
    finally:
        log.close()
        for process in processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return _measured(variant, Path(f"{stats}.json"), cpu_window, work / f"{variant}-locust.log")


def busy_seconds(cpus: list[int]) -> float:
    """Busy time of these cores from /proc/stat (all but idle and iowait), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            values = [int(v) for v in fields]
            total += sum(values[:8]) - values[3] - values[4]  # user..steal, minus idle and iowait
    return total / tick


def _cpu_window(processes: list[subprocess.Popen[bytes]], duration_s: float, cpus: list[int]
                ) -> tuple[float, float, float]:
    """(Locust CPU s, the cores' busy s, wall s) over the steady part of the run."""
    time.sleep(RAMP_S + SETTLE_S)
    started, cpu_start, busy_start = time.monotonic(), cpu_seconds(processes), busy_seconds(cpus)
    time.sleep(max(0.5, duration_s - SETTLE_S - 0.5))  # ends before Locust starts stopping
    cpu_s, busy_s = cpu_seconds(processes) - cpu_start, busy_seconds(cpus) - busy_start
    return cpu_s, busy_s, time.monotonic() - started


def _measured(variant: str, stats_path: Path, cpu_window: tuple[float, float, float], log: Path) -> Measured:
    try:
        entries = json.loads(stats_path.read_text())
    except (OSError, ValueError):
        raise BenchError(f"Locust ({variant}) wrote no stats; log {log}") from None
    (entry,) = [e for e in entries if e["name"] == "GET /json"]
    span_s = entry["last_request_timestamp"] - entry["start_time"]
    rps = entry["num_requests"] / span_s
    cpu_s, busy_s, wall_s = cpu_window
    if entry["num_requests"] == 0 or span_s <= 0 or cpu_s <= 0:
        # e.g. a window that ended before Locust's users ran, on a very busy machine
        raise BenchError(f"Locust ({variant}) measured no load in its window; try a longer --duration-s")
    # CPU use over the steady window, divided by the rate: CPU time per request
    return Measured(variant, entry["num_requests"], entry["num_failures"], rps,
                    loadgen_cpu_pct=100 * cpu_s / wall_s, loadgen_cpu_us_per_req=1e6 * cpu_s / wall_s / rps,
                    others_cpu_pct=100 * max(0.0, busy_s - cpu_s) / wall_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="node_raw", help="the raw server to load (default: node_raw)")
    parser.add_argument("--duration-s", type=float, default=10.0, help="measured seconds per run (after the ramp)")
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the variants, the order rotating")
    parser.add_argument("--open-rate", type=float, default=3000.0,
                        help="requests/s the open-model variant offers (default 3000; 0 leaves it out)")
    parser.add_argument("--server-cpus", default="0", help="CPU list for the server (default: 0)")
    parser.add_argument("--loadgen-cpus", default="1", help="CPU list for Locust (default: 1)")
    args = parser.parse_args(argv)
    server_cpus = [int(c) for c in args.server_cpus.split(",")]
    loadgen_cpus = [int(c) for c in args.loadgen_cpus.split(",")]
    try:
        (target,) = select_targets(discover_targets(ROOT / "targets"), [args.target])
        with lock_cpus(server_cpus + loadgen_cpus), idle_hold.held(cpus=server_cpus + loadgen_cpus) as hold:
            results = _rounds(target, args, server_cpus, loadgen_cpus)
    except BenchError as exc:
        print(f"loadgen-overhead: error: {exc}", file=sys.stderr)
        return 1
    _print(results)
    print(f"idle states: {hold.status}")
    return 0


def _rounds(target, args, server_cpus: list[int], loadgen_cpus: list[int]) -> list[Measured]:
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="loadgen-overhead-") as tmp, \
            start_native(target, port=free_port(), cpus=server_cpus, log_dir=Path(tmp)) as server:
        variants = [v for v in VARIANTS if v != "open" or args.open_rate > 0]
        for i in range(args.rounds):
            order = variants[i % len(variants):] + variants[:i % len(variants)]  # each variant first in turn
            for variant in order:
                results.append(run_variant(variant, server.base_url, args.users, args.duration_s, loadgen_cpus,
                                           Path(tmp), args.open_rate))
    return results


def _print(results: list[Measured]) -> None:
    for m in results:
        print(f"{m.variant:8} {m.rps:9,.0f} req/s  {m.requests:8,} requests ({m.failures} failed)  "
              f"locust CPU {m.loadgen_cpu_pct:5.1f}% of a core, {m.loadgen_cpu_us_per_req:6.1f} µs/request; "
              f"other processes on its cores {m.others_cpu_pct:4.1f}%")
    plain = statistics.median(m.rps for m in results if m.variant == "plain")
    harness = statistics.median(m.rps for m in results if m.variant == "harness")
    plain_us = statistics.median(m.loadgen_cpu_us_per_req for m in results if m.variant == "plain")
    harness_us = statistics.median(m.loadgen_cpu_us_per_req for m in results if m.variant == "harness")
    print(f"plugin overhead: {100 * (plain - harness) / plain:+.1f}% of plain Locust's throughput "
          f"({plain:,.0f} → {harness:,.0f} req/s); CPU per request {100 * (harness_us - plain_us) / plain_us:+.1f}% "
          f"({plain_us:.1f} → {harness_us:.1f} µs)")
    opened = [m for m in results if m.variant == "open"]
    if opened:
        open_us = statistics.median(m.loadgen_cpu_us_per_req for m in opened)
        print(f"open-model user at {statistics.median(m.rps for m in opened):,.0f} req/s: CPU per request "
              f"{100 * (open_us - plain_us) / plain_us:+.1f}% of plain Locust's ({plain_us:.1f} → {open_us:.1f} µs); "
              f"at that cost one core offers about {1e6 / open_us:,.0f} req/s (paced sends, each timed from its "
              f"intended send: the open model's own price, beside the recording's)")
        # round by round: each open run against the closed harness run of its own round
        per_round = [o.loadgen_cpu_us_per_req / h.loadgen_cpu_us_per_req
                     for o, h in zip(opened, [m for m in results if m.variant == "harness"], strict=True)]
        print(f"open-model user's CPU per request over the closed harness user's: {statistics.median(per_round):.2f}× "
              f"(median of {len(per_round)} rounds; {min(per_round):.2f}–{max(per_round):.2f}×)")
    if min(m.loadgen_cpu_pct for m in results) < 90:
        print("note: Locust used under 90% of its core in some run, so throughput there was not its ceiling; "
              "the CPU time per request still compares the two")
    if max(m.others_cpu_pct for m in results) > 10:
        print("note: other processes took over 10% of the load generator's cores: the figures are contended")


if __name__ == "__main__":
    sys.exit(main())
