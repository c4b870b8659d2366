"""Claims on a scenario run in paired slices: a ratio's interval is the group-sequential design's at the
pairs the run stopped at (harness.stats.sequential), labelled with the design's exact coverage; a
count off the planned looks falls back to the fixed-n interval, labelled so; a target's own figure is
the median of its slices."""

from __future__ import annotations

import numpy as np
import pytest
from claim_bodies import judge_one

from harness.claims.view import sequential_label, slicing_design
from harness.results import Metric, RunResults, RunView, TrialRecord
from harness.stats import median_order_ci
from harness.stats.sequential import design

LOOKS = [8, 16, 24, 32]
STEP = "users=64"


def slicing(scenario: str = "crud", looks: list[int] | None = None) -> dict:
    """results.config["slicing"] as the measuring side writes it."""
    plan = design(looks or LOOKS, 0.95)
    return {scenario: {"slice_s": 1.0, "settle_s": 0.1, "pairs_per_look": 8, "looks": looks or LOOKS, "level": 0.95,
                       "per_look_level": plan.per_look_level, "coverage": plan.coverage,
                       "stopped_after_pairs": 32, "stopped_because": "budget spent"}}


def pair_values(pairs: int, ratio: float, seed: int = 0, spread: float = 0.03) -> tuple[list[float], list[float]]:
    """Per slice rps of a and b: the host switches between two speeds in spells that cover both slices of a
    pair; each pair's ratio varies by `spread` around `ratio`."""
    rng = np.random.default_rng(seed)
    speed = np.where((np.arange(pairs) // 5) % 2 == 0, 1.0, 0.6)  # a spell of 5 pairs slow, 5 fast
    b = 1000.0 * speed * rng.uniform(0.97, 1.03, pairs)
    a = b * ratio * rng.uniform(1 - spread, 1 + spread, pairs)
    return list(a), list(b)


def sliced_run(figures: dict[tuple[str, str, str, str], list[float]], config: dict) -> RunResults:
    """Each slice one trial of its target, trial i of each target = pair i (as results.json stores slices)."""
    results = RunResults(run_id="sliced", created_at="now", config=config)
    seen: set[tuple[str, str, int]] = set()
    for (target, scenario, step, metric), values in figures.items():
        for pair, value in enumerate(values, start=1):
            results.metrics.append(Metric(target=target, scenario=scenario, trial=pair, step=step, metric=metric,
                                          value=value, unit="req/s"))
            if (target, scenario, pair) not in seen:
                seen.add((target, scenario, pair))
                results.trials.append(TrialRecord(target=target, scenario=scenario, trial=pair, order=len(seen),
                                                  started_at="now", wall_s=1))
    return results


def crud_run(a: list[float], b: list[float], config: dict | None = None) -> RunResults:
    return sliced_run({("express", "crud", STEP, "rps"): a, ("fastapi", "crud", STEP, "rps"): b},
                      {"slicing": slicing()} if config is None else config)


RATIO = """
    [[claims]]
    id = "P2"
    claim = "about as fast"
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


def ratio_figure(tmp_path, results: RunResults):
    verdict = judge_one(tmp_path, RATIO, results)
    (outcome,) = verdict.outcomes
    return verdict, outcome.figures[0], outcome.context


def test_a_sliced_ratio_takes_the_sequential_interval_at_the_stopped_look(tmp_path):
    a, b = pair_values(32, 0.86)
    verdict, figure, _ = ratio_figure(tmp_path, crud_run(a, b))
    ratios = sorted(x / y for x, y in zip(a, b, strict=True))
    look = design(LOOKS, 0.95).looks[-1]
    assert (figure.low, figure.high) == (ratios[look.low_rank - 1], ratios[look.high_rank - 1])
    # here the ranks are the fixed-n 95% interval's, but what they hold across 4 looks is 95.1%, not its 98%
    assert figure.coverage == pytest.approx(design(LOOKS, 0.95).coverage)
    assert figure.coverage < median_order_ci(ratios).coverage
    assert figure.count_text == "32 pairs" and figure.n == 32
    assert "(95.1% CI, group-sequential over 4 looks, 32 pairs)" in figure.text()
    assert verdict.verdict == "refuted"


def test_with_many_looks_the_interval_is_wider_than_a_fixed_n_one(tmp_path):
    many = list(range(8, 97, 8))  # a look every 8 pairs up to 96; stopped at 32
    a, b = pair_values(32, 0.86)
    _, figure, _ = ratio_figure(tmp_path, crud_run(a, b, {"slicing": slicing(looks=many)}))
    fixed = median_order_ci([x / y for x, y in zip(a, b, strict=True)])
    assert figure.low < fixed.low and figure.high > fixed.high
    assert "group-sequential over 12 looks, 32 pairs)" in figure.text()


def test_a_stop_at_an_earlier_look_reads_that_looks_ranks(tmp_path):
    a, b = pair_values(16, 0.86)
    _, figure, _ = ratio_figure(tmp_path, crud_run(a, b))
    ratios = sorted(x / y for x, y in zip(a, b, strict=True))
    look = design(LOOKS, 0.95).looks[1]
    assert (figure.low, figure.high) == (ratios[look.low_rank - 1], ratios[look.high_rank - 1])
    assert figure.text().endswith("(95.1% CI, group-sequential over 4 looks, 16 pairs)")


def test_a_count_off_the_planned_looks_falls_back_to_the_fixed_n_interval_labelled_so(tmp_path):
    a, b = pair_values(30, 0.86)  # interrupted between the looks at 24 and 32
    _, figure, _ = ratio_figure(tmp_path, crud_run(a, b))
    fixed = median_order_ci([x / y for x, y in zip(a, b, strict=True)])
    assert (figure.low, figure.high, figure.coverage) == (fixed.low, fixed.high, fixed.coverage)
    assert "(96% CI, fixed-n: not a planned look, 30 pairs)" in figure.text()


def test_a_targets_own_figure_is_the_median_of_its_slices(tmp_path):
    a, b = pair_values(32, 0.86)
    _, _, (express, fastapi) = ratio_figure(tmp_path, crud_run(a, b))
    assert express.count_text == "32 slices" and express.value == pytest.approx(float(np.median(a)))
    assert (express.low, express.high) == (median_order_ci(a).low, median_order_ci(a).high)
    assert "group-sequential" not in express.interval_kind and fastapi.count_text == "32 slices"


def test_a_ratio_near_the_bands_edge_straddles_under_the_wider_interval(tmp_path):
    a, b = pair_values(32, 0.905, spread=0.05)
    verdict, figure, _ = ratio_figure(tmp_path, crud_run(a, b))
    assert figure.low < 0.9 < figure.high and verdict.verdict == "inconclusive"


def test_a_run_without_slicing_keeps_its_rounds(tmp_path):
    a, b = pair_values(5, 0.86)
    _, figure, _ = ratio_figure(tmp_path, crud_run(a, b, config={}))
    assert figure.text().endswith("(94% CI, 5 rounds)")


def test_a_gaps_ratios_on_sliced_scenarios_carry_the_designs_tail(tmp_path):
    body = """
    [[claims]]
    id = "P3"
    claim = "the gap is larger on CPU work"
    [[claims.checks]]
    type = "gap"
    metric = "rps"
    numerator = "express"
    denominator = "fastapi"
    larger = { scenario = "cpu", step = "users=max" }
    smaller = { scenario = "crud", step = "users=max" }
    """
    cpu_a, cpu_b = pair_values(32, 0.5, seed=1)
    crud_a, crud_b = pair_values(32, 0.95, seed=2)
    results = sliced_run({("express", "cpu", STEP, "rps"): cpu_a, ("fastapi", "cpu", STEP, "rps"): cpu_b,
                          ("express", "crud", STEP, "rps"): crud_a, ("fastapi", "crud", STEP, "rps"): crud_b},
                         {"slicing": {**slicing("cpu"), **slicing("crud")}})
    verdict = judge_one(tmp_path, body, results)
    assert verdict.verdict == "supported"
    big, small = verdict.outcomes[0].figures
    assert big.count_text == small.count_text == "32 pairs"
    assert 0 < big.tail < 1 - big.coverage  # one side of the simultaneous miss, exact
    assert "group-sequential" in big.interval_kind


def test_the_label_never_rounds_the_coverage_up():
    plan = design(LOOKS, 0.95)
    assert sequential_label(plan) == f"{int(plan.coverage * 1000) / 10:g}% CI, group-sequential over 4 looks"
    view = RunView(RunResults(run_id="x", created_at="now", config={"slicing": slicing()}))
    assert slicing_design(view, "crud") == plan and slicing_design(view, "cpu") is None


def with_trials(results: RunResults, pairs_per_trial: int) -> RunResults:
    """The slices' records say which trial (a fresh start of both servers) each pair ran in."""
    for record in results.trials:
        record.pairing = {"trial": (record.trial - 1) // pairs_per_trial + 1, "position": record.trial % 2}
    return results


def test_a_ratio_whose_trials_disagree_says_by_how_much_it_depends_on_the_trial(tmp_path):
    a1, b1 = pair_values(8, 1.17, seed=1)
    a2, b2 = pair_values(8, 1.60, seed=2)
    run = crud_run(a1 + a2, b1 + b2, {"slicing": slicing(looks=[8, 16])})
    verdict = judge_one(tmp_path, RATIO, with_trials(run, 8))
    (note,) = [m for m in verdict.machine if "depends on the trial" in m]
    assert "trial 1: 1.17×" in note and "trial 2: 1.6×" in note and "37% apart" in note


def test_a_ratio_whose_trials_agree_has_no_such_note(tmp_path):
    a1, b1 = pair_values(8, 1.17, seed=1)
    a2, b2 = pair_values(8, 1.18, seed=2)
    run = crud_run(a1 + a2, b1 + b2, {"slicing": slicing(looks=[8, 16])})
    verdict = judge_one(tmp_path, RATIO, with_trials(run, 8))
    assert not [m for m in verdict.machine if "depends on the trial" in m]


def test_the_terminal_and_the_report_say_how_many_pairs_each_sliced_scenario_got_and_why_it_stopped():
    from harness.results.slicing import slicing_lines

    config = {"slicing": {"crud": {**slicing()["crud"], "pairs": 16, "looks": [8, 16, 24],
                                   "stopped_because": "every ratio decided"}}}
    assert slicing_lines(config) == ["paired slices · crud: 16 pairs of 1-s slices (looks at 8, 16, 24): "
                                     "every ratio decided"]
    assert slicing_lines({}) == []
