"""Scenario parameters as seen from inside a Locust process (passed by the driver as JSON)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable

# Environment variables through which the driver configures the Locust processes.
PARAMS_ENV = "BENCH_SCENARIO_PARAMS"
TAIL_S = 1.0  # a load run goes on this long after its last window, for the workers' reports to arrive
STEPS_ENV = "BENCH_STEPS"  # JSON list of {"users", "spawn_rate", "warmup_s", "duration_s"}
# When set: the run's load alternates between two targets in slices (harness.loadgen.slices.SlicePlan, as JSON).
SLICES_ENV = "BENCH_SLICES"
OUTPUT_ENV = "BENCH_LOCUST_OUTPUT"
# When set (ms): a sweep ends after the first step whose window's p99 reaches it, so the steps above a
# failed one, which no verdict counts (harness.rate_sweep, rule 3), cost no time. One Locust process only.
STOP_P99_ENV = "BENCH_STOP_P99_MS"
# A file whose appearance releases the Locust processes: the driver starts them while the server
# starts (their imports take about 0.5 s of the load generator's core) and holds them until it is ready.
GATE_ENV = "BENCH_LOCUST_GATE"
GATE_WAIT_S = 120.0  # a held process gives up after this long (its driver has gone)
# Set by `bench worker` (harness.loadgen.worker): the host's name as the run records it, and its CPUs.
HOST_ENV = "BENCH_LOADGEN_HOST"
# Who may report (harness.loadgen.trust): the master gets the run's key (hex) and the registered workers
# ({id: processes}, JSON); each worker process its worker's id and report key (hex), and the load's URL,
# which its users must keep whatever the master's messages say.
RUN_KEY_ENV = "BENCH_RUN_KEY"
REGISTERED_ENV = "BENCH_REGISTERED_WORKERS"
WORKER_ID_ENV = "BENCH_WORKER_ID"
REPORT_KEY_ENV = "BENCH_REPORT_KEY"
HOST_URL_ENV = "BENCH_HOST_URL"


_target_now: list[Callable[[], str]] = [lambda: ""]


def target_now() -> str:
    """The target the next request goes to: under paired slices the current slice's (harness.loadgen.slices),
    else "". Users that keep what one server gave them (ids of rows they created) key it by this, so that
    they never ask the other server for it."""
    return _target_now[0]()


def aim_target_now(where: Callable[[], str]) -> None:
    """Set by the plugin in a sliced run: what `target_now` answers."""
    _target_now[0] = where


def scenario_params() -> dict[str, object]:
    """The resolved parameters of the scenario's current profile and step."""
    return dict(json.loads(os.environ.get(PARAMS_ENV, "{}")))


def worker_facts(cpu_pct: list[float | None]) -> dict[str, object]:
    """What a Locust worker reports about itself: its host, its CPUs and its CPU in each step's window."""
    return {"host": os.environ.get(HOST_ENV) or socket.gethostname(), "pid": os.getpid(),
            "cpus": sorted(os.sched_getaffinity(0)), "cpu_pct": cpu_pct}  # fmt: skip


def window_cpu_pct(marks: list[tuple[float, float]]) -> float | None:
    """% of one core between two (wall time, process CPU time) marks; None unless both were taken.
    Timed by the marks themselves, so a late timer (a busy worker) does not skew it."""
    if len(marks) < 2 or marks[1][0] <= marks[0][0]:
        return None
    (wall0, cpu0), (wall1, cpu1) = marks[0], marks[1]
    return 100.0 * (cpu1 - cpu0) / (wall1 - wall0)
