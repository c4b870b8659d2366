"""End to end: a sliced scenario through `bench run`'s library call, with the real apps and Locust.

The scenario is crud on PostgreSQL with a profile that sets paired slices: both servers run at once,
one Locust run alternates between them, and each slice becomes one record of its target numbered by
its pair (harness.kinds.sliced)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.run import run_benchmark

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parent.parent
PAIRS, TRIALS = 3, 2


@pytest.fixture(scope="module")
def sliced_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    scenarios = tmp_path_factory.mktemp("scenarios")
    text = (ROOT / "scenarios" / "crud.py").read_text()
    profile = ('"test": {"users": [4], "warmup_s": 0.5, "duration_s": 1.5, "trials": 1},')
    assert profile in text
    sliced = (f'"test": {{"users": [4], "warmup_s": 1, "duration_s": 0.5, "trials": {TRIALS}, '
              f'"slices": {{"slice_s": 0.5, "settle_s": 0.1, "pairs": {PAIRS}}}}},')
    (scenarios / "crud.py").write_text(text.replace(profile, sliced))
    results = tmp_path_factory.mktemp("results")
    config = RunConfig(profile="test", targets=["express", "fastapi"], scenarios=["crud"], results_dir=results,
                       targets_dir=ROOT / "targets", scenarios_dir=scenarios, run_name="sliced", ceiling_s=0)
    return json.loads((run_benchmark(config) / "results.json").read_text())


def test_each_slice_is_a_record_of_its_target_numbered_by_its_pair(sliced_run):
    trials = [t for t in sliced_run["trials"] if t["scenario"] == "crud"]
    for target in ("express", "fastapi"):
        mine = sorted(t["trial"] for t in trials if t["target"] == target)
        assert mine == list(range(1, PAIRS * TRIALS + 1))
    by_pair = defaultdict(dict)
    for t in trials:
        by_pair[t["trial"]][t["target"]] = t["pairing"]
    for pair, halves in by_pair.items():
        positions = sorted(p["position"] for p in halves.values())
        assert positions == [0, 1], pair
        first, second = sorted(halves.values(), key=lambda p: p["position"])
        assert first["end_s"] <= second["start_s"] + 0.05  # adjacent slices, the first before the second
        assert {p["trial"] for p in halves.values()} == {(pair - 1) // PAIRS + 1}


def test_every_slice_has_requests_without_errors_and_the_server_cpu_figures(sliced_run):
    figures = defaultdict(dict)
    for m in sliced_run["metrics"]:
        if m["scenario"] == "crud" and "endpoint=" not in m["step"]:
            figures[(m["target"], m["trial"])][m["metric"]] = m["value"]
    assert len(figures) == 2 * PAIRS * TRIALS
    for key, values in figures.items():
        assert values["rps"] > 0 and values["error_rate"] == 0, key  # no row created on one server asked of the other
        assert values["server_cpu_pct"] > 0 and values["server_cpu_us_per_req"] > 0, key
        assert values["idle_server_cpu_pct"] >= 0, key  # measured for the server not under load


def test_the_run_records_its_sequential_design_and_why_it_stopped(sliced_run):
    slicing = sliced_run["config"]["slicing"]["crud"]
    assert slicing["looks"] == [PAIRS * (t + 1) for t in range(TRIALS)]
    assert 0.95 <= slicing["coverage"] < 1
    assert slicing["stopped_because"]
    assert slicing["pairs"] in slicing["looks"]
