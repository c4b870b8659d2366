import json
import random
import types
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.errors import BenchError
from harness.results import ResultsStore, RunResults, Sample, load_results, step_label, step_params
from harness.run import check_config, plan_trials
from harness.scenario import load_scenario
from harness.targets import Target

SCENARIO = "SCENARIO = {'kind': 'cold_start', 'stateful': %s, 'profiles': {'quick': {'trials': 3}}}"


def scenario(tmp_path: Path, stateful: bool = False):
    path = tmp_path / "s.py"
    path.write_text(SCENARIO % stateful)
    return load_scenario(path)


def target(name: str) -> Target:
    return Target(name=name, display_name=name, language="x", native={"command": ["true"]})


def test_alternate_order_counterbalances_targets(tmp_path):
    plan = plan_trials([scenario(tmp_path)], [target("a"), target("b")], "quick", "alternate", random.Random(0))
    assert [(p.target.name, p.trial) for p in plan] == [("a", 1), ("b", 1), ("b", 2), ("a", 2), ("a", 3), ("b", 3)]


def test_random_order_is_reproducible_from_its_seed(tmp_path):
    s = scenario(tmp_path)
    first = plan_trials([s], [target("a"), target("b")], "quick", "random", random.Random(7))
    again = plan_trials([s], [target("a"), target("b")], "quick", "random", random.Random(7))
    assert [p.target.name for p in first] == [p.target.name for p in again]


def test_stateful_scenario_with_several_workers_is_refused_when_named(tmp_path):
    with pytest.raises(BenchError, match="per worker process"):
        check_config(RunConfig(workers=2, scenarios=["s"]), [scenario(tmp_path, stateful=True)])


def test_stateful_scenario_is_left_out_when_picked_by_default(tmp_path):
    stateless = scenario(tmp_path, stateful=False)
    assert check_config(RunConfig(workers=2), [stateless]) == [stateless]
    assert check_config(RunConfig(workers=2), [scenario(tmp_path, stateful=True)]) == []
    assert len(check_config(RunConfig(workers=1), [scenario(tmp_path, stateful=True)])) == 1


def test_step_labels_round_trip():
    assert step_label({"users": 32, "ms": 20}) == "ms=20,users=32"
    assert step_params("ms=20,users=32,endpoint=GET /x") == {"ms": 20.0, "users": 32.0, "endpoint": "GET /x"}
    assert step_params("") == {}


def test_store_writes_every_file_and_reads_back(tmp_path):
    results = RunResults(run_id="r", created_at="now")
    store = ResultsStore(tmp_path / "run", results, samples=[Sample(
        target="a", scenario="s", trial=1, step="", role="server", t_s=0.1, cpu_pct=5, rss_mb=10)])
    store.save()
    assert load_results(tmp_path / "run").run_id == "r"
    assert (tmp_path / "run" / "metrics.csv").read_text().startswith("target,scenario,trial,step,metric,value,unit")
    assert "server" in (tmp_path / "run" / "samples.csv").read_text()
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_unknown_schema_version_is_refused(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(BenchError, match="format 99"):
        load_results(tmp_path)
    with pytest.raises(BenchError, match=r"no results\.json"):
        load_results(tmp_path / "missing")


def test_histograms_round_trip_through_the_store(tmp_path):
    from hdrh.histogram import HdrHistogram

    from harness.results import HistogramRecord, load_histograms

    hist = HdrHistogram(1, 100_000_000, 3)
    for value in (100, 200, 5000):
        hist.record_value(value)
    record = HistogramRecord(target="a", scenario="s", trial=1, step="users=4", endpoint="Aggregated",
                             hdr=hist.encode().decode())
    ResultsStore(tmp_path, RunResults(run_id="r", created_at="now"), samples=[], histograms=[record]).save()
    (loaded,) = load_histograms(tmp_path)
    assert HdrHistogram.decode(loaded.hdr.encode()).get_max_value() == hist.get_max_value()
    assert load_histograms(tmp_path / "nowhere") == []


def test_the_plan_is_cut_into_rounds_of_one_trial_per_target():
    from harness.run import plan_rounds

    plan = [types.SimpleNamespace(scenario=s, trial=t, target=x) for s, t, x in
            [("a", 1, "x"), ("a", 1, "y"), ("a", 2, "y"), ("a", 2, "x"), ("b", 1, "x"), ("b", 1, "y")]]
    rounds = plan_rounds(plan)
    assert [[(order, p.target) for order, p in r] for r in rounds] == [
        [(1, "x"), (2, "y")], [(3, "y"), (4, "x")], [(5, "x"), (6, "y")]]


def test_a_run_written_before_re_runs_were_recorded_loads_with_none():
    from harness.results import RunResults

    old = {"run_id": "r", "created_at": "2026-11-27T00:00:00+00:00",
           "trials": [{"target": "x", "scenario": "s", "trial": 1, "order": 1, "started_at": "t", "wall_s": 1.0}],
           "summaries": [{"target": "x", "scenario": "s", "step": "", "metric": "m", "unit": "", "n": 3,
                          "median": 1.0, "ci_low": 0.9, "ci_high": 1.1, "cv": 0.1}]}
    results = RunResults.model_validate(old)
    assert results.trials[0].discarded_attempts == [] and results.summaries[0].ci_coverage is None
