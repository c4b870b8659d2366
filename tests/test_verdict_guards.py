"""Verdict guards (issue 32 items 1, 2, 3, 5, 9): a verdict only where the data can carry it, each
interval labelled with the coverage it has. Every test judges a constructed run whose verdict (or the
reason it gives) was wrong before the guard."""

from __future__ import annotations

import pytest
from claim_bodies import judge_one

from harness.results import Metric, RunResults, TrialRecord

POINT = '[policy]\nsingle_trial = "point"\n'
STABLE = [100.0, 102.0, 98.0, 101.0, 99.0]


def run_of(figures: dict[tuple[str, str, str, str], list[float]], flags: dict[tuple[str, str], list[str]] | None = None,
           config: dict | None = None) -> RunResults:
    """One Metric per value (trial 1, 2, ...) and one TrialRecord per target × scenario × trial."""
    results = RunResults(run_id="t", created_at="now", config=config or {})
    seen: set[tuple[str, str, int]] = set()
    for (target, scenario, step, metric), values in figures.items():
        for trial, value in enumerate(values, start=1):
            results.metrics.append(Metric(target=target, scenario=scenario, trial=trial, step=step, metric=metric,
                                          value=value, unit="u"))
            if (target, scenario, trial) not in seen:
                seen.add((target, scenario, trial))
                results.trials.append(TrialRecord(target=target, scenario=scenario, trial=trial, order=len(seen),
                                                  started_at="now", wall_s=1,
                                                  flags=(flags or {}).get((target, scenario), [])))
    return results


def ratio_check(scenario: str, metric: str, low: float | None = 1.4, high: float | None = 1.6, extra: str = "") -> str:
    bounds = "".join(f"\n    {name} = {value}" for name, value in (("min", low), ("max", high)) if value is not None)
    return f"""
    [[claims]]
    id = "P1"
    claim = "40-60% more"
    [[claims.checks]]
    type = "ratio"
    scenario = "{scenario}"
    metric = "{metric}"
    numerator = "express"
    denominator = "fastapi"{bounds}{extra}
"""


GAP = """
    [[claims]]
    id = "P3"
    claim = "gap at cpu"
    [[claims.checks]]
    type = "gap"
    metric = "rps"
    numerator = "express"
    denominator = "fastapi"
    larger = { scenario = "cpu", step = "users=max" }
    smaller = { scenario = "crud", step = "users=max" }
"""


def gaps(cpu_ratio: float, crud_ratio: float, rounds: int = 5, flags: dict | None = None) -> RunResults:
    base = STABLE[:rounds]
    return run_of({("express", "cpu", "users=8", "rps"): [x * cpu_ratio for x in base],
                   ("fastapi", "cpu", "users=8", "rps"): base,
                   ("express", "crud", "users=32", "rps"): [x * crud_ratio for x in base],
                   ("fastapi", "crud", "users=32", "rps"): base}, flags)


# ---- item 1: a single trial does not decide a quantized ratio -----------------------------------------

HELD = ratio_check("connections", "connections_held", extra='\n    quantized = "users"')
HELD_STEPS = {"scenario_params": {"connections": {"users": [8, 32, 128, 512]}}}


def held(express: list[float], fastapi: list[float]) -> RunResults:
    return run_of({("express", "connections", "", "connections_held"): express,
                   ("fastapi", "connections", "", "connections_held"): fastapi}, config=HELD_STEPS)


def test_a_single_trial_does_not_decide_a_quantized_ratio(tmp_path):
    # was "refuted" from one trial of each: the step interval of a bare median passed for a CI
    v = judge_one(tmp_path, HELD, held([512.0], [8.0]))
    assert v.verdict == "inconclusive", v.reason
    assert "single trial, no CI: not judged (policy single_trial)" in v.reason


def test_a_single_quantized_trial_under_the_point_policy_is_judged_on_its_point_value(tmp_path):
    v = judge_one(tmp_path, POINT + HELD, held([512.0], [8.0]))
    assert v.verdict == "refuted" and "judged on the point value" in v.reason


def test_a_single_trial_does_not_decide_a_quantized_range(tmp_path):
    body = """
    [[claims]]
    id = "X"
    claim = "holds at least 100"
    [[claims.checks]]
    type = "range"
    target = "express"
    scenario = "connections"
    metric = "connections_held"
    min = 100
    quantized = "users"
"""
    v = judge_one(tmp_path, body, held([512.0], [8.0]))
    assert v.verdict == "inconclusive" and "not judged (policy single_trial)" in v.reason


# ---- item 2: a rate the lowest step already failed is an upper bound --------------------------------

RATE = ratio_check("rate", "max_rate_slo")


def rates(express: list[float], fastapi: list[float], fastapi_failed_lowest: bool = True) -> RunResults:
    """Per-trial max_rate_slo as load_summary stores it: a trial whose lowest step failed keeps that
    step's rate with max_rate_slo_upper_bound = 1."""
    below = float(fastapi_failed_lowest)
    return run_of({("express", "rate", "", "max_rate_slo"): express,
                   ("express", "rate", "", "max_rate_slo_censored"): [0.0] * len(express),
                   ("express", "rate", "", "max_rate_slo_upper_bound"): [0.0] * len(express),
                   ("fastapi", "rate", "", "max_rate_slo"): fastapi,
                   ("fastapi", "rate", "", "max_rate_slo_censored"): [0.0] * len(fastapi),
                   ("fastapi", "rate", "", "max_rate_slo_upper_bound"): [below] * len(fastapi)})


def test_a_rate_the_lowest_step_failed_is_not_read_as_held(tmp_path):
    # read as values, 600-640 over 400 is 1.50-1.60: "supported". FastAPI failed 400 req/s, so its
    # figure is below 400 and the ratio above 1.5, unbounded: it may as well be 3.
    v = judge_one(tmp_path, RATE, rates([600.0, 640.0, 620.0], [400.0] * 3))
    assert v.verdict == "inconclusive", v.reason
    assert "fastapi trials 1, 2, 3 failed the lowest step (400 u), each value only an upper bound" in v.reason
    assert "a lowest step of at most 375 u would decide it" in v.reason  # express's 600 ÷ 1.6
    assert "fastapi < 400 u" in v.measured()
    assert "express/fastapi > 1.55×" in v.measured()


def test_an_upper_bound_that_alone_proves_the_side_decides_and_says_it_is_a_bound(tmp_path):
    v = judge_one(tmp_path, RATE, rates([700.0, 720.0, 760.0], [400.0] * 3))  # the ratio is above 1.75
    assert v.verdict == "refuted", v.reason
    assert "express/fastapi > 1.8× [1.75–∞]" in v.measured()
    at_least = RATE.replace("    max = 1.6\n", "")
    assert judge_one(tmp_path, at_least, rates([700.0, 720.0, 760.0], [400.0] * 3)).verdict == "supported"


def test_an_upper_bound_against_a_range(tmp_path):
    body = """
    [[claims]]
    id = "X"
    claim = "FastAPI holds 300-500 req/s"
    [[claims.checks]]
    type = "range"
    target = "fastapi"
    scenario = "rate"
    metric = "max_rate_slo"
    min = 300
    max = 500
"""
    v = judge_one(tmp_path, body, rates([700.0] * 3, [400.0] * 3))  # was "supported": 400 is in range
    assert v.verdict == "inconclusive", v.reason
    assert "a lowest step of at most 300 u would decide it" in v.reason
    assert v.measured(short=True) == "rate max_rate_slo: fastapi < 400 u (below the lowest step)"
    measured = judge_one(tmp_path, body, rates([700.0] * 3, [400.0] * 3, fastapi_failed_lowest=False))
    assert measured.verdict == "supported"


def test_an_upper_bound_in_the_headline_and_in_what_would_decide(tmp_path):
    v = judge_one(tmp_path, RATE, rates([600.0, 640.0, 620.0], [400.0] * 3))
    assert "FastAPI less than 400 u (at most 400 u; below the lowest step)" in v.headline
    assert "Express/FastAPI more than 1.55× (at least 1.5×; fastapi below the lowest step)" in v.headline
    assert v.decide == ["a sweep starting lower (at most 375 u): some trials failed its lowest step"]


# ---- item 3: a zero median goes through the guards --------------------------------------------------

COMPARE = """
    [[claims]]
    id = "P6"
    claim = "FastAPI drifts less"
    [[claims.checks]]
    type = "compare"
    scenario = "memory"
    step = "users=max"
    metric = "rss_slope_mb_per_min"
    transform = "abs"
    lower = "fastapi"
    higher = "express"
"""


def memory(fastapi: list[float], express: list[float], flags: dict | None = None) -> RunResults:
    return run_of({("fastapi", "memory", "users=32", "rss_slope_mb_per_min"): fastapi,
                   ("express", "memory", "users=32", "rss_slope_mb_per_min"): express}, flags)


def test_a_zero_median_from_one_trial_decides_nothing(tmp_path):
    v = judge_one(tmp_path, COMPARE, memory([0.5], [0.0]))  # was "refuted" from one trial
    assert v.verdict == "inconclusive", v.reason
    assert "single trial, no CI: not judged (policy single_trial)" in v.reason


def test_a_zero_median_with_a_blocking_flag_decides_nothing(tmp_path):
    flags = {("express", "memory"): ["loadgen_saturated:users=32"]}
    v = judge_one(tmp_path, COMPARE, memory([0.5, 0.6, 0.4], [0.0, 0.0, 0.0], flags))
    assert v.verdict == "inconclusive", v.reason
    assert "load generator saturated at users=32: cannot support or refute" in v.reason


def test_a_zero_median_whose_interval_reaches_above_zero_is_open(tmp_path):
    v = judge_one(tmp_path, COMPARE, memory([0.5, 0.6, 0.4], [0.0, 0.0, 2.0]))
    assert v.verdict == "inconclusive", v.reason
    assert "express's median is 0 but its 75% CI reaches 2" in v.reason


def test_a_zero_median_pinned_by_its_interval_refutes(tmp_path):
    v = judge_one(tmp_path, COMPARE, memory([0.5, 0.6, 0.4], [0.0, 0.0, 0.0]))
    assert v.verdict == "refuted" and "express's median is 0 (75% CI [0–0])" in v.reason
    assert judge_one(tmp_path, POINT + COMPARE, memory([0.5], [0.0])).verdict == "refuted"


# ---- item 5: every interval carries the coverage it has ------------------------------------------------

SWEEP = ratio_check("concurrency", "max_concurrency_slo", extra='\n    quantized = "users"')
SWEEP_STEPS = {"scenario_params": {"concurrency": {"users": [8, 32, 128, 512]}}}


def sweep(express: list[float], fastapi: list[float]) -> RunResults:
    return run_of({("express", "concurrency", "", "max_concurrency_slo"): express,
                   ("fastapi", "concurrency", "", "max_concurrency_slo"): fastapi}, config=SWEEP_STEPS)


def test_a_stepped_interval_carries_its_coverage(tmp_path):
    v = judge_one(tmp_path, SWEEP, sweep([512.0] * 3, [8.0] * 3))
    assert v.verdict == "refuted"
    assert "express/fastapi 75% CI at step resolution [16–∞]" in v.reason
    assert "express 512 u [512–∞] (75% CI at step resolution, 3 trials)" in v.measured()


def test_a_stepped_ratio_of_paired_rounds_is_an_order_statistic_interval_of_the_rounds(tmp_path):
    # each round's ratio lies within [its express step ÷ fastapi's next step, express's next ÷ fastapi's
    # step]: the rounds' bounds give an interval of the median round ratio with the rounds' own 75%,
    # not the 56% of one 75% interval divided by another
    v = judge_one(tmp_path, SWEEP, sweep([128.0, 128.0, 32.0], [32.0, 32.0, 8.0]))
    ratio = v.outcomes[0].figures[0]
    assert (ratio.low, ratio.high, ratio.interval_kind) == (1.0, 16.0, "75% CI at step resolution")
    assert ratio.paired


def test_a_stepped_ratio_of_unpaired_trials_states_its_joint_coverage(tmp_path):
    v = judge_one(tmp_path, SWEEP, sweep([512.0] * 3, [8.0] * 4))  # 3 and 4 trials: no rounds
    ratio = v.outcomes[0].figures[0]
    assert ratio.interval_kind == "66% CI at step resolution"  # 0.75 × 0.875: both intervals cover
    assert not ratio.paired


CROSSING = ratio_check("concurrency", "slo_crossing_users")


def crossings(express: list[float | None], fastapi: list[float | None]) -> RunResults:
    """slo_crossing_users per trial, None for a trial that passed the top step (512)."""
    figures: dict[tuple[str, str, str, str], list[float]] = {}
    for target, values in (("express", express), ("fastapi", fastapi)):
        figures[(target, "concurrency", "", "slo_crossing_users")] = [512.0 if v is None else v for v in values]
        figures[(target, "concurrency", "", "slo_crossing_users_censored")] = [float(v is None) for v in values]
    return run_of(figures, config=SWEEP_STEPS)


def test_a_censored_ratio_of_paired_rounds_is_the_median_round_ratio_with_its_coverage(tmp_path):
    # was a ratio of medians with a nominal percentile bootstrap, labelled "bootstrap CI"
    v = judge_one(tmp_path, CROSSING, crossings([None, None, 500.0], [340.0, 345.0, 350.0]))
    assert "express/fastapi > 1.48× [1.43–∞] (75% CI, 3 rounds" in v.measured()


def test_a_censored_ratio_of_unpaired_trials_states_its_joint_coverage(tmp_path):
    v = judge_one(tmp_path, CROSSING, crossings([None, None, 500.0], [340.0, 345.0, 350.0, 348.0]))
    ratio = v.outcomes[0].figures[0]
    assert ratio.interval_kind == "66% CI" and not ratio.paired  # 0.75 × 0.875
    assert ratio.bound == ">" and ratio.high == float("inf")


def test_apart_gaps_of_three_rounds_do_not_decide(tmp_path):
    # two 75% intervals apart: each lies wholly above its median 12.5% of the time, so "apart" happens
    # by chance up to 23% of the time, above the 12.5% one 3-trial interval risks alone. Was "supported".
    v = judge_one(tmp_path, GAP, gaps(5.0, 1 / 1.5, rounds=3))
    assert v.verdict == "inconclusive", v.reason
    assert "apart by chance up to 23.4% of the time" in v.reason


def test_apart_gaps_state_the_overlap_tests_real_level(tmp_path):
    v = judge_one(tmp_path, GAP, gaps(5.0, 1 / 1.5))
    assert v.verdict == "supported"
    assert "the 94% CIs are apart: by chance up to 6.2% of the time" in v.reason


def test_what_would_decide_apart_gaps_of_three_rounds_is_more_rounds(tmp_path):
    v = judge_one(tmp_path, GAP, gaps(5.0, 1 / 1.5, rounds=3))
    assert any(step.startswith("about 4 rounds instead of 3") for step in v.decide), v.decide


# ---- item 9: a verdict from disturbed windows says so ----------------------------------------------------

RATIO = """
    [[claims]]
    id = "P2"
    claim = "comparable"
    [[claims.checks]]
    type = "ratio"
    scenario = "crud"
    step = "users=max"
    metric = "rps"
    numerator = "express"
    denominator = "fastapi"
    min = 0.9
    max = 1.1
"""


def crud(express: list[float], fastapi: list[float], flags: dict | None = None) -> RunResults:
    return run_of({("express", "crud", "users=32", "rps"): express, ("fastapi", "crud", "users=32", "rps"): fastapi},
                  flags)


DISTURBED = {("fastapi", "crud"): ["disturbed:users=32"]}


def test_a_verdict_from_disturbed_windows_says_so(tmp_path):
    v = judge_one(tmp_path, RATIO, crud(STABLE, [x * 1.5 for x in STABLE], DISTURBED))
    assert v.verdict == "refuted"  # disturbed does not block by default (harness.flags)
    assert "fastapi disturbed (others used over 10% of a role's CPUs) at users=32" in v.reason


def test_an_undecided_verdict_from_disturbed_windows_says_so_too(tmp_path):
    slower = [x * f for x, f in zip(STABLE, (1.05, 1.15, 1.1, 1.12, 1.08), strict=True)]  # ratios 0.87-0.95
    v = judge_one(tmp_path, RATIO, crud(STABLE, slower, DISTURBED))
    assert v.verdict == "inconclusive" and "disturbed (others used over 10%" in v.reason


def test_a_gap_from_disturbed_windows_says_so(tmp_path):
    v = judge_one(tmp_path, GAP, gaps(5.0, 1 / 1.5, flags={("express", "cpu"): ["disturbed:users=8"]}))
    assert v.verdict == "supported" and "express disturbed (others used over 10% of a role's CPUs) at users=8" \
        in v.reason


def test_disturbed_windows_block_a_verdict_where_the_policy_says_so(tmp_path):
    body = '[policy]\nblocking_flags = ["loadgen_saturated", "disturbed"]\n' + RATIO
    v = judge_one(tmp_path, body, crud(STABLE, [x * 1.5 for x in STABLE], DISTURBED))
    assert v.verdict == "inconclusive" and "disturbed at users=32: cannot support or refute" in v.reason
    assert v.reason.count("disturbed") == 1  # said once, as what blocked it


# ---- the statistics behind them (harness.stats.bounded) ----------------------------------------------


def test_bounded_median_ci_holds_the_order_statistic_interval_of_the_unknown_values():
    from harness.stats import bounded_median_ci

    est = bounded_median_ci([10.0, 20.0, 30.0], [10.0, 20.0, 30.0], [10.0, 25.0, float("inf")])
    assert (est.value, est.low, est.high, est.coverage) == (20.0, 10.0, float("inf"), 0.75)
    assert (est.median_low, est.median_high) == (20.0, 25.0) and est.tail == pytest.approx(0.125)
    assert bounded_median_ci([5.0, 6.0], [5.0, 6.0], [5.0, 6.0]).low is None
    with pytest.raises(ValueError, match="each value within its bounds"):
        bounded_median_ci([5.0, 6.0, 7.0], [5.0, 6.5, 7.0], [5.0, 6.0, 7.0])


def test_round_ratio_bounds_divide_each_round_by_the_other_side_s_opposite_end():
    from harness.stats import round_ratio_bounds

    values, lows, highs = round_ratio_bounds([100.0, 50.0], [100.0, 50.0], [200.0, 50.0],
                                             [10.0, 0.0], [10.0, 0.0], [20.0, 8.0])
    assert lows == [5.0, 6.25] and highs == [20.0, float("inf")] and values == [10.0, float("inf")]


def test_joint_tail_is_one_of_several_independent_intervals_missing():
    from harness.stats import joint_tail

    assert joint_tail(0.125, 0.125) == pytest.approx(1 - 0.875**2)
    assert joint_tail() == 0.0
