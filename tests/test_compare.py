"""bench compare and bench history on constructed stored runs: verdicts, directions, ratios, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.commands import main as cli
from harness.compare import compare_runs, direction, headline
from harness.errors import BenchError
from harness.exporters.compare_json import to_json
from harness.history.figure import history
from harness.results import Metric, ResultsStore, RunResults
from harness.summarize import summarize

UNITS = {"rps": "req/s", "latency_p99_ms": "ms", "error_rate": "ratio", "loadgen_cpu_pct": "%", "cold_start_ms": "ms"}
STEADY = [1000.0, 1010.0, 990.0, 1005.0, 995.0]  # about 0.8% spread


def scaled(values: list[float], factor: float) -> list[float]:
    return [v * factor for v in values]


def make_run(root: Path, name: str, figures: dict[tuple[str, str, str, str], list[float]], profile: str = "ci",
             created_at: str = "2026-11-27T10:00:00+00:00", complete: bool = True, server_env: dict | None = None,
             commit: str = "abc123") -> Path:
    """A stored run from {(target, scenario, step, metric): per-trial values}, written by ResultsStore."""
    metrics = [Metric(target=t, scenario=s, trial=i, step=step, metric=m, value=v, unit=UNITS.get(m, "x"))
               for (t, s, step, m), values in figures.items() for i, v in enumerate(values, start=1)]
    scenarios = {key[1] for key in figures}
    results = RunResults(run_id=name, created_at=created_at, complete=complete, metrics=metrics,
                         environment={"cpu_model": "Test CPU", "cpu_count_logical": 2, "git": {"commit": commit}},
                         config={"profile": profile, "server_env": server_env or {}, "workers": 1,
                                 "scenario_params": {s: {"trials": 5} for s in scenarios}})
    summarize(results)
    ResultsStore(root / name, results, samples=[]).save()
    return root / name


def throughput(fastapi: list[float], express: list[float] | None = None, metric: str = "rps", step: str = "users=32"
               ) -> dict[tuple[str, str, str, str], list[float]]:
    figures = {("fastapi", "throughput", step, metric): fastapi}
    if express is not None:
        figures[("express", "throughput", step, metric)] = express
    return figures


def row(result, target: str = "fastapi", metric: str = "rps"):
    return next(r for r in result.rows if r.target == target and r.metric == metric)


@pytest.fixture
def bench():
    """The real `bench` entry point (harness.commands.main.main), with paths as strings."""
    return lambda *args: cli.main([str(a) for a in args])


# ---- verdicts on constructed samples -------------------------------------------------------------------


def test_clear_regression(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY))
    new = make_run(tmp_path, "new", throughput(scaled(STEADY, 0.8)))
    result = compare_runs(base, new)
    r = row(result)
    assert r.verdict == r.absolute_verdict == "regression" and result.exit_code == 1
    assert r.change_pct == pytest.approx(-20.0)
    assert r.ci_low_pct < -19 and r.ci_high_pct > -21 and r.ci_low_pct <= r.ci_high_pct
    assert r.p_value < 0.05
    assert 5.0 <= r.min_detectable_pct < 20.0  # the smallest change this comparison could flag, reported


def test_improvement_in_a_lower_is_better_metric(tmp_path):
    base = make_run(tmp_path, "base", throughput([10.0, 10.2, 9.9, 10.1, 10.0], metric="latency_p99_ms"))
    new = make_run(tmp_path, "new", throughput([7.0, 7.1, 6.9, 7.2, 7.0], metric="latency_p99_ms"))
    result = compare_runs(base, new)
    assert row(result, metric="latency_p99_ms").verdict == "improvement"
    assert result.exit_code == 0 and result.improvements and not result.regressions


def test_latency_up_is_a_regression(tmp_path):
    base = make_run(tmp_path, "base", throughput([10.0, 10.2, 9.9, 10.1, 10.0], metric="latency_p99_ms"))
    new = make_run(tmp_path, "new", throughput([13.0, 13.1, 12.9, 13.2, 13.0], metric="latency_p99_ms"))
    assert row(compare_runs(base, new), metric="latency_p99_ms").verdict == "regression"


def test_noise_only_is_no_change(tmp_path):
    base = make_run(tmp_path, "base", throughput([1000.0, 1040.0, 970.0, 1020.0, 985.0]))
    new = make_run(tmp_path, "new", throughput([1010.0, 960.0, 1030.0, 995.0, 1005.0]))
    result = compare_runs(base, new)
    assert row(result).verdict == "no change" and result.exit_code == 0


def test_a_significant_change_below_the_threshold_is_no_change(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY))
    new = make_run(tmp_path, "new", throughput(scaled(STEADY, 0.97)))  # every trial lower, but by 3%
    r = row(compare_runs(base, new))
    assert r.p_value < 0.05 and r.verdict == "no change"
    assert row(compare_runs(base, new, threshold_pct=2.0)).verdict == "regression"


def test_a_big_change_with_wild_noise_is_not_called(tmp_path):
    base = make_run(tmp_path, "base", throughput([1000.0, 600.0, 1400.0, 800.0, 1200.0]))
    new = make_run(tmp_path, "new", throughput([900.0, 500.0, 1300.0, 700.0, 1000.0]))
    r = row(compare_runs(base, new))
    assert r.verdict == "no change" and r.change_pct == pytest.approx(-10.0)
    assert r.min_detectable_pct > 30  # says how little such a run can see


def test_too_few_trials_says_so(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY[:3]))
    new = make_run(tmp_path, "new", throughput(scaled(STEADY[:3], 0.5)))
    result = compare_runs(base, new)
    r = row(result)
    assert r.verdict == "too few trials" and r.min_detectable_pct is None
    assert result.exit_code == 0
    assert "1 judged figure(s) had too few trials to test" in headline(result)


# ---- directions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("metric", "expected"), [
    ("rps", "higher"), ("io_efficiency", "higher"), ("max_concurrency_slo", "higher"), ("connections_held", "higher"),
    ("latency_p50_ms", "lower"), ("latency_p999_ms", "lower"), ("error_rate", "lower"), ("cold_start_ms", "lower"),
    ("listen_ms", "lower"), ("rss_idle_mb", "lower"), ("uss_idle_mb", "lower"), ("rss_peak_mb", "lower"),
    ("memory_per_connection_kb", "lower"), ("server_rss_mb", "lower"),
    ("loadgen_cpu_pct", "none"), ("sampler_cpu_pct", "none"), ("little_law_ratio", "none"), ("usl_r2", "none"),
    ("latency_max_ms", "none"), ("rss_slope_mb_per_min", "none"), ("a_metric_nobody_declared", "none"),
])  # fmt: skip
def test_direction_table(metric, expected):
    assert direction(metric) == expected


def test_an_undirected_metric_is_reported_but_never_a_regression(tmp_path):
    base = make_run(tmp_path, "base", throughput([50.0, 51.0, 49.0, 50.5, 49.5], metric="loadgen_cpu_pct"))
    new = make_run(tmp_path, "new", throughput([90.0, 91.0, 89.0, 90.5, 89.5], metric="loadgen_cpu_pct"))
    result = compare_runs(base, new)
    r = row(result, metric="loadgen_cpu_pct")
    assert r.direction == "none" and r.verdict == "changed" and result.exit_code == 0


def test_errors_appearing_from_zero_are_a_regression(tmp_path):
    base = make_run(tmp_path, "base", throughput([0.0] * 5, metric="error_rate"))
    new = make_run(tmp_path, "new", throughput([0.02, 0.03, 0.025, 0.02, 0.03], metric="error_rate"))
    same = make_run(tmp_path, "same", throughput([0.0] * 5, metric="error_rate"))
    r = row(compare_runs(base, new), metric="error_rate")
    assert r.verdict == "regression" and r.change_pct is None
    assert row(compare_runs(base, same), metric="error_rate").verdict == "no change"
    assert row(compare_runs(new, base), metric="error_rate").verdict == "improvement"


def test_metric_filter_and_endpoint_rows(tmp_path):
    figures = {**throughput(STEADY), **throughput(STEADY, metric="latency_p99_ms"),
               ("fastapi", "throughput", "users=32,endpoint=GET /json", "rps"): STEADY}
    base, new = make_run(tmp_path, "base", figures), make_run(tmp_path, "new", figures)
    assert {r.metric for r in compare_runs(base, new, metrics=["rps"]).rows} == {"rps"}
    assert all("endpoint=" not in r.step for r in compare_runs(base, new).rows)
    assert any("endpoint=" in r.step for r in compare_runs(base, new, endpoints=True).rows)


# ---- the machine-independent ratio -----------------------------------------------------------------------


def test_a_slower_machine_moves_absolute_figures_but_not_the_ratio(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, scaled(STEADY, 2.0)))
    new = make_run(tmp_path, "new", throughput(scaled(STEADY, 0.5), STEADY))  # everything half as fast
    result = compare_runs(base, new)
    assert {r.absolute_verdict for r in result.rows} == {"regression"}
    assert {r.verdict for r in result.rows} == {"unconfirmed"} and result.exit_code == 0
    assert {r.ratio_check for r in result.rows} == {"not confirmed"}
    (ratio,) = result.ratios
    assert (ratio.numerator, ratio.denominator) == ("express", "fastapi")
    assert ratio.base_ratio == pytest.approx(2.0) and ratio.new_ratio == pytest.approx(2.0)
    assert ratio.verdict == "no change" and ratio.change_pct == pytest.approx(0.0)
    assert "unconfirmed" in headline(result)


def test_on_absolute_figures_alone_the_slower_machine_is_a_regression(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, scaled(STEADY, 2.0)))
    new = make_run(tmp_path, "new", throughput(scaled(STEADY, 0.5), STEADY))
    result = compare_runs(base, new, absolute=True)
    assert {r.verdict for r in result.rows} == {"regression"} and result.exit_code == 1
    assert {r.ratio_check for r in result.rows} == {None}


def test_one_target_slowed_is_confirmed_by_its_ratio(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, scaled(STEADY, 2.0)))
    new = make_run(tmp_path, "new", throughput(STEADY, scaled(STEADY, 1.4)))
    result = compare_runs(base, new)
    express, fastapi = row(result, "express"), row(result, "fastapi")
    assert (express.verdict, express.ratio_check) == ("regression", "confirmed")
    assert fastapi.verdict == "no change" and fastapi.ratio_check is None
    (ratio,) = result.ratios
    assert ratio.verdict == "regression" and ratio.change_pct == pytest.approx(-30.0)
    assert ratio.rounds == (5, 5) and ratio.p_value < 0.05 and ratio.min_detectable_pct is not None
    assert ratio.base_ci[0] <= 2.0 <= ratio.base_ci[1]


def test_a_slowed_reference_target_is_confirmed_by_the_others_ratio(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, scaled(STEADY, 2.0)))
    new = make_run(tmp_path, "new", throughput(scaled(STEADY, 0.7), scaled(STEADY, 2.0)))
    result = compare_runs(base, new)
    assert (row(result, "fastapi").verdict, row(result, "fastapi").ratio_check) == ("regression", "confirmed")
    assert result.ratios[0].verdict == "improvement"  # express gained on a slower fastapi
    assert row(result, "express").verdict == "no change"


def test_drift_within_a_run_cancels_in_the_per_round_ratio(tmp_path):
    drifting = [1000.0, 900.0, 800.0, 700.0, 600.0]  # the machine slows down during the run, for both targets
    base = make_run(tmp_path, "base", throughput(drifting, scaled(drifting, 2.0)))
    new = make_run(tmp_path, "new", throughput(drifting[::-1], scaled(drifting[::-1], 1.6)))
    (ratio,) = compare_runs(base, new).ratios
    assert ratio.verdict == "regression" and ratio.change_pct == pytest.approx(-20.0)


def test_a_single_target_run_falls_back_to_absolute_figures_and_says_so(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, STEADY))
    new = make_run(tmp_path, "new", {("express", "throughput", "users=32", "rps"): scaled(STEADY, 0.5)})
    result = compare_runs(base, new)
    assert row(result, "express").verdict == "regression" and row(result, "express").ratio_check is None
    assert any("rest on absolute figures alone" in w for w in result.warnings)


def test_too_few_paired_rounds_leave_the_finding_on_absolute_figures(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, STEADY))
    new = make_run(tmp_path, "new", throughput(STEADY[:2], scaled(STEADY, 0.5)))  # fastapi: 2 trials only
    result = compare_runs(base, new)
    assert result.ratios[0].verdict == "too few trials"
    express = row(result, "express")
    assert (express.verdict, express.ratio_check) == ("regression", None)


def test_reference_target_can_be_chosen(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, scaled(STEADY, 2.0)))
    (ratio,) = compare_runs(base, base, reference="express").ratios
    assert (ratio.numerator, ratio.denominator) == ("fastapi", "express")
    with pytest.raises(BenchError, match="no target 'django'"):
        compare_runs(base, base, reference="django")


# ---- reports and warnings --------------------------------------------------------------------------------


def test_reports_are_written_next_to_the_new_run(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput(STEADY, STEADY))
    new = make_run(tmp_path, "new", throughput(scaled(STEADY, 0.8), STEADY))
    assert bench("compare", base, new) == 1
    out = capsys.readouterr().out
    assert "regression" in out and "1 regression(s)" in out
    data = json.loads((new / "compare.json").read_text())
    assert data["compare_version"] == 1 and data["regressions"] == 1 and data["exit_code"] == 1
    assert data["base"]["git_commit"] == "abc123"
    markdown = (new / "compare.md").read_text()
    assert "## Regressions" in markdown and "fastapi throughput users=32 rps: -20.0%" in markdown


def test_out_folder(tmp_path, bench):
    base = make_run(tmp_path, "base", throughput(STEADY))
    assert bench("compare", base, base, "--out", tmp_path / "report") == 0
    assert (tmp_path / "report" / "compare.md").exists() and (tmp_path / "report" / "compare.json").exists()


def test_json_has_no_nan(tmp_path):
    base = make_run(tmp_path, "base", throughput([5.0] * 5, metric="cold_start_ms"))
    text = to_json(compare_runs(base, base))
    assert "NaN" not in text and json.loads(text)["rows"][0]["verdict"] == "no change"


def test_warnings_name_what_differs(tmp_path):
    base = make_run(tmp_path, "base", throughput(STEADY, STEADY))
    new = make_run(tmp_path, "new", throughput(STEADY), complete=False, server_env={"SLOWDOWN_US": "300"})
    warnings = " | ".join(compare_runs(base, new).warnings)
    assert "new run is incomplete" in warnings
    assert "server_env differs" in warnings and "SLOWDOWN_US" in warnings
    assert "base only: express" in warnings


# ---- bad input: one line, exit code 2 --------------------------------------------------------------------


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("bench: error:") and "Traceback" not in err, err
    return lines[0]


def test_missing_run_exits_2(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput(STEADY))
    assert bench("compare", base, tmp_path / "nope") == 2
    assert "new run" in error_line(capsys.readouterr().err)
    (tmp_path / "empty").mkdir()
    assert bench("compare", tmp_path / "empty", base) == 2
    assert "no results.json" in error_line(capsys.readouterr().err)


def test_incompatible_schema_exits_2(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput(STEADY))
    old = make_run(tmp_path, "old", throughput(STEADY))
    data = json.loads((old / "results.json").read_text())
    data["schema_version"] = 99
    (old / "results.json").write_text(json.dumps(data))
    assert bench("compare", old, base) == 2
    assert "format 99" in error_line(capsys.readouterr().err)


def test_different_scenarios_exit_2(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput(STEADY))
    other = make_run(tmp_path, "other", {("fastapi", "cold_start", "", "cold_start_ms"): STEADY})
    assert bench("compare", base, other) == 2
    line = error_line(capsys.readouterr().err)
    assert "different scenarios" in line and "only in base: throughput" in line and "only in new: cold_start" in line


def test_different_profiles_are_refused(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput(STEADY), profile="quick")
    new = make_run(tmp_path, "new", throughput(STEADY), profile="ci")
    assert bench("compare", base, new) == 2
    assert "different profiles" in error_line(capsys.readouterr().err)


def test_no_metric_or_target_in_common_exits_2(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput(STEADY))
    latency = make_run(tmp_path, "latency", throughput(STEADY, metric="latency_p99_ms"))
    assert bench("compare", base, latency) == 2
    assert "no metric in common" in error_line(capsys.readouterr().err)
    assert bench("compare", base, base, "--metric", "rss_idle_mb") == 2
    assert "no metric 'rss_idle_mb' in both runs" in error_line(capsys.readouterr().err)
    express = make_run(tmp_path, "express", {("express", "throughput", "users=32", "rps"): STEADY})
    assert bench("compare", base, express) == 2
    assert "no target in common" in error_line(capsys.readouterr().err)


def test_bad_threshold_is_refused_by_the_parser(bench, capsys):
    with pytest.raises(SystemExit) as exc:
        bench("compare", "a", "b", "--threshold", "-3")
    assert exc.value.code == 2 and "percentage" in capsys.readouterr().err


# ---- history ---------------------------------------------------------------------------------------------


def three_runs(root: Path) -> Path:
    results = root / "results"
    make_run(results, "r1", throughput(STEADY, STEADY), created_at="2026-11-01T10:00:00+00:00", commit="c1")
    make_run(results, "r2", throughput(scaled(STEADY, 1.01), STEADY), created_at="2026-11-02T10:00:00+00:00",
             commit="c2")
    make_run(results, "r3", throughput(scaled(STEADY, 0.7), STEADY), created_at="2026-11-03T10:00:00+00:00",
             commit="c3")
    make_run(results, "q1", throughput(STEADY, STEADY), profile="quick", created_at="2026-10-01T10:00:00+00:00")
    return results


def test_history_marks_the_regressed_run(tmp_path):
    h = history(three_runs(tmp_path), metric="rps", scenario="throughput")
    assert h.profile == "ci" and h.runs == ["r1", "r2", "r3"] and h.targets == ["express", "fastapi"]
    verdicts = {(p.run_id, p.target): p.verdict for p in h.points}
    assert verdicts[("r1", "fastapi")] == ""
    assert verdicts[("r2", "fastapi")] == "no change"
    assert verdicts[("r3", "fastapi")] == "regression" and verdicts[("r3", "express")] == "no change"
    assert any("q1" in note for note in h.skipped)


def test_history_command_writes_table_and_plot(tmp_path, bench, capsys):
    results = three_runs(tmp_path)
    assert bench("history", results, "--metric", "rps", "--scenario", "throughput", "--out", tmp_path / "out") == 0
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "c3" in out
    markdown = (tmp_path / "out" / "history-throughput-users32-rps.md").read_text()
    assert markdown.count("REGRESSION") == 2  # the r3 fastapi cell and the legend
    png = (tmp_path / "out" / "history-throughput-users32-rps.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_history_bad_input(tmp_path, bench, capsys):
    results = three_runs(tmp_path)
    assert bench("history", tmp_path / "none") == 2
    assert "no results folder" in error_line(capsys.readouterr().err)
    assert bench("history", results, "--metric", "cold_start_ms") == 2
    assert "no stored run" in error_line(capsys.readouterr().err)
    make_run(results, "r4", throughput(STEADY, STEADY, step="users=64"), created_at="2026-11-04T10:00:00+00:00")
    assert bench("history", results, "--metric", "rps") == 2
    assert "--step" in error_line(capsys.readouterr().err)
    assert bench("history", results, "--metric", "rps", "--metric", "error_rate") == 2  # one figure, or --page
    assert "one figure at a time" in error_line(capsys.readouterr().err)
    assert bench("history", results, "--step", "users=64") == 0


def test_history_does_not_blame_a_target_for_a_slower_machine(tmp_path):
    results = tmp_path / "results"
    make_run(results, "r1", throughput(STEADY, STEADY), created_at="2026-11-01T10:00:00+00:00")
    slower = throughput(scaled(STEADY, 0.6), scaled(STEADY, 0.6))
    make_run(results, "r2", slower, created_at="2026-11-02T10:00:00+00:00")
    assert {p.verdict for p in history(results).points if p.run_id == "r2"} == {"unconfirmed"}
    assert {p.verdict for p in history(results, absolute=True).points if p.run_id == "r2"} == {"regression"}


# ---- figures with zero trials, internal errors (issue 10 item 1) ---------------------------------------


def test_the_issues_error_rates_are_compared_not_crashed(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput([0.0, 0.0, 0.01], metric="error_rate"))
    new = make_run(tmp_path, "new", throughput([0.0, 0.03, 0.04], metric="error_rate"))
    assert bench("compare", base, new) == 0  # 3 trials a side: too few to test, never a crash or exit 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "too few trials" in captured.out
    r = row(compare_runs(base, new), metric="error_rate")
    assert r.verdict == "too few trials" and (r.base_median, r.new_median) == (0.0, 0.03) and r.change_pct is None


def test_errors_appearing_with_some_zero_trials_are_a_regression(tmp_path, bench, capsys):
    base = make_run(tmp_path, "base", throughput([0.0, 0.0, 0.0, 0.01, 0.0, 0.01], metric="error_rate"))
    new = make_run(tmp_path, "new", throughput([0.03, 0.0, 0.04, 0.05, 0.03, 0.04], metric="error_rate"))
    assert bench("compare", base, new) == 1
    assert "Traceback" not in capsys.readouterr().err
    r = row(compare_runs(base, new), metric="error_rate")
    assert r.verdict == "regression" and r.p_value < 0.05 and r.change_pct is None
    assert "base median is 0" in r.note
    assert row(compare_runs(new, base), metric="error_rate").verdict == "improvement"


def test_a_base_with_a_zero_trial_but_a_non_zero_median_has_a_change_without_ci(tmp_path):
    base = make_run(tmp_path, "base", throughput([0.0, 0.01, 0.02, 0.01, 0.015], metric="error_rate"))
    new = make_run(tmp_path, "new", throughput([0.05, 0.06, 0.04, 0.05, 0.055], metric="error_rate"))
    result = compare_runs(base, new)
    r = row(result, metric="error_rate")
    assert r.verdict == "regression" and r.change_pct == pytest.approx(400.0)
    assert r.ci_low_pct is None and "1 of 5 base trials are 0" in r.note
    assert r.note in to_json(result)


def test_a_reference_target_with_zero_trials_leaves_no_ratio_and_says_why_in_the_row(tmp_path):
    base = make_run(tmp_path, "base", {**throughput(STEADY, STEADY),
                                       **throughput([0.0, 0.01, 0.0, 0.01, 0.0], [0.01] * 5, metric="error_rate")})
    new = make_run(tmp_path, "new", {**throughput(STEADY, STEADY),
                                     **throughput([0.0, 0.0, 0.01, 0.0, 0.0], [0.05, 0.06, 0.05, 0.07, 0.05],
                                                  metric="error_rate")})
    result = compare_runs(base, new)
    express = row(result, "express", "error_rate")
    assert express.verdict == "regression" and express.ratio_check is None
    assert "no ratio to fastapi" in express.note and "fastapi's error_rate is 0" in express.note
    assert not [r for r in result.ratios if r.metric == "error_rate"]
    assert [r.metric for r in result.ratios] == ["rps"]  # the rps ratio is still there


def test_a_target_with_zero_trials_against_a_non_zero_reference_still_has_its_ratio(tmp_path):
    base = make_run(tmp_path, "base", throughput([0.01] * 5, [0.0, 0.0, 0.01, 0.0, 0.0], metric="error_rate"))
    new = make_run(tmp_path, "new", throughput([0.01] * 5, [0.05, 0.06, 0.0, 0.07, 0.05], metric="error_rate"))
    result = compare_runs(base, new)
    (ratio,) = result.ratios
    assert ratio.base_ratio == 0.0 and ratio.change_pct is None and ratio.verdict == "regression"
    express = row(result, "express", "error_rate")
    assert (express.verdict, express.ratio_check) == ("regression", "confirmed")


def test_history_with_zero_trials_does_not_crash(tmp_path, bench, capsys):
    results = tmp_path / "results"
    make_run(results, "r1", throughput([0.0, 0.0, 0.0, 0.01, 0.0, 0.01], metric="error_rate"),
             created_at="2026-11-01T10:00:00+00:00")
    make_run(results, "r2", throughput([0.03, 0.0, 0.04, 0.05, 0.03, 0.04], metric="error_rate"),
             created_at="2026-11-02T10:00:00+00:00")
    assert bench("history", results, "--metric", "error_rate", "--out", tmp_path / "out") == 0
    assert "Traceback" not in capsys.readouterr().err
    assert [p.verdict for p in history(results, metric="error_rate").points] == ["", "regression"]


def test_an_internal_error_in_compare_is_one_line_and_not_the_regression_code(tmp_path, bench, capsys, monkeypatch):
    base = make_run(tmp_path, "base", throughput(STEADY))

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr("harness.compare.rules.compare_samples", broken)
    assert bench("compare", base, base) == 2
    line = error_line(capsys.readouterr().err)
    assert "internal error in bench compare" in line and "ZeroDivisionError: float division by zero" in line
    assert "test_compare.py:" in line and "in broken" in line  # where it happened


def test_an_internal_error_in_history_is_one_line_and_exit_2(tmp_path, bench, capsys, monkeypatch):
    results = three_runs(tmp_path)

    def broken(*args, **kwargs):
        raise KeyError("rows")

    monkeypatch.setattr("harness.history.figure.judge", broken)
    assert bench("history", results, "--metric", "rps") == 2
    line = error_line(capsys.readouterr().err)
    assert "internal error in bench history" in line and "KeyError" in line and "in broken" in line
    monkeypatch.setattr("harness.history.page.judge", broken)  # the page of every figure
    assert bench("history", results) == 2
    line = error_line(capsys.readouterr().err)
    assert "internal error in bench history" in line and "KeyError" in line and "in broken" in line


@pytest.mark.parametrize("seed", range(3))
def test_figures_with_many_zeros_never_crash_the_judgement(seed):
    """Random error-rate-like trials, zeros everywhere, 1-6 trials a side and target: every row is judged."""
    import numpy as np

    from harness.compare import judge

    rng = np.random.default_rng(seed)
    keys = [(t, "throughput", "users=32", m) for t in ("express", "fastapi") for m in ("error_rate", "rps")]
    for _ in range(40):
        base, new = ({key: {i: float(rng.choice([0.0, 0.0, 0.01, 0.02, 0.05]))
                            for i in range(1, int(rng.integers(1, 7)) + 1)} for key in keys} for _ in range(2))
        rows, _ = judge(base, new, keys)
        assert len(rows) == len(keys) and all(r.verdict for r in rows)
        assert {r.verdict for r in rows} <= {"regression", "improvement", "no change", "too few trials", "unconfirmed"}
