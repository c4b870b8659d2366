"""The paired analysis of `bench ab`: base and head of one target measured in the same rounds.

Pure functions, no I/O. Round i runs base and head back to back (B H, then H B, …), so whatever slows
the machine for a minute hits both; each round gives one ratio head/base and the analysis is on those
ratios alone (a paired design: Box, Hunter & Hunter 2005, "Statistics for Experimenters", §3.1).

A figure regresses when BOTH hold, in the figure's bad direction:
  - the exact one-sided Wilcoxon signed-rank test (Wilcoxon 1945; exact null distribution with
    midranks for ties, conditional on the ties: Hollander, Wolfe & Chicken 2014, "Nonparametric
    Statistical Methods", 3rd ed., §3.1) on the log ratios rejects "no change" at alpha;
  - the order-statistic interval of the median ratio (harness.stats.median_order_ci at confidence
    1 − 2·alpha, so each end is a one-sided bound at 1 − alpha; real coverage kept) lies wholly beyond
    the threshold: the whole interval says "slower by more than threshold_pct".
The first guards against noise, the second against a real but negligible change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from harness.stats import MWU_EFFICIENCY, median_order_ci
from harness.stats.power import SIGN_TEST_EFFICIENCY, Condition, detectable_shift

Way = Literal["higher", "lower"]
# The signed-rank test's asymptotic relative efficiency against the t test under normality is 3/π, the
# same as Mann-Whitney's (Hodges & Lehmann 1956); the minimum detectable change is widened by it.
SIGNED_RANK_EFFICIENCY = MWU_EFFICIENCY
MAX_EXACT_ROUNDS = 400  # the exact distribution is a sum over ranks: 400 paired slices take ~0.1 s


def signed_rank_p(differences: Sequence[float], alternative: Literal["greater", "less"]) -> float:
    """Exact one-sided p of the Wilcoxon signed-rank test of "the differences are centred on 0".

    Zero differences are dropped (Wilcoxon's original treatment); tied |d| get their midrank, and
    the null distribution is that of the observed ranks under random signs, counted exactly over all
    2^n sign patterns by dynamic programming on doubled (integer) ranks. "greater": small p when the
    differences are mostly positive. 1.0 with no non-zero difference. At most MAX_EXACT_ROUNDS values.
    """
    d = np.asarray(differences, dtype=float)
    if not np.all(np.isfinite(d)):
        raise ValueError(f"signed_rank_p: non-finite differences {d.tolist()}")
    d = d[d != 0.0]
    n = len(d)
    if n == 0:
        return 1.0
    if n > MAX_EXACT_ROUNDS:
        raise ValueError(f"signed_rank_p is exact, for at most {MAX_EXACT_ROUNDS} values; got {n}")
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(int)  # midranks are multiples of ½
    counts = np.zeros(int(doubled.sum()) + 1, dtype=float)
    counts[0] = 1.0
    for rank in doubled:  # number of sign patterns giving each positive-rank sum
        shifted = np.zeros_like(counts)
        shifted[rank:] = counts[:-rank]
        counts = counts + shifted
    observed = int(doubled[d > 0].sum())
    tail = counts[observed:].sum() if alternative == "greater" else counts[: observed + 1].sum()
    return float(tail / 2.0**n)


def min_rounds_for_alpha(alpha: float) -> int:
    """The fewest non-zero rounds whose exact one-sided signed-rank test can reach p < alpha: the smallest
    p is 2^-n (every sign the same), so n > log2(1/alpha); 5 rounds for alpha = 0.05."""
    return math.floor(math.log2(1 / alpha)) + 1


def min_detectable_pct(log_ratios: Sequence[float], alpha: float, threshold_pct: float,
                       direction: Way) -> float | None:
    """The smallest change (percent, in the figure's bad direction: a rise of latency, a fall of rps) at
    which the product of the probabilities of the gate's two conditions is 80%, by
    harness.stats.power.detectable_shift (the function `bench compare` uses), on the log ratios:
      - the one-sided signed-rank test at alpha: se = s / √n / √(3/π), widened by the test's efficiency
        against the t test (Hodges & Lehmann 1956);
      - the interval's near end beyond the threshold: the order-statistic interval of median_order_ci at
        1 − 2·alpha, each end a one-sided bound at (1 − its real coverage) / 2, past log(1 + threshold)
        (a rise) or −log(1 − threshold) (a fall); se = s / √n / √(2/π), the median's efficiency.
    s is the robust spread of the per-round log ratios (MAD × 1.4826: Rousseeuw & Croux 1993), and the
    quantiles Student's (noncentral) t on n − 1 degrees of freedom. None when n is below
    min_rounds_for_alpha (no change at all can be detected), or for a fall of threshold_pct >= 100.
    """
    x = np.asarray(log_ratios, dtype=float)
    n = len(x)
    if n < min_rounds_for_alpha(alpha) or (direction == "higher" and threshold_pct >= 100):
        return None
    spread = float(stats.median_abs_deviation(x, scale="normal"))
    margin = math.log1p(threshold_pct / 100) if direction == "lower" else -math.log1p(-threshold_pct / 100)
    bound_level = (1 - median_order_ci(range(n), 1 - 2 * alpha).coverage) / 2
    shift = detectable_shift([Condition(se=spread / math.sqrt(n * SIGNED_RANK_EFFICIENCY), level=alpha),
                              Condition(se=spread / math.sqrt(n * SIGN_TEST_EFFICIENCY), level=bound_level,
                                        margin=margin)], df=n - 1)
    return 100.0 * (math.expm1(shift) if direction == "lower" else -math.expm1(-shift))


@dataclass(frozen=True)
class PairedChange:
    """One gated figure of one target: head against base over the same rounds."""

    target: str
    scenario: str
    step: str
    metric: str
    unit: str
    direction: Way
    rounds: int
    base_median: float
    head_median: float
    ratio: float | None  # median of the per-round ratios head/base
    ci_low: float | None  # the order-statistic interval of that median, at confidence 1 − 2·alpha
    ci_high: float | None
    ci_coverage: float | None  # its real two-sided coverage
    p_value: float | None  # exact one-sided signed-rank p, in the bad direction
    min_detectable_pct: float | None
    verdict: str  # "regression" | "improvement" | "no change" | "too few rounds"
    ratios: tuple[float, ...] = ()
    counted: str = "round"  # what `rounds` counts: "round" (a trial of each side) or "pair" (of slices)

    @property
    def change_pct(self) -> float | None:
        return None if self.ratio is None else (self.ratio - 1.0) * 100.0


def paired_change(base: Sequence[float], head: Sequence[float], *, direction: Way, threshold_pct: float,
                  alpha: float, label: tuple[str, str, str, str, str], counted: str = "round") -> PairedChange:
    """Judge head against base, round by round (see the module's rule). base[i] and head[i] are round i.
    label: (target, scenario, step, metric, unit); counted: what a round is ("round", or "pair" of slices).
    Raises ValueError on unequal lengths or a zero base."""
    b, h = np.asarray(base, dtype=float), np.asarray(head, dtype=float)
    if len(b) != len(h):
        raise ValueError(f"paired_change needs one value of each side per round: {len(b)} != {len(h)}")
    if np.any(b <= 0) or np.any(h < 0) or not np.all(np.isfinite(h)):
        raise ValueError("paired_change needs positive base values and finite head values >= 0 (a ratio per round)")
    n = len(b)
    common = {**dict(zip(("target", "scenario", "step", "metric", "unit"), label, strict=True)), "counted": counted}
    medians = {"base_median": float(np.median(b)) if n else math.nan,
               "head_median": float(np.median(h)) if n else math.nan}
    if n < min_rounds_for_alpha(alpha):
        ratio = float(np.median(h / b)) if n else None
        return PairedChange(**common, direction=direction, rounds=n, **medians, ratio=ratio, ci_low=None,
                            ci_high=None, ci_coverage=None, p_value=None, min_detectable_pct=None,
                            verdict="too few rounds", ratios=tuple((h / b).tolist()))
    ratios = h / b
    logs = _finite_logs(ratios)
    interval = median_order_ci(ratios, 1 - 2 * alpha)
    worse = "greater" if direction == "lower" else "less"
    better = "less" if worse == "greater" else "greater"
    p_worse, p_better = signed_rank_p(logs, worse), signed_rank_p(logs, better)
    verdict = _verdict(interval.low, interval.high, p_worse, p_better, direction, threshold_pct, alpha)
    return PairedChange(**common, direction=direction, rounds=n, **medians, ratio=float(np.median(ratios)),
                        ci_low=interval.low, ci_high=interval.high, ci_coverage=interval.coverage,
                        p_value=p_worse, min_detectable_pct=min_detectable_pct(logs, alpha, threshold_pct, direction),
                        verdict=verdict,
                        ratios=tuple(ratios.tolist()))


def _finite_logs(ratios: np.ndarray) -> np.ndarray:
    """log(ratio), a ratio of 0 (a head that answered nothing) put beyond every other round's log ratio:
    the signed-rank test needs only the order of |log ratio|, and -inf would have none."""
    zero = ratios == 0.0
    logs = np.log(np.where(zero, 1.0, ratios))
    floor = -(float(np.max(np.abs(logs))) + 1.0)
    return np.where(zero, floor, logs)


def _verdict(low: float, high: float, p_worse: float, p_better: float, direction: Way, threshold_pct: float,
             alpha: float) -> str:
    """Both the test and the interval must agree (module docstring); an improvement is judged alike."""
    up, down = 1 + threshold_pct / 100, 1 - threshold_pct / 100
    slower = low > up if direction == "lower" else high < down  # the whole interval on the bad side
    faster = high < down if direction == "lower" else low > up
    if slower and p_worse < alpha:
        return "regression"
    if faster and p_better < alpha:
        return "improvement"
    return "no change"
