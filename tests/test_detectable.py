"""The detectable change of `bench ab` and `bench compare` (issue 32, item 4), on constructed runs.

What each command prints as detectable must be a change its own gate calls, 80% of the time: the
threshold and the interval condition included, and with t quantiles, not z, on the few rounds or
trials a run has. Checked by simulating runs at the printed change and applying the real gate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.compare.paired import paired_change
from harness.stats import compare_samples

LABEL = ("express", "throughput", "users=32", "rps", "req/s")
SIMULATIONS = 400  # the simulated power's standard error is then about 2 points


def _ab_power(change_pct: float, spread: float, rounds: int, direction: str, threshold_pct: float,
              monkeypatch: pytest.MonkeyPatch) -> float:
    """How often `bench ab`'s gate calls a regression when the head is change_pct worse in the figure's
    bad direction, the per-round log ratios normal with sd `spread` (the detectable change, which the
    verdict does not read, is left out to keep the simulation quick)."""
    monkeypatch.setattr("harness.compare.paired.min_detectable_pct", lambda *_: None)
    rng = np.random.default_rng(7)
    centre = math.log1p(change_pct / 100) if direction == "lower" else math.log1p(-change_pct / 100)
    base = np.full(rounds, 100.0)
    calls = [paired_change(base, base * np.exp(rng.normal(centre, spread, rounds)), direction=direction,
                           threshold_pct=threshold_pct, alpha=0.05, label=LABEL).verdict
             for _ in range(SIMULATIONS)]
    return calls.count("regression") / SIMULATIONS


def test_ab_the_issues_run_no_change_at_minus_2_65_percent_with_detectable_0_27_percent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """8 rounds, every one about 2.65% slower, threshold 3%: the gate says "no change" (the interval is
    inside 3%), so a detectable change under 3% contradicts the verdict printed beside it."""
    rng = np.random.default_rng(32)
    logs = rng.normal(math.log(1 - 0.0265), 0.003, 8)
    base = np.full(8, 1000.0)
    change = paired_change(base, base * np.exp(logs), direction="higher", threshold_pct=3.0, alpha=0.05, label=LABEL)
    assert change.verdict == "no change" and change.change_pct == pytest.approx(-2.65, abs=0.3)
    assert change.min_detectable_pct is not None and change.min_detectable_pct > 3.0
    spread = float(stats.median_abs_deviation(logs, scale="normal"))
    assert _ab_power(change.min_detectable_pct, spread, 8, "higher", 3.0, monkeypatch) >= 0.75


@pytest.mark.parametrize(("direction", "spread", "rounds", "threshold_pct"), [
    ("higher", 0.03, 8, 3.0),  # rps: a drop, the bench ab default of 8 rounds
    ("lower", 0.03, 8, 3.0),  # CPU per request: a rise
    ("lower", 0.05, 5, 0.0),  # the fewest rounds alpha 0.05 allows, no threshold
    ("higher", 0.01, 12, 5.0),  # a quiet machine: the threshold dominates
])  # fmt: skip
def test_ab_at_its_detectable_change_the_gate_calls_a_regression_about_4_times_in_5(
        direction: str, spread: float, rounds: int, threshold_pct: float, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(rounds)
    logs = rng.normal(0.0, spread, rounds)
    logs = (logs - np.median(logs)) * spread / stats.median_abs_deviation(logs, scale="normal")  # spread exactly
    base = np.full(rounds, 100.0)
    detectable = paired_change(base, base * np.exp(logs), direction=direction, threshold_pct=threshold_pct,
                               alpha=0.05, label=LABEL).min_detectable_pct
    assert detectable is not None
    power = _ab_power(detectable, spread, rounds, direction, threshold_pct, monkeypatch)
    assert 0.75 <= power <= 0.97, (detectable, power)


def _compare_power(change_pct: float, relative_sd: float, n: int, threshold_pct: float,
                   monkeypatch: pytest.MonkeyPatch) -> float:
    """How often `bench compare`'s rule calls a regression of rps when the new run is change_pct lower,
    both samples normal with sd relative_sd of the base's mean (the CI and the detectable change, which
    the verdict does not read, are left out to keep the simulation quick)."""
    monkeypatch.setattr("harness.stats.compare_tests._change_ci", lambda *_: (None, None, None))
    monkeypatch.setattr("harness.stats.compare_tests._min_detectable_pct", lambda *_: 0.0)
    rng = np.random.default_rng(11)
    sd = 100 * relative_sd
    calls = [compare_samples(rng.normal(100.0, sd, n), rng.normal(100.0 - change_pct, sd, n), higher_is_better=True,
                             threshold_pct=threshold_pct).verdict
             for _ in range(SIMULATIONS)]
    return calls.count("regression") / SIMULATIONS


@pytest.mark.parametrize(("relative_sd", "n", "threshold_pct"), [
    (0.01, 5, 5.0),  # quiet: the threshold binds, and at exactly the threshold the median clears it half the time
    (0.10, 5, 5.0),  # noisy, 5 vs 5: z quantiles promised too much here
    (0.03, 5, 5.0),  # both conditions near binding: each alone at 80% would be both at once at 72%
    (0.05, 10, 5.0),
])  # fmt: skip
def test_compare_at_its_detectable_change_the_rule_calls_a_regression_about_4_times_in_5(
        relative_sd: float, n: int, threshold_pct: float, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(n)
    noise = rng.normal(0.0, 1.0, n)
    values = 100.0 + (noise - np.median(noise)) * 100 * relative_sd / stats.median_abs_deviation(noise, scale="normal")
    detectable = compare_samples(values, values, higher_is_better=True, threshold_pct=threshold_pct).min_detectable_pct
    assert detectable is not None
    power = _compare_power(detectable, relative_sd, n, threshold_pct, monkeypatch)
    assert 0.75 <= power <= 0.97, (detectable, power)
