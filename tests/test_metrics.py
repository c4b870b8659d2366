"""The metric registry (harness/metrics.py) is where names, units and directions come from, and step
labels are built and parsed only in harness/results/keys.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.compare import direction as compare_direction
from harness.compare.ab import paired_changes
from harness.loadgen.window import EndpointResult
from harness.measure import endpoint_figures
from harness.metrics import GATED, METRICS, RPS, direction, unit
from harness.results import Metric, RunResults
from harness.results.keys import AGGREGATE, Step, endpoint_step

HARNESS = Path(__file__).resolve().parent.parent / "harness"


def modules_with_string(predicate) -> list[str]:
    """harness/ modules holding a string literal (f-strings' literal parts included) that predicate accepts."""
    found = []
    for path in sorted(HARNESS.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)}
        if any(isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
               and predicate(node.value) for node in ast.walk(tree)):
            found.append(str(path.relative_to(HARNESS.parent)))
    return found


@pytest.mark.parametrize(("metric", "expected"), [
    (RPS, "higher"), ("latency_p99_ms", "lower"), ("latency_p50_ms", "lower"), ("server_cpu_us_per_req", "lower"),
    ("server_cpu_pct", "none"), ("requests", "none"), ("a_name_nobody_listed", "none"),
])
def test_one_direction_per_metric_for_every_reader(metric, expected):
    assert direction(metric) == compare_direction(metric) == expected


def test_every_gated_figure_has_a_better_direction():
    assert [m for m in GATED if direction(m) == "none"] == []


def test_ab_judges_each_gated_figure_in_its_registered_direction():
    rows = [Metric(target=f"demo-{side}", scenario="s", trial=t, step="users=4", metric=m, value=v, unit=unit(m))
            for t in range(1, 7) for m in GATED for side, v in (("base", 100.0), ("head", 100.0 + t))]
    changes, _ = paired_changes(RunResults(run_id="r", created_at="", config={}, environment={}, metrics=rows),
                                threshold_pct=5.0, alpha=0.05)
    assert [(c.metric, c.direction) for c in changes] == [(m, direction(m)) for m in GATED]


def test_a_measured_figure_is_stored_with_its_registered_unit():
    figures = endpoint_figures(EndpointResult(ok=10, failed=0, histogram=None), duration_s=1.0)
    assert figures[RPS] == (10.0, METRICS[RPS].unit) and METRICS[RPS].unit == "req/s"


def test_the_name_rps_is_written_in_at_most_two_modules():
    assert len(modules_with_string(lambda text: text == RPS)) <= 2


def test_step_labels_are_built_and_parsed_only_in_keys():
    """Another module builds or parses 'users=4,endpoint=GET /x' with harness.results.keys (endpoint_step, Step)."""
    assert [m for m in modules_with_string(lambda text: "endpoint=" in text) if m != "harness/results/keys.py"] == []


def test_an_endpoint_label_round_trips():
    label = endpoint_step("ms=20,users=4", "GET /users")
    assert label == "ms=20,users=4,endpoint=GET /users"
    assert Step(label).endpoint == "GET /users" and Step(label).load_step == "ms=20,users=4"
    assert endpoint_step("users=4", AGGREGATE) == "users=4" and not Step("users=4").is_endpoint
