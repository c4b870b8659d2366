"""harness.compare.gate_power and scripts/ab-power.py: the gate's power by resampling A/A pairs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.compare.gate_power import centred_logs, gate_power

ROOT = Path(__file__).resolve().parent.parent


def _aa_runs(rng: np.random.Generator, runs: int = 4, pairs: int = 30, spread: float = 0.04) -> list[list[float]]:
    return [np.exp(rng.normal(rng.normal(0, 0.005), spread, pairs)).tolist() for _ in range(runs)]


def test_each_run_is_centred_on_its_own_median_before_pooling():
    logs = centred_logs([[1.1, 1.2, 1.3], [0.5, 0.5, 0.6]])
    assert len(logs) == 6 and np.median(logs[:3]) == pytest.approx(0) and np.median(logs[3:]) == pytest.approx(0)
    with pytest.raises(ValueError):
        centred_logs([[]])


def test_a_large_change_is_always_caught_and_no_change_never_at_a_3_percent_threshold():
    rng = np.random.default_rng(3)
    logs = centred_logs(_aa_runs(rng))
    common = dict(direction="lower", threshold_pct=3.0, alpha=0.05, draws=40, rng=rng)
    assert gate_power(logs, 15.0, 24, **common) == 1.0
    assert gate_power(logs, 0.0, 24, **common) == 0.0
    assert gate_power(logs, 15.0, 24, **{**common, "direction": "higher"}) == 1.0  # a fall of rps


def test_more_pairs_catch_a_change_near_the_threshold_more_often():
    rng = np.random.default_rng(5)
    logs = centred_logs(_aa_runs(rng))
    common = dict(direction="lower", threshold_pct=3.0, alpha=0.05, draws=150, rng=rng)
    assert gate_power(logs, 5.0, 12, **common) < gate_power(logs, 5.0, 60, **common)


def test_the_script_reads_ab_json_and_refuses_a_missing_figure_in_one_line(tmp_path: Path):
    rng = np.random.default_rng(7)
    paths = []
    for i, ratios in enumerate(_aa_runs(rng, runs=2)):
        path = tmp_path / f"aa-{i}.json"
        path.write_text(json.dumps({"changes": [{"scenario": "throughput", "metric": "server_cpu_us_per_req",
                                                 "ratios": ratios}]}))
        paths.append(str(path))
    script = [sys.executable, str(ROOT / "scripts" / "ab-power.py")]
    done = subprocess.run([*script, *paths, "--pairs", "24", "--draws", "20"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "60 pairs from 2 run(s)" in done.stdout and "24 pairs: a 5% change caught in" in done.stdout
    missing = subprocess.run([*script, *paths, "--metric", "rps"], capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "has no throughput rps" in missing.stderr
