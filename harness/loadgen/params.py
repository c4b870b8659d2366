"""Scenario parameters as seen from inside a Locust process (passed by the driver as JSON)."""

from __future__ import annotations

import json
import os

# Environment variables through which the driver configures the Locust processes.
PARAMS_ENV = "BENCH_SCENARIO_PARAMS"
TAIL_S = 1.0  # a load run goes on this long after its last window, for the workers' reports to arrive
STEPS_ENV = "BENCH_STEPS"  # JSON list of {"users", "spawn_rate", "warmup_s", "duration_s"}
OUTPUT_ENV = "BENCH_LOCUST_OUTPUT"


def scenario_params() -> dict[str, object]:
    """The resolved parameters of the scenario's current profile and step."""
    return dict(json.loads(os.environ.get(PARAMS_ENV, "{}")))
