"""Figure keys and steps as types, and the one indexed view of a run that every reader uses."""

from __future__ import annotations

import json

from harness.results import FigureKey, Metric, RunResults, RunView, Step, TrialRecord


def test_a_step_parses_once_and_stays_its_label():
    step = Step("users=4,endpoint=GET /users/{id}")
    assert step == "users=4,endpoint=GET /users/{id}" and json.dumps(step) == '"users=4,endpoint=GET /users/{id}"'
    assert step.endpoint == "GET /users/{id}" and step.is_endpoint and step.load_step == "users=4"
    assert step.params == {"users": 4.0, "endpoint": "GET /users/{id}"} and step.users == 4.0
    matrix = Step("ms=20,users=32")
    assert matrix.params == {"ms": 20.0, "users": 32.0} and not matrix.is_endpoint and matrix.load_step == matrix
    assert Step("").params == {} and Step("").users is None and Step("endpoint=a,b=c").endpoint == "a,b=c"
    assert sorted(["users=64", "users=8"], key=lambda s: Step(s).sort_key()) == ["users=8", "users=64"]


def test_a_figure_key_equals_its_plain_tuple():
    key = FigureKey.of("express", "crud", "users=4", "rps")
    assert key == ("express", "crud", "users=4", "rps") and {key: 1}[("express", "crud", "users=4", "rps")] == 1
    assert key.censored_key.metric == "rps_censored" and key.where == "crud users=4 rps"


def run() -> RunResults:
    results = RunResults(run_id="r", created_at="now")
    rows = [("users=8", "rps", 1, 100.0), ("users=8", "rps", 2, 110.0), ("users=8,endpoint=GET /x", "rps", 1, 50.0),
            ("", "max_users", 2, 8.0), ("", "max_users", 1, 8.0), ("", "max_users_censored", 2, 1.0),
            ("", "max_users_censored", 1, 0.0)]
    results.metrics = [Metric(target="a", scenario="s", trial=trial, step=step, metric=metric, value=value, unit="u")
                       for step, metric, trial, value in rows]
    results.trials = [TrialRecord(target="a", scenario="s", trial=1, order=1, started_at="now", wall_s=1,
                                  flags=["loadgen_saturated:users=8", "disturbed:users=2"])]
    return results


def test_the_view_indexes_values_trials_censoring_and_flags():
    view = RunView(run())
    assert view.values(("a", "s", "users=8", "rps")) == [100.0, 110.0]
    assert view.by_trial(("a", "s", "", "max_users")) == {2: 8.0, 1: 8.0}
    assert view.censored(("a", "s", "", "max_users")) == [True, False]  # beside the values, in stored order
    assert [k.step for k in view.figure_keys(endpoints=False) if k.metric == "rps"] == ["users=8"]
    assert view.steps("a", "s", "rps") == ["users=8", "users=8,endpoint=GET /x"]
    assert view.flag_names("a", "s", "users=8,endpoint=GET /x") == {"loadgen_saturated"}
    assert view.trial_flags("a", "s", "") == {"loadgen_saturated:users=8", "disturbed:users=2"}  # a sweep's figure
    assert view.values(("a", "s", "users=64", "rps")) == [] and ("a", "s", "users=64", "rps") not in view
