"""Statistics for benchmark results: small, typed, pure functions (no I/O), each citing its method.

Everything random is seeded (`np.random.default_rng(0)`, a fresh generator per call), so the same
input always gives the same output, whatever was computed before.

Methods:
  estimate                   median with the exact order-statistic CI of median_order_ci, with its real
                             coverage (75% for 3 trials, 93.75% for 5, 96.9% for 6)
  paired_ratio_estimate      median of per-round ratios a_i/b_i with the order-statistic CI of that median
                             (a paired design: Box, Hunter & Hunter 2005, §3.1; Conover 1999, §3.2)
  ratio_estimate             ratio of medians with a two-sample percentile bootstrap CI (Efron & Tibshirani
                             1993, ch. 13); nominal coverage, short of it for small samples
  linear_slope               ordinary least squares (scipy.stats.linregress)
  usl_fit                    Gunther's Universal Scalability Law (Gunther 1993, 2007)
  knee_point                 Kneedle (Satopää, Albrecht, Irwin & Raghavan 2011)
  max_under_slo              highest step of an unbroken chain of steps meeting the SLO
  slo_crossing               where p99 reaches the SLO, on a closed system's asymptotic bound
                             (Lazowska et al. 1984, ch. 5); above the top step: censored
  compare_samples            two-sided Mann-Whitney U (Mann & Whitney 1947) AND a relative threshold,
                             the rule airspeed velocity (asv) uses to flag regressions
  mann_whitney_p             exact permutation p of Mann-Whitney U with midranks for ties (shift
                             algorithm, Streitberg & Röhmel 1986); normal approximation for large samples
  min_trials_for_alpha       smallest n per side an exact Mann-Whitney test needs to reach p < alpha
  median_order_ci            exact distribution-free CI of the median from order statistics (binomial;
                             Conover 1999, §3.2; Hahn & Meeker 1991, ch. 5), with its real coverage
  bounded_median_ci          median_order_ci of values known only within bounds (censored or stepped):
                             [low_(k), high_(n+1−k)], at least the same coverage (order statistics are monotone)
  round_ratio_bounds         per-round ratios a_i/b_i with the bounds [a_low/b_high, a_high/b_low]
  joint_coverage, joint_tail how often independent intervals all hold (product of coverages), and how often
                             one misses on its side (the level of a non-overlap test: Schenker & Gentleman 2001)
  sequential.design          stop when decided: looks fixed in advance, each with the same wider order-statistic
                             interval of the median, all holding together with an exact probability (Pocock
                             1977's constant level; Armitage, McPherson & Rowe 1969 on repeated looks)
  detectable_shift           the smallest change a gate (`bench compare`, `bench ab`) calls about 80% of the
                             time: its conditions' noncentral-t powers (Owen 1965) multiplied (Harris 1960)

Modules: estimates.py, bounded.py, fits.py, sweeps.py, compare_tests.py, power.py; thresholds and shared helpers
in _common.py.
Every public name is re-exported here, so `from harness.stats import X` keeps working.
"""

from harness.stats._common import (
    BOOTSTRAP_RESAMPLES,
    KNEEDLE_SENSITIVITY,
    LITTLE_TOLERANCE,
    MWU_EFFICIENCY,
    NOISY_CV,
    POWER,
    FloatArray,
)
from harness.stats.bounded import BoundedMedian, bounded_median_ci, joint_coverage, joint_tail, round_ratio_bounds
from harness.stats.compare_tests import (
    MWU_EXACT_MAX_N,
    Comparison,
    compare_samples,
    mann_whitney_p,
    min_trials_for_alpha,
)
from harness.stats.estimates import (
    Estimate,
    OrderInterval,
    Ratio,
    coverage_label,
    estimate,
    median_order_ci,
    paired_ratio_estimate,
    ratio_estimate,
)
from harness.stats.fits import UslFit, knee_point, linear_slope, usl_fit
from harness.stats.power import Condition, detectable_shift
from harness.stats.sweeps import SloCrossing, max_under_slo, slo_crossing

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "KNEEDLE_SENSITIVITY",
    "LITTLE_TOLERANCE",
    "MWU_EFFICIENCY",
    "MWU_EXACT_MAX_N",
    "NOISY_CV",
    "POWER",
    "BoundedMedian",
    "Comparison",
    "Condition",
    "Estimate",
    "FloatArray",
    "OrderInterval",
    "Ratio",
    "SloCrossing",
    "UslFit",
    "bounded_median_ci",
    "compare_samples",
    "coverage_label",
    "detectable_shift",
    "estimate",
    "joint_coverage",
    "joint_tail",
    "knee_point",
    "linear_slope",
    "mann_whitney_p",
    "max_under_slo",
    "median_order_ci",
    "min_trials_for_alpha",
    "paired_ratio_estimate",
    "ratio_estimate",
    "round_ratio_bounds",
    "slo_crossing",
    "usl_fit",
]
