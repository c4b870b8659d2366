"""End to end: a run measures the load generator's ceiling on the raw node:http baseline before its
trials, records it in results.json, and its trials' rate sweep reads it (harness.ceiling)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.run import run_benchmark

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parent.parent


def test_a_run_records_the_measured_ceiling_and_its_placement(tmp_path):
    config = RunConfig(profile="test", targets=["express"], scenarios=["throughput"], ceiling_s=1.0,
                       results_dir=tmp_path, targets_dir=ROOT / "targets", scenarios_dir=ROOT / "scenarios",
                       run_name="ceiling")  # fmt: skip
    results = json.loads((run_benchmark(config) / "results.json").read_text())
    kept = results["generator_ceiling"]
    assert kept["generator_ceiling_rps"] > 0, kept["reason"]
    assert kept["target"] == "node_raw" and kept["duration_s"] == 1.0 and kept["users"] == 64
    assert kept["server_cpus"] == results["config"]["server_cpus"]
    assert kept["loadgen_cpus"] == results["config"]["loadgen_cpus"]
    assert kept["loadgen_cpu_pct"] > 0 and kept["limited_by"] in ("generator", "server", "neither")
    assert kept["steps"][0]["error_rate"] < 0.01
    assert [t["target"] for t in results["trials"]] == ["express"]  # the baseline is no trial of the run
