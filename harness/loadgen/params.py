"""Scenario parameters as seen from inside a Locust process (passed by the driver as JSON)."""

from __future__ import annotations

import json
import os
import socket

# Environment variables through which the driver configures the Locust processes.
PARAMS_ENV = "BENCH_SCENARIO_PARAMS"
TAIL_S = 1.0  # a load run goes on this long after its last window, for the workers' reports to arrive
STEPS_ENV = "BENCH_STEPS"  # JSON list of {"users", "spawn_rate", "warmup_s", "duration_s"}
OUTPUT_ENV = "BENCH_LOCUST_OUTPUT"
# Set by `bench worker` (harness.loadgen.worker): the host's name as the run records it, and its CPUs.
HOST_ENV = "BENCH_LOADGEN_HOST"


def scenario_params() -> dict[str, object]:
    """The resolved parameters of the scenario's current profile and step."""
    return dict(json.loads(os.environ.get(PARAMS_ENV, "{}")))


def worker_facts(cpu_s: float, wall_s: float) -> dict[str, object]:
    """What a Locust worker reports about itself: its host, its CPUs and the CPU time it used."""
    return {
        "host": os.environ.get(HOST_ENV) or socket.gethostname(), "pid": os.getpid(),
        "cpus": sorted(os.sched_getaffinity(0)), "cpu_s": round(cpu_s, 4), "wall_s": round(wall_s, 4),
    }  # fmt: skip
