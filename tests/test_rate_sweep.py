"""The rate sweep's rule (harness/rate_sweep.py) on sweeps with known answers."""

from __future__ import annotations

import math

import pytest

from harness.rate_sweep import RateStep, failed_criteria, max_rate_slo, step_is_usable, usable_limit_rps

SLO_MS = 100.0


def ok(rate: float, p99_ms: float = 20.0) -> RateStep:
    return RateStep(offered_rps=rate, achieved_rps=rate, p99_ms=p99_ms, error_rate=0.0)


def test_interpolates_linearly_in_rate_on_the_p99_excess():
    verdict = max_rate_slo([ok(1000, 20), ok(2000, 40), ok(3000, 120)], SLO_MS)
    # p99/slo goes 0.4 → 1.2 between 2000 and 3000: it reaches 1 at 2000 + 0.6/0.8 · 1000
    assert verdict.outcome == "interpolated"
    assert verdict.max_rate_slo_rps == pytest.approx(2750)
    assert (verdict.last_pass_rps, verdict.first_fail_rps, verdict.failed_on) == (2000, 3000, ("p99",))


def test_the_first_failing_step_ends_the_chain():
    verdict = max_rate_slo([ok(1000, 50), ok(2000, 150), ok(3000, 50)], SLO_MS)
    assert verdict.max_rate_slo_rps == pytest.approx(1500)  # 3000 passing again does not count
    assert verdict.first_fail_rps == 2000
    assert verdict.statement() == (
        "max_rate_slo ≈ 1,500 req/s (between 1,000 req/s and 2,000 req/s, which failed on p99)"
    )


def test_steps_are_taken_in_rate_order():
    shuffled = [ok(3000, 120), ok(1000, 20), ok(2000, 40)]
    assert max_rate_slo(shuffled, SLO_MS).max_rate_slo_rps == pytest.approx(2750)


def test_a_shortfall_in_achieved_rate_fails_and_is_interpolated():
    short = RateStep(offered_rps=2000, achieved_rps=1900, p99_ms=30, error_rate=0.0)  # 5% short: 5x the limit
    verdict = max_rate_slo([ok(1000), short], SLO_MS)
    assert verdict.failed_on == ("achieved",)
    assert verdict.max_rate_slo_rps == pytest.approx(1000 + 1 / 5 * 1000)


def test_errors_fail_and_the_earliest_crossing_of_several_criteria_wins():
    both = RateStep(offered_rps=2000, achieved_rps=2000, p99_ms=140, error_rate=0.03)
    verdict = max_rate_slo([ok(1000, 60), both], SLO_MS)
    assert verdict.failed_on == ("p99", "errors")
    # p99: 0.6 → 1.4 crosses at 1500; errors: 0 → 3 crosses at 1333.3
    assert verdict.max_rate_slo_rps == pytest.approx(1000 + 1000 / 3)


def test_limits_are_strict_for_p99_and_errors_and_inclusive_for_the_achieved_rate():
    assert failed_criteria(ok(1000, SLO_MS), SLO_MS) == ("p99",)
    assert failed_criteria(RateStep(1000, 1000, 20, 0.01), SLO_MS) == ("errors",)
    assert failed_criteria(RateStep(1000, 990, 20, 0.0), SLO_MS) == ()
    assert failed_criteria(RateStep(1000, 989.9, 20, 0.0), SLO_MS) == ("achieved",)
    assert failed_criteria(RateStep(1000, 1000, math.nan, 0.0), SLO_MS) == ("p99",)


def test_a_failing_step_with_nothing_measured_gives_the_last_passing_step():
    verdict = max_rate_slo([ok(1000), RateStep(2000, 2000, math.nan, 0.0)], SLO_MS)
    assert (verdict.outcome, verdict.max_rate_slo_rps) == ("interpolated", 1000)


def test_every_step_passing_is_censored_above_the_top_step():
    verdict = max_rate_slo([ok(1000), ok(2000), ok(4000)], SLO_MS)
    assert (verdict.outcome, verdict.max_rate_slo_rps) == ("above_top_step", 4000)
    assert "above 4,000 req/s" in verdict.statement()


def test_the_lowest_step_failing_gives_an_upper_bound():
    verdict = max_rate_slo([ok(1000, 300), ok(2000, 20)], SLO_MS)
    assert (verdict.outcome, verdict.max_rate_slo_rps, verdict.last_pass_rps) == ("below_lowest_step", 1000, None)
    assert verdict.statement() == "max_rate_slo below 1,000 req/s (the lowest step failed on p99)"


# ---- the headroom guard -------------------------------------------------------------------


def test_a_step_needing_over_70_percent_of_the_ceiling_is_not_usable():
    assert usable_limit_rps(10_000) == pytest.approx(7000)
    assert step_is_usable(7000, 10_000) and not step_is_usable(7001, 10_000)
    assert step_is_usable(1e9, None)  # no ceiling measured: no guard
    with pytest.raises(ValueError, match="ceiling_rps"):
        usable_limit_rps(0)


def test_steps_beyond_the_headroom_give_a_bound_not_a_verdict():
    # 8000 fails, but needs 80% of the 10,000 req/s ceiling: the data says only "above 6000"
    steps = [ok(2000), ok(4000), ok(6000), ok(8000, 500)]
    verdict = max_rate_slo(steps, SLO_MS, ceiling_rps=10_000)
    assert (verdict.outcome, verdict.max_rate_slo_rps) == ("above_generator_bound", 6000)
    assert verdict.usable_limit_rps == 7000
    assert "capacity above 6,000 req/s on this machine" in verdict.statement()
    # with a generator twice as fast the sweep decides: p99/slo 0.2 → 5 between 6000 and 8000
    assert max_rate_slo(steps, SLO_MS, ceiling_rps=20_000).max_rate_slo_rps == pytest.approx(6000 + 0.8 / 4.8 * 2000)


def test_a_failure_below_the_headroom_limit_still_decides():
    verdict = max_rate_slo([ok(2000, 50), ok(4000, 150), ok(8000)], SLO_MS, ceiling_rps=10_000)
    assert verdict.outcome == "interpolated" and verdict.max_rate_slo_rps == pytest.approx(3000)


def test_no_step_within_the_headroom_gives_no_verdict():
    verdict = max_rate_slo([ok(8000), ok(9000)], SLO_MS, ceiling_rps=10_000)
    assert (verdict.outcome, verdict.max_rate_slo_rps) == ("no_usable_step", None)
    assert verdict.statement().startswith("no verdict")


@pytest.mark.parametrize(("steps", "slo", "match"), [([], SLO_MS, "at least one step"), ([ok(1)], 0, "slo_p99_ms"),
                                                     ([ok(0)], SLO_MS, "positive offered rate")])
def test_bad_input_is_refused(steps, slo, match):
    with pytest.raises(ValueError, match=match):
        max_rate_slo(steps, slo)
