"""The detectable change of a gate: detectable_shift, one function for `bench compare` and `bench ab`.

A gate calls a regression when every one of its conditions holds on the run's estimate of the change:
a test of "no change" (`bench compare`: Mann-Whitney; `bench ab`: the signed-rank test) and a
threshold, cleared by the estimate itself (`bench compare`) or by the near end of its interval
(`bench ab`). Each condition reads θ̂ − c·se > margin, c the t quantile of its level (0 for the
estimate itself), and holds with probability P(T'(ν, (θ − margin)/se) > c), T' the noncentral t of
Student's statistic (Owen 1965, "A special case of a bivariate non-central t-distribution",
Biometrika 52; the power computation of Cohen 1988, ch. 2). A margin other than 0 is the test of a
change beyond a margin, whose sample size is that of the plain test with θ − margin in place of θ
(Chow, Shao & Wang 2008, "Sample Size Calculations in Clinical Research", 2nd ed., §3.1-3.2). The
detectable change is where the product of the conditions' probabilities reaches 80%, which the
gate's call, all of them at once, then reaches too (Harris's inequality, see detectable_shift).

t, not the normal quantiles: with 5 trials a side (ν = 8) the normal formula, (z(1−α/2) + z(0.8)) · se,
is 2.80 se where the t test needs 3.20 se: it promised changes 14% smaller than the test can see.
The rank tests and the median are costed by their efficiency against the t test under normality,
their se widened by 1/√efficiency (Pitman efficiency: 3/π for the signed-rank and Mann-Whitney tests,
Hodges & Lehmann 1956; 2/π for the sign test and so for the median and its order-statistic interval,
Conover 1999, "Practical Nonparametric Statistics", §3.2). How often each gate really calls its printed
change is checked by simulating runs and applying the gate (tests/test_detectable.py): 77-89%.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import optimize, stats

from harness.stats._common import POWER

SIGN_TEST_EFFICIENCY = 2 / math.pi  # of the median (and the sign test) against the mean (t test), normal data


@dataclass(frozen=True)
class Condition:
    """One condition of a gate's call on an estimate θ̂ of the change, in the gate's bad direction:
    θ̂ − t(1 − level, ν) · se > margin, a one-sided test or interval end at `level`; with level None,
    θ̂ > margin (the estimate itself). se: the estimate's standard error, widened by the efficiency of
    the statistic the condition really reads."""

    se: float
    level: float | None
    margin: float = 0.0


@functools.lru_cache(maxsize=1024)  # a comparison asks for the same few (critical, df) on every row
def noncentrality(critical: float, df: float, power: float = POWER) -> float:
    """λ such that P(T'(df, λ) > critical) = power, T' noncentral t (Owen 1965); with critical 0 it is
    the normal quantile z(power), whatever df."""
    if critical == 0.0:
        return float(stats.norm.ppf(power))
    return float(optimize.brentq(lambda nc: stats.nct.sf(critical, df, nc) - power, critical - 10.0, critical + 40.0))


def _critical(condition: Condition, df: float) -> float:
    return 0.0 if condition.level is None else _t_quantile(1 - condition.level, df)


@functools.lru_cache(maxsize=1024)
def _t_quantile(q: float, df: float) -> float:
    return float(stats.t.ppf(q, df))


def condition_power(condition: Condition, shift: float, df: float) -> float:
    """P(the condition holds) when the true change is `shift`: P(T'(df, (shift − margin)/se) > t(1 − level, df)),
    or Φ((shift − margin)/se) for the estimate itself."""
    centre = (shift - condition.margin) / condition.se
    if condition.level is None:
        return float(stats.norm.cdf(centre))
    critical = _critical(condition, df)
    if abs(centre - critical) > 1e3:  # sure either way; scipy's noncentral t gives NaN that far out
        return 1.0 if centre > critical else 0.0
    return float(stats.nct.sf(critical, df, centre))


def detectable_shift(conditions: Sequence[Condition], df: float, power: float = POWER) -> float:
    """The smallest true change θ (in the units of se and margin) at which the product of the conditions'
    probabilities (condition_power) is `power`. Every condition is an increasing event of the data (a
    worse value anywhere makes it no less likely), so by Harris's inequality (Harris 1960, "A lower bound
    for the critical probability in a certain percolation process", Proc. Cambridge Philos. Soc. 56) they
    hold all at once at least that often: were the data normal with the run's spread and each condition's
    probability exact, the gate would call a change of θ at least `power` of the time. The rank statistics
    are costed by their asymptotic efficiency, which small samples do not quite reach: simulated, the
    gates call their printed change 77-89% of the time (tests/test_detectable.py). df: the degrees of
    freedom of the spread (n − 1 for n paired rounds, n1 + n2 − 2 for two samples). With one condition:
    margin + λ · se, λ = noncentrality."""
    if not conditions or df <= 0:
        raise ValueError(f"detectable_shift needs at least one condition and df > 0, got {len(conditions)}, {df}")
    if any(not (math.isfinite(c.se) and c.se >= 0) for c in conditions):
        raise ValueError(f"detectable_shift needs finite standard errors >= 0, got {[c.se for c in conditions]}")
    # where each condition alone reaches `power`: the product cannot before the largest of these
    low = max(c.margin + noncentrality(_critical(c, df), df, power) * c.se for c in conditions)
    spread = [c for c in conditions if c.se > 0]
    if not spread:
        return low

    def joint(shift: float) -> float:
        return math.prod(condition_power(c, shift, df) for c in spread) - power

    at_low = joint(low)
    if at_low >= -1e-9:  # the other conditions are (all but) sure there
        return low
    step = max(c.se for c in spread)
    high = low + step
    while joint(high) < 0:
        high += step
    return float(optimize.brentq(joint, low, high))
