"""Across-trial summaries, warnings and the terminal table, on constructed results."""

from rich.console import Console

from harness.present.tables import summary_table
from harness.results import Metric, RunResults, TrialRecord
from harness.summarize import summarize


def results_with(values_a, values_b, flags_b=()):
    results = RunResults(run_id="r", created_at="now")
    for target, values, flags in (("fastapi", values_a, ()), ("express", values_b, flags_b)):
        for trial, value in enumerate(values, start=1):
            results.trials.append(TrialRecord(target=target, scenario="throughput", trial=trial, order=trial,
                                              started_at="now", wall_s=1, flags=list(flags)))
            results.metrics.append(Metric(target=target, scenario="throughput", trial=trial, step="users=64",
                                          metric="rps", value=value, unit="req/s"))
    return results


def summary(results, target):
    return next(s for s in results.summaries if s.target == target)


def test_stable_trials_get_a_ci_and_no_flags():
    results = results_with([1000, 1010, 990], [2000, 2020, 1980])
    summarize(results)
    s = summary(results, "fastapi")
    assert s.n == 3 and s.median == 1000 and s.ci_low <= 1000 <= s.ci_high
    assert s.flags == [] and results.warnings == []


def test_noisy_and_saturated_results_are_flagged_with_advice():
    results = results_with([1000, 1500, 700], [2000, 2020, 1980], flags_b=["loadgen_saturated:users=64"])
    summarize(results)
    assert "noisy" in summary(results, "fastapi").flags
    assert "loadgen_saturated" in summary(results, "express").flags
    text = " ".join(results.warnings)
    assert "noisy (CV over 10% across trials): fastapi throughput users=64 rps (CV" in text and "more trials" in text
    assert ("load generator saturated (a Locust process above 90% of a core, or all of them above 90% of the load "
            "generator's cores): express throughput users=64.") in text


def test_single_trial_says_it_has_no_interval():
    results = results_with([1000], [2000])
    summarize(results)
    assert "single_trial" in summary(results, "fastapi").flags
    console = Console(record=True, width=200)
    console.print(summary_table(results))
    text = console.export_text()
    assert "1,000 †" in text and "2×" in text


def test_a_whole_trial_figure_inherits_the_flags_of_its_sweep():
    results = results_with([1000, 1010, 990], [2000, 2020, 1980], flags_b=["little_law:users=64"])
    for target in ("fastapi", "express"):
        for trial in (1, 2, 3):
            results.metrics.append(Metric(target=target, scenario="throughput", trial=trial, step="",
                                          metric="max_concurrency_slo", value=64, unit="users"))
    summarize(results)
    slo = {s.target: s for s in results.summaries if s.metric == "max_concurrency_slo"}
    assert "little_law" in slo["express"].flags and "little_law" not in slo["fastapi"].flags


def test_the_runs_own_notes_follow_the_derived_warnings_and_survive_a_second_summary():
    results = results_with([1000, 1500, 700], [2000, 2020, 1980])
    results.note("no load generator ceiling (skipped: --no-ceiling)")
    assert results.warnings == ["no load generator ceiling (skipped: --no-ceiling)"]  # shown at once
    for _ in range(2):
        summarize(results)
        assert len(results.warnings) == 2 and results.warnings[0].startswith("noisy")
        assert results.warnings[1] == "no load generator ceiling (skipped: --no-ceiling)"
