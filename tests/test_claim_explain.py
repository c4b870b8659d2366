"""The writer's words of a verdict, on constructed figures and outcomes: the headline sentence, what
would decide an open claim, and the machine-independent readings beside absolute figures."""

from __future__ import annotations

import pytest

from harness.claims.decide import Facts, gap_trials_needed, steps_to_decide, trials_needed
from harness.claims.headline import headline
from harness.claims.machine import near_edge
from harness.claims.outcomes import CheckOutcome, ClaimVerdict, PartVerdict
from harness.claims.schema import Claim
from harness.claims.view import Figure
from harness.stats import median_order_ci

P4 = Claim(id="P4", claim="Express boots faster than FastAPI", figure="Express 50–200 ms; FastAPI 200–500 ms",
           checks=[{"type": "range", "part": "Express in 50–200 ms", "target": "express", "scenario": "cold_start",
                    "metric": "cold_start_ms", "min": 50, "max": 200},
                   {"type": "range", "part": "FastAPI in 200–500 ms", "target": "fastapi", "scenario": "cold_start",
                    "metric": "cold_start_ms", "min": 200, "max": 500}])
EXPRESS = Figure("express", "cold_start cold_start_ms", 225.0, 219.0, 244.0, "ms", 5, interval_kind="94% CI")
FASTAPI = Figure("fastapi", "cold_start cold_start_ms", 396.0, 380.0, 410.0, "ms", 5, interval_kind="94% CI")


def p4_verdict() -> ClaimVerdict:
    outcomes = [CheckOutcome("main", "", "refuted", "", [EXPRESS], part="Express in 50–200 ms"),
                CheckOutcome("main", "", "supported", "", [FASTAPI], part="FastAPI in 200–500 ms")]
    parts = [PartVerdict("Express in 50–200 ms", "refuted", ""), PartVerdict("FastAPI in 200–500 ms", "supported", "")]
    return ClaimVerdict(P4, "partly supported", "", outcomes, parts)


# ---- the headline ---------------------------------------------------------------------------------


def test_the_headline_says_the_article_the_measurement_with_its_interval_and_what_follows():
    text = headline(p4_verdict())
    assert text.startswith("The article says: Express 50–200 ms; FastAPI 200–500 ms.")
    assert "Express 225 ms (219–244 ms, 94% CI, 5 trials)" in text
    assert "FastAPI 396 ms (380–410 ms, 94% CI, 5 trials)" in text
    assert "only in part" in text and "FastAPI in 200–500 ms holds" in text and "Express in 50–200 ms does not" in text
    assert "cold_start_ms" not in text and "cold_start" not in text  # metric names go to the detail


def test_an_undecided_headline_names_the_step_that_would_decide():
    v = ClaimVerdict(P4, "inconclusive", "", [CheckOutcome("main", "", "inconclusive", "", [EXPRESS])],
                     decide=["about 9 trials"])
    assert "cannot decide" in headline(v) and "about 9 trials" in headline(v)


def test_a_claim_that_cannot_be_checked_says_why_in_its_headline():
    claim = Claim(id="E1", claim="Node since 2009", figure="since 2009",
                  checks=[{"type": "not_checkable", "reason": "a history figure"}])
    v = ClaimVerdict(claim, "not checkable", "a history figure", [CheckOutcome("main", "—", "not checkable", "x")])
    assert headline(v) == "The article says: since 2009. This run cannot check it: a history figure."


# ---- what would decide it ---------------------------------------------------------------------------


def test_trials_needed_is_where_an_exact_interval_at_the_observed_spread_clears_the_bound():
    values = [188.0, 200.0, 206.0, 210.0, 216.0]  # median 206, against a bound at 200: straddles with 5 trials
    n = trials_needed(values, None, 200.0)
    assert n is not None and n > 5
    # at n trials spread like the observed ones, the order-statistic interval lies above 200; at n - 1 not yet
    def spread(k):
        import numpy as np
        return list(np.quantile(values, [(i - 0.5) / k for i in range(1, k + 1)]))
    assert median_order_ci(spread(n)).low > 200.0
    assert median_order_ci(spread(n - 1)).low <= 200.0


def test_trials_needed_is_none_when_the_median_sits_on_the_bound_or_there_is_no_spread():
    assert trials_needed([190.0, 200.0, 210.0], None, 200.0) is None
    assert trials_needed([205.0], None, 200.0) is None


def test_when_no_number_of_trials_helps_the_step_says_which_case_holds():
    from harness.claims.decide import _why_not_more_trials

    near = _why_not_more_trials("express", [190.0, 200.0, 210.0], None, 200.0)
    assert "median (200) lies so near the claim's bound (200)" in near
    assert "no spread" in _why_not_more_trials("express", [205.0, 205.0, 205.0], None, 200.0)
    # the observed interval clears the bound already: trials are not what keeps the verdict open
    clear = _why_not_more_trials("express", [1.62, 1.87, 2.03], 1.6, None)
    assert clear.startswith("not more trials") and "median" not in clear


def test_one_more_trial_where_the_spread_clears_the_bound_but_the_observed_extremes_do_not():
    # values at the spread's quantiles (about 1.66 at the bottom) clear 1.6; the observed [1.55, 2.03] does not
    assert trials_needed([1.55, 1.87, 2.03], 1.6, None) == 4


def test_steps_name_the_loadgen_the_quiet_machine_the_trials_and_the_sweep():
    saturated = Figure("express/fastapi", "concurrency users=64 rps", 1.2, 1.1, 1.3, "×", 5,
                       flags=("loadgen_saturated:users=64",), interval_kind="94% CI", paired=True)
    censored = Figure("express", "concurrency max_concurrency_slo", 512.0, 512.0, float("inf"), "users", 5,
                      interval_kind="94% CI", bound=">")
    # noisy, which no longer blocks: the straddling interval's step (trials), then the noise's
    straddling = Figure("express", "concurrency cold_start_ms", 204.0, 190.0, 214.0, "ms", 5, interval_kind="94% CI",
                        flags=("noisy",))
    outcomes = [CheckOutcome("main", "", "inconclusive", "", [saturated]),
                CheckOutcome("main", "", "inconclusive", "", [censored]),
                CheckOutcome("main", "", "inconclusive", "", [straddling])]
    facts = Facts(foreign_cpu_pct={"concurrency": 23.0}, top_steps={"concurrency": 512.0},
                  values={2: [188.0, 200.0, 206.0, 210.0, 216.0]}, bounds={2: (None, 200.0)})
    steps = steps_to_decide(outcomes, facts)
    assert any("more load-generator cores" in s and "users=64" in s for s in steps)
    assert any("a quieter machine" in s and "23%" in s for s in steps)
    assert any("a sweep with a step above 512 users" in s for s in steps)
    assert any(s.startswith("about ") and "trials" in s for s in steps)
    facts.foreign_cpu_pct["concurrency"] = 4.0  # others took little: the spread is the workload's own
    steps = steps_to_decide(outcomes, facts)
    assert not any("a quieter machine" in s for s in steps)
    assert any("more or longer trials" in s and "at most 4%" in s for s in steps)


def test_a_sliced_ratio_is_told_pairs_and_a_paired_one_rounds_not_trials():
    values = [1.02, 1.06, 1.09, 1.11, 1.13, 1.15, 1.18, 1.2, 1.22, 1.25]
    for counted, paired, word in (("pair", True, "pairs"), ("", True, "rounds"), ("", False, "trials")):
        figure = Figure("express/fastapi", "crud users=32 rps", 1.13, 1.05, 1.2, "×", 10, interval_kind="97% CI",
                        paired=paired, counted=counted)
        (step,) = steps_to_decide([CheckOutcome("main", "", "inconclusive", "", [figure])],
                                  Facts(values={0: values}, bounds={0: (1.1, None)}))
        assert step.startswith("about ") and f" {word} instead of 10" in step, step
        assert ("profile's `slices`" in step) == (counted == "pair")


def test_a_decided_outcome_needs_no_step():
    assert steps_to_decide([CheckOutcome("main", "", "supported", "", [EXPRESS])], Facts()) == []


def test_one_trial_needs_at_least_three():
    single = Figure("express", "cold_start cold_start_ms", 204.0, None, None, "ms", 1)
    (step,) = steps_to_decide([CheckOutcome("main", "", "inconclusive", "", [single])], Facts())
    assert step.startswith("at least 3 trials")


# ---- machine dependence ----------------------------------------------------------------------------


@pytest.mark.parametrize(("figure", "expected"), [
    (EXPRESS, "200"),  # 225 ms is 12.5% above Express's 200 ms edge
    (FASTAPI, None),  # 396 ms is far from 200 and 500
    (Figure("x", "w", 101.0, 95.0, 120.0, "MB", 5, interval_kind="94% CI"), "120"),  # 19 from 120: in the CI width
])
def test_near_edge_says_when_a_verdict_sits_near_a_range_edge(figure, expected):
    lo, hi = {"express": (50, 200), "fastapi": (200, 500)}.get(figure.label, (80, 120))
    text = near_edge(figure, lo, hi, 0.15)
    if expected is None:
        assert text == ""
    else:
        assert "would likely differ on a faster or slower machine" in text and f"edge ({expected} " in text


def test_gap_trials_needed_is_where_the_two_gaps_intervals_stop_overlapping():
    big = [1.30, 1.45, 1.50, 1.55, 1.70]  # per-round ratios where the gap is claimed larger
    small = [1.05, 1.20, 1.25, 1.30, 1.45]  # 5 rounds: [1.30, 1.70] and [1.05, 1.45] overlap
    n = gap_trials_needed(big, small)
    assert n is not None and n > 5
    assert gap_trials_needed([1.2, 1.3, 1.4], [1.2, 1.3, 1.4]) is None  # the same gap: never apart


def test_an_overlapping_gap_names_the_rounds_that_would_separate_it():
    big = Figure("express/fastapi", "cpu users=2 rps", 1.5, 1.3, 1.7, "×", 5, interval_kind="94% CI", paired=True)
    small = Figure("express/fastapi", "crud users=4 rps", 1.25, 1.05, 1.45, "×", 5, interval_kind="94% CI",
                   paired=True)
    outcome = CheckOutcome("main", "", "inconclusive", "gap …: the intervals overlap", [big, small])
    facts = Facts(gaps={0: ([1.30, 1.45, 1.50, 1.55, 1.70], [1.05, 1.20, 1.25, 1.30, 1.45])})
    (step,) = steps_to_decide([outcome], facts)
    assert step.startswith("about ") and "rounds" in step and "gaps" in step


def test_a_flagged_outcome_gets_its_flags_step_and_no_count_of_trials():
    clear = Figure("express/fastapi", "cpu users=2 rps", 5.4, 5.3, 5.5, "×", 5, interval_kind="94% CI", paired=True)
    flagged = Figure("express/fastapi", "crud users=4 rps", 0.66, 0.65, 0.67, "×", 5,
                     flags=("little_law:users=4",), interval_kind="94% CI", paired=True)
    outcome = CheckOutcome("main", "", "inconclusive", "", [clear, flagged])
    facts = Facts(gaps={0: ([5.3, 5.35, 5.4, 5.45, 5.5], [0.65, 0.655, 0.66, 0.665, 0.67])})
    (step,) = steps_to_decide([outcome], facts)
    assert "Little's law" in step
    assert gap_trials_needed(*facts.gaps[0]) is None  # apart already at 5 rounds: more would not be the step
