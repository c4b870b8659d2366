"""The results format's versions: older files load through upgrade steps, newer ones are refused with one
line, and the side files' versions are named in results.json without breaking pandas.read_csv."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import BenchError
from harness.report.data import RunData
from harness.results import (
    FILE_VERSIONS,
    METRIC_COLUMNS,
    SCHEMA_VERSION,
    ResultsStore,
    load_histograms,
    load_results,
    upgrade,
)
from harness.results import store as store_module

SMALL_RUN = Path(__file__).resolve().parent / "fixtures" / "small_run"


def stored(tmp_path: Path, change=None) -> Path:
    run = tmp_path / "run"
    shutil.copytree(SMALL_RUN, run)
    if change:
        data = json.loads((run / "results.json").read_text())
        change(data)
        (run / "results.json").write_text(json.dumps(data))
    return run


def test_a_newer_format_is_refused_with_one_line(tmp_path):
    run = stored(tmp_path, lambda d: d.update(schema_version=SCHEMA_VERSION + 1))
    with pytest.raises(BenchError, match=f"format {SCHEMA_VERSION + 1}, newer than this harness") as caught:
        load_results(run)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("version", [0, "1", None, True])
def test_an_unknown_format_is_refused(tmp_path, version):
    with pytest.raises(BenchError, match="results format"):
        load_results(stored(tmp_path, lambda d: d.update(schema_version=version)))


def test_an_older_format_loads_through_each_upgrade_step_in_turn(tmp_path, monkeypatch):
    """A constructed history: format 3 renamed run_id (as `id` in 1, `name` in 2); a file of format 1 loads."""

    def v1_to_v2(data):
        return {**{k: v for k, v in data.items() if k != "id"}, "name": data["id"]}

    def v2_to_v3(data):
        return {**{k: v for k, v in data.items() if k != "name"}, "run_id": data["name"]}

    def to_v1(data):
        data["id"] = data.pop("run_id")

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(store_module, "UPGRADES", {1: v1_to_v2, 2: v2_to_v3})
    results = load_results(stored(tmp_path, to_v1))
    assert results.run_id == "test1" and results.schema_version == 3


def test_a_missing_upgrade_step_is_one_line(tmp_path):
    with pytest.raises(BenchError, match="no upgrade from it"):
        upgrade({"schema_version": 1}, tmp_path / "results.json", current=2, upgrades={})


def test_side_files_of_an_older_run_are_at_version_1(tmp_path):
    results = load_results(stored(tmp_path, lambda d: d.pop("file_versions", None)))
    assert results.file_versions == {} and all(results.file_version(name) == 1 for name in FILE_VERSIONS)


def test_a_saved_run_names_its_side_files_versions_and_pandas_reads_them(tmp_path):
    results = load_results(SMALL_RUN)
    ResultsStore(tmp_path, results, samples=[]).save()
    assert json.loads((tmp_path / "results.json").read_text())["file_versions"] == FILE_VERSIONS
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert list(metrics.columns) == METRIC_COLUMNS and len(metrics) == len(results.metrics)


@pytest.mark.parametrize("name", ["histograms.jsonl", "samples.csv"])
def test_a_side_file_of_a_newer_format_is_refused_with_one_line(tmp_path, name):
    run = stored(tmp_path, lambda d: d.update(file_versions={name: FILE_VERSIONS[name] + 1}))
    (run / "histograms.jsonl").write_text("")
    with pytest.raises(BenchError, match=f"{name} has format {FILE_VERSIONS[name] + 1}, newer"):
        RunData.load(run)
    assert load_histograms(run) == []  # without the run's results, nothing to check against
