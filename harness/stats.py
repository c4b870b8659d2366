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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import optimize, stats

NOISY_CV = 0.10  # a coefficient of variation above this marks an estimate as noisy
LITTLE_TOLERANCE = 0.20  # a relative Little's-law error above this means the measurements disagree
KNEEDLE_SENSITIVITY = 1.0  # Kneedle's S; the paper recommends S = 1 for offline data
BOOTSTRAP_RESAMPLES = 9999  # scipy's default
POWER = 0.80  # the power at which min_detectable_pct is computed (Cohen 1988's conventional 80%)
# asymptotic relative efficiency of Mann-Whitney vs the t test under normality (Hodges & Lehmann 1956)
MWU_EFFICIENCY = 3 / math.pi

FloatArray = np.ndarray


def _array(values: Sequence[float], name: str) -> FloatArray:
    """A 1-D float array of finite values; ValueError otherwise."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains non-finite values: {array.tolist()}")
    return array


def _check_level(value: float, name: str) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _median(x: FloatArray, axis: int = -1) -> FloatArray:
    return np.median(x, axis=axis)


def _percentile_ci(samples: tuple[FloatArray, ...], statistic: Callable[..., FloatArray],
                   confidence: float) -> tuple[float, float]:
    """Percentile bootstrap CI (Efron & Tibshirani 1993, §13.3) via scipy.stats.bootstrap.

    Each sample is resampled independently (paired=False). The percentile method, not BCa: BCa's
    acceleration comes from the jackknife, which is inconsistent for the median (Efron & Tibshirani
    1993, §11.6), and with the 3-10 trials a benchmark has, scipy's BCa often degenerates to NaN.
    """
    result = stats.bootstrap(samples, statistic, n_resamples=BOOTSTRAP_RESAMPLES, vectorized=True,
                             paired=False, confidence_level=confidence, method="percentile", rng=_rng())
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass(frozen=True)
class Estimate:
    """The median of one metric across trials, with its order-statistic CI, that CI's coverage and the CV."""

    n: int
    median: float
    ci_low: float | None  # order-statistic CI of the median (median_order_ci); None if n < 3
    ci_high: float | None
    cv: float | None  # sample stdev (ddof=1) / |mean|; None if n < 2 or mean == 0
    ci_coverage: float | None = None  # the CI's real coverage, e.g. 0.75 for 3 trials; None without a CI

    @property
    def noisy(self) -> bool:
        return self.cv is not None and self.cv > NOISY_CV


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Median, the exact order-statistic CI of the median (median_order_ci: Conover 1999, §3.2) with its
    real coverage, and the coefficient of variation.

    The CI is the narrowest order-statistic interval reaching `confidence`, else [min, max], whose
    coverage is then below it (75% for 3 values, 93.75% for 5): ci_coverage says which. A percentile
    bootstrap of the median of 3 values is [min, max] too, labelled 95% while it covers 75%. The CI is
    None with fewer than 3 values. The CV divides by |mean| so that it stays a non-negative spread for
    negative-valued metrics. Raises ValueError for no values or non-finite values.
    """
    _check_level(confidence, "confidence")
    x = _array(values, "values")
    n = len(x)
    if n == 0:
        raise ValueError("estimate needs at least one value")
    median = float(np.median(x))
    ci_low: float | None = None
    ci_high: float | None = None
    coverage: float | None = None
    if n >= 3:
        interval = median_order_ci(x, confidence)
        ci_low, ci_high, coverage = interval.low, interval.high, interval.coverage
    cv: float | None = None
    mean = float(np.mean(x))
    if n >= 2 and mean != 0.0:
        cv = float(np.std(x, ddof=1)) / abs(mean)
    return Estimate(n=n, median=median, ci_low=ci_low, ci_high=ci_high, cv=cv, ci_coverage=coverage)


@dataclass(frozen=True)
class Ratio:
    """A ratio a/b with its CI (None with fewer than 3 values or rounds): the ratio of medians with a
    percentile-bootstrap CI (ratio_estimate), or the median of per-round ratios (paired_ratio_estimate)."""

    value: float
    ci_low: float | None
    ci_high: float | None
    ci_coverage: float | None = None  # the CI's real coverage when known (paired); None for the bootstrap
    rounds: int = 0  # the number of paired rounds; 0 for the two-sample ratio of medians


def _ratio_of_medians(a: FloatArray, b: FloatArray, axis: int = -1) -> FloatArray:
    return np.median(a, axis=axis) / np.median(b, axis=axis)


def ratio_estimate(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Ratio:
    """median(a) / median(b) with a percentile-bootstrap CI, resampling a and b independently
    (two-sample bootstrap, Efron & Tibshirani 1993, §8.3). E.g. Express rps / FastAPI rps within one run.

    Raises ValueError if either sample is empty or median(b) == 0.
    """
    _check_level(confidence, "confidence")
    xa, xb = _array(a, "a"), _array(b, "b")
    if len(xa) == 0 or len(xb) == 0:
        raise ValueError("ratio_estimate needs at least one value on each side")
    median_b = float(np.median(xb))
    if median_b == 0.0:
        raise ValueError("ratio_estimate: median of b is 0, the ratio is undefined")
    value = float(np.median(xa)) / median_b
    if len(xa) < 3 or len(xb) < 3:
        return Ratio(value=value, ci_low=None, ci_high=None)
    if np.any(xb == 0.0) and not np.all(xb == xb[0]):
        # a resample of b could have median 0; refuse rather than return an infinite bound
        raise ValueError("ratio_estimate: b contains zeros, a bootstrap resample's median could be 0")
    if np.all(xa == xa[0]) and np.all(xb == xb[0]):
        return Ratio(value=value, ci_low=value, ci_high=value)
    low, high = _percentile_ci((xa, xb), _ratio_of_medians, confidence)
    return Ratio(value=value, ci_low=low, ci_high=high)


def paired_ratio_estimate(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Ratio:
    """The median of the per-round ratios a_i / b_i, with the order-statistic CI of that median
    (median_order_ci) and its real coverage. Round i is trial i of each target, run back to back.

    Pairing the trials of one round cancels what a round shares (a slow minute on a shared machine hits
    both targets), as a paired comparison does (Box, Hunter & Hunter 2005, "Statistics for
    Experimenters", 2nd ed., §3.1); the interval is then exact and distribution-free for the median
    ratio (Conover 1999, §3.2), with no resampling. The CI is None with fewer than 3 rounds.
    Raises ValueError for unequal lengths, no rounds, non-finite values or a zero in b.
    """
    _check_level(confidence, "confidence")
    xa, xb = _array(a, "a"), _array(b, "b")
    if len(xa) != len(xb):
        raise ValueError(f"paired_ratio_estimate needs one value of each side per round: {len(xa)} != {len(xb)}")
    if len(xa) == 0:
        raise ValueError("paired_ratio_estimate needs at least one round")
    if np.any(xb == 0.0):
        raise ValueError("paired_ratio_estimate: b contains zeros, a round's ratio is undefined")
    ratios = xa / xb
    value = float(np.median(ratios))
    if len(ratios) < 3:
        return Ratio(value=value, ci_low=None, ci_high=None, rounds=len(ratios))
    interval = median_order_ci(ratios, confidence)
    return Ratio(value=value, ci_low=interval.low, ci_high=interval.high, ci_coverage=interval.coverage,
                 rounds=len(ratios))


def coverage_label(coverage: float | None) -> str:
    """"94% CI" for a coverage of 0.9375, "75% CI" for 0.75: the real coverage to the nearest whole
    percent, except that it never rounds up onto a conventional level (0.949 is "94% CI", not "95% CI");
    "CI" when the coverage is unknown."""
    if coverage is None:
        return "CI"
    pct = round(coverage * 100)
    if pct > coverage * 100 + 1e-9 and pct % 5 == 0:
        pct -= 1
    return f"{pct}% CI"


def linear_slope(t: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(slope of y per unit of t, r²) of an ordinary least-squares line, via scipy.stats.linregress.

    For rss_slope_mb_per_min pass t in minutes. With constant y the line fits exactly: slope 0, r² 1
    (linregress reports r as NaN there). Raises ValueError for fewer than 2 points, unequal lengths
    or all-identical t.
    """
    xt, xy = _array(t, "t"), _array(y, "y")
    if len(xt) != len(xy):
        raise ValueError(f"t and y differ in length: {len(xt)} != {len(xy)}")
    if len(xt) < 2:
        raise ValueError("linear_slope needs at least 2 points")
    result = stats.linregress(xt, xy)
    if np.all(xy == xy[0]):
        return 0.0, 1.0
    return float(result.slope), float(result.rvalue) ** 2


@dataclass(frozen=True)
class UslFit:
    """Gunther's Universal Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted to (N, X)."""

    lambda_: float  # throughput of one user (N = 1) without contention
    sigma: float  # contention (serial fraction), 0 <= σ <= 1
    kappa: float  # coherency (crosstalk) cost, κ >= 0
    r2: float  # coefficient of determination of the fit on X
    n_peak: float  # N of maximum throughput, sqrt((1 − σ)/κ); inf when κ == 0


def _usl(n: FloatArray, lambda_: float, sigma: float, kappa: float) -> FloatArray:
    return lambda_ * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def _r2(observed: FloatArray, fitted: FloatArray) -> float:
    """Coefficient of determination 1 − SS_res/SS_tot. For constant data (0/0): 1 for an exact fit
    (to rounding), else 0."""
    residual = float(np.sum((observed - fitted) ** 2))
    total = float(np.sum((observed - np.mean(observed)) ** 2))
    if total > 0:
        return 1.0 - residual / total
    return 1.0 if residual <= 1e-12 * float(np.sum(observed**2)) else 0.0


def usl_fit(n: Sequence[float], x: Sequence[float]) -> UslFit | None:
    """Fit Gunther's Universal Scalability Law (Gunther 1993; "Guerrilla Capacity Planning", 2007)
    by bounded non-linear least squares (scipy.optimize.curve_fit, trust-region reflective).

    Bounds: λ > 0, 0 <= σ <= 1 (σ is a fraction of serialised work), κ >= 0.
    Returns None with fewer than 3 distinct N (three parameters), or if the fit fails or is not finite.
    """
    xn, xx = _array(n, "n"), _array(x, "x")
    if len(xn) != len(xx):
        raise ValueError(f"n and x differ in length: {len(xn)} != {len(xx)}")
    if len(np.unique(xn)) < 3:
        return None
    if np.any(xn <= 0):
        raise ValueError(f"n must be positive, got {xn.tolist()}")
    lambda0 = max(float(np.max(xx / xn)), 1e-12)  # the best per-user throughput seen
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)  # covariance not estimable: fine, unused
            params, _ = optimize.curve_fit(_usl, xn, xx, p0=[lambda0, 0.01, 1e-4],
                                           bounds=([1e-12, 0.0, 0.0], [np.inf, 1.0, np.inf]),
                                           x_scale="jac", max_nfev=10_000)
    except (RuntimeError, ValueError):
        return None
    lambda_, sigma, kappa = (float(p) for p in params)
    if not all(math.isfinite(p) for p in (lambda_, sigma, kappa)):
        return None
    r2 = _r2(xx, _usl(xn, lambda_, sigma, kappa))
    n_peak = math.sqrt((1.0 - sigma) / kappa) if kappa > 0 else math.inf
    return UslFit(lambda_=lambda_, sigma=sigma, kappa=kappa, r2=r2, n_peak=n_peak)


def knee_point(n: Sequence[float], x: Sequence[float]) -> float | None:
    """The knee of a concave increasing throughput curve, by Kneedle (Satopää et al. 2011, offline, S = 1).

    N is taken as log2(N) (steps double, so points become evenly spaced), both axes are normalised to
    [0, 1], and the difference curve D = x_norm − n_norm is scanned: a local maximum of D is a knee if D
    then falls below the threshold D_max − S · mean(Δn_norm) before the next local maximum. The first
    such knee is returned, as an N value from the input. The paper's smoothing step is skipped (a
    benchmark has a handful of steps, each already a median). None with fewer than 3 points, constant x,
    or no knee (a straight or convex curve never drops below the threshold).
    """
    xn, xx = _array(n, "n"), _array(x, "x")
    if len(xn) != len(xx):
        raise ValueError(f"n and x differ in length: {len(xn)} != {len(xx)}")
    if np.any(xn <= 0):
        raise ValueError(f"n must be positive, got {xn.tolist()}")
    order = np.argsort(xn)
    xn, xx = xn[order], xx[order]
    if len(np.unique(xn)) != len(xn):
        raise ValueError(f"n has repeated values: {xn.tolist()}")
    if len(xn) < 3 or np.ptp(xx) == 0:
        return None
    log_n = np.log2(xn)
    n_norm = (log_n - log_n[0]) / (log_n[-1] - log_n[0])
    x_norm = (xx - np.min(xx)) / np.ptp(xx)
    diff = x_norm - n_norm
    maxima = [i for i in range(1, len(diff) - 1) if diff[i] > diff[i - 1] and diff[i] >= diff[i + 1]]
    step = float(np.mean(np.diff(n_norm)))
    for k, i in enumerate(maxima):
        threshold = diff[i] - KNEEDLE_SENSITIVITY * step
        stop = maxima[k + 1] if k + 1 < len(maxima) else len(diff)
        if np.any(diff[i + 1:stop] < threshold):
            return float(xn[i])
    return None


def max_under_slo(steps: Sequence[float], p99_ms: Sequence[float], error_rate: Sequence[float],
                  p99_limit_ms: float, max_error_rate: float = 0.01) -> float | None:
    """The highest step s such that s and every lower step meet p99 < p99_limit_ms and
    error_rate < max_error_rate (both strict).

    Steps are taken in increasing order and the first failing step ends the chain: once a server fails
    at some concurrency, a higher step that happens to pass does not count. None if the lowest step fails
    (or there are no steps).
    """
    xs, xp, xe = _array(steps, "steps"), np.asarray(p99_ms, dtype=float), np.asarray(error_rate, dtype=float)
    if not len(xs) == len(xp) == len(xe):
        raise ValueError(f"steps, p99_ms and error_rate differ in length: {len(xs)}, {len(xp)}, {len(xe)}")
    best: float | None = None
    for i in np.argsort(xs, kind="stable"):
        # NaN (a step with no measurement) fails both comparisons, so it breaks the chain
        if not (xp[i] < p99_limit_ms and xe[i] < max_error_rate):
            break
        best = float(xs[i])
    return best


@dataclass(frozen=True)
class SloCrossing:
    """Where p99 reaches the SLO limit, in users (see slo_crossing)."""

    users: float  # the crossing; when censored, the top step, a lower bound of it
    censored: bool  # every step passed: the crossing lies above the top step (right-censored)


def slo_crossing(steps: Sequence[float], p99_ms: Sequence[float], error_rate: Sequence[float],
                 p99_limit_ms: float, max_error_rate: float = 0.01) -> SloCrossing | None:
    """Where p99 latency reaches the limit, in users, for a closed load with zero think time.

    The chain of max_under_slo gives the last passing step s0 (p99 p0 < limit L); the next step s1
    fails (p1 >= L). Between them the rule follows the asymptotic bounds of a closed system
    (Lazowska, Zahorjan, Graham & Sevcik 1984, "Quantitative System Performance", ch. 5; Jain 1991,
    ch. 33): R(N) >= max(D, N·D_max − Z), so with think time Z = 0 the response time is flat before
    saturation and then grows in proportion to N (R = N/X_max, the line through the origin). In a
    saturated closed loop each request waits behind the other N − 1, so p99 follows the same line.
    The crossing is therefore s1·L/p1, where the line through the origin and the failing step reaches
    L: exact for p99 = c·N and for p99 = max(flat, c·N), wherever saturation falls between the steps.
    If p0 lies below that line (p99 growing faster than N between the steps, e.g. throughput falling
    past its peak), the line would cross below s0, which passed; the chord from (s0, p0) to (s1, p1),
    linear in users, is used instead. The rule takes the larger of the two, always within (s0, s1].
    (Interpolating in log2(users) instead bends the line: for p99 = c·N on steps 8/64/512 it
    gives 95 users for a true 150.)

    When every step passes, the crossing is above the top step: SloCrossing(top step, censored=True),
    a lower bound, so that a caller keeps the trial instead of dropping it. None if the lowest step
    fails, or if the failing step failed on errors rather than latency.
    """
    xs = _array(steps, "steps")
    order = np.argsort(xs, kind="stable")
    xs, xp, xe = xs[order], np.asarray(p99_ms, dtype=float)[order], np.asarray(error_rate, dtype=float)[order]
    last = max_under_slo(xs, xp, xe, p99_limit_ms, max_error_rate)
    if last is None:
        return None
    k = int(np.searchsorted(xs, last))
    if k + 1 >= len(xs):
        return SloCrossing(users=float(xs[-1]), censored=True)
    # NaN p99 (a step without measurement) fails the comparison
    if not xe[k + 1] < max_error_rate or not xp[k + 1] > xp[k]:
        return None
    (s0, p0), (s1, p1) = (xs[k], xp[k]), (xs[k + 1], xp[k + 1])
    on_asymptote = s1 * p99_limit_ms / p1
    chord = s0 + (p99_limit_ms - p0) / (p1 - p0) * (s1 - s0)
    return SloCrossing(users=float(max(on_asymptote, chord)), censored=False)


def _min_mwu_p(n1: int, n2: int) -> float:
    """The smallest two-sided p an exact Mann-Whitney test can give for sample sizes n1, n2.

    It is reached when the samples do not overlap: 2 of the C(n1+n2, n1) equally likely rank
    arrangements under H0 are that extreme (one per tail), so p_min = 2 / C(n1+n2, n1) (Mann & Whitney 1947).
    """
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


MWU_EXACT_MAX_N = 100  # pooled sizes up to this get the exact p (counted in well under a second)


def _rank_sum_counts(scores: FloatArray, n1: int) -> FloatArray:
    """counts[s]: how many of the C(N, n1) subsets of size n1 of the N integer scores sum to s.

    The shift algorithm (Streitberg & Röhmel 1986): add one score at a time, and a subset of size k
    summing to s either leaves it out or extends a subset of size k − 1 summing to s − score. Counts are
    floats: C(100, 50) ≈ 1e29 fits, and p is a ratio of counts, so the rounding is relative (1e-16).
    """
    total = int(scores.sum())
    counts = np.zeros((n1 + 1, total + 1))
    counts[0, 0] = 1.0
    for i, score in enumerate(int(s) for s in scores):
        for k in range(min(i + 1, n1), 0, -1):  # downwards: each score is used at most once per subset
            counts[k, score:] += counts[k - 1, : total + 1 - score]
    return counts[n1]


def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p of the Mann-Whitney U test (Mann & Whitney 1947), exact for small samples, ties or not.

    Exact (pooled n1 + n2 <= MWU_EXACT_MAX_N): the permutation distribution of the rank sum of the
    smaller sample, with midranks for ties (the conditional test given the ties; Lehmann 1975, "Nonparametrics", ch. 1),
    counted over all C(n1 + n2, n1) equally likely splits of the pooled values by the shift algorithm
    (Streitberg & Röhmel 1986, see _rank_sum_counts; midranks are doubled to integers). The two-sided
    p is min(1, 2 · min(P(W <= w), P(W >= w))), the convention of scipy.stats.permutation_test and of
    scipy.stats.mannwhitneyu(method="exact"). It equals mannwhitneyu(method="exact") without ties and
    mannwhitneyu(method=PermutationMethod(n_resamples=np.inf)) with ties (tests/test_stats.py checks
    both), but counts instead of enumerating: 10 vs 10 takes milliseconds, not seconds. scipy's default
    method falls back to the normal approximation as soon as there is a tie, whose p can fall below
    the exact test's smallest possible p, 2 / C(n1 + n2, n1) ([8]*4 vs [16]*4: 0.013 < 2/70 = 0.0286).
    Larger samples: scipy's normal approximation with tie and continuity corrections.
    """
    xx, xy = _array(x, "x"), _array(y, "y")
    if len(xx) == 0 or len(xy) == 0:
        raise ValueError("mann_whitney_p needs at least one value in each sample")
    if len(xx) + len(xy) > MWU_EXACT_MAX_N:
        return float(stats.mannwhitneyu(xx, xy, alternative="two-sided", method="asymptotic").pvalue)
    small, n1 = (0, len(xx)) if len(xx) <= len(xy) else (1, len(xy))
    doubled = np.rint(2 * stats.rankdata(np.concatenate([xx, xy]))).astype(np.int64)  # midranks × 2
    observed = int(doubled[:n1].sum()) if small == 0 else int(doubled[len(xx):].sum())
    counts = _rank_sum_counts(doubled, n1)
    splits = float(counts.sum())
    lower, upper = float(counts[: observed + 1].sum()) / splits, float(counts[observed:].sum()) / splits
    return min(1.0, 2.0 * min(lower, upper))


def min_trials_for_alpha(alpha: float = 0.05) -> int:
    """The smallest n per side for which an exact two-sided Mann-Whitney test can give p < alpha.

    p_min(n, n) = 2 / C(2n, n): 1 for n=1, 0.333 for n=2, 0.1 for n=3, 0.0286 for n=4, 0.0079 for n=5;
    so 4 for alpha = 0.05 and 5 for alpha = 0.01.
    """
    _check_level(alpha, "alpha")
    n = 1
    while _min_mwu_p(n, n) >= alpha:
        n += 1
    return n


@dataclass(frozen=True)
class Comparison:
    """A new sample of one metric against a base sample (see compare_samples)."""

    change_pct: float  # (median_new − median_base) / median_base × 100
    ci_low_pct: float | None  # percentile bootstrap CI of change_pct at 1 − alpha; None if either n < 3
    ci_high_pct: float | None
    p_value: float | None  # two-sided Mann-Whitney U; None if either sample has < 2 values
    verdict: str  # "regression" | "improvement" | "no change" | "too few trials"
    min_detectable_pct: float | None  # max(threshold_pct, MDE at 80% power); None with too few trials
    note: str | None = None  # why a figure is missing, e.g. no CI because some base trials are 0


def _min_detectable_pct(base: FloatArray, new: FloatArray, base_median: float, alpha: float) -> float:
    """The minimum detectable effect, in percent of the base median, of a two-sided test at alpha with
    80% power: (z_{1−α/2} + z_{0.80}) · s · sqrt(1/n1 + 1/n2) (Cohen 1988; Bloom 1995), where s is the
    pooled robust relative spread, each sample's MAD × 1.4826 (Rousseeuw & Croux 1993,
    scipy.stats.median_abs_deviation(scale="normal")) over |median_base|, pooled like variances.
    Divided by sqrt(3/π), the efficiency of Mann-Whitney relative to the t test under normality
    (Hodges & Lehmann 1956), because the test used is Mann-Whitney.
    """
    n1, n2 = len(base), len(new)
    s1 = float(stats.median_abs_deviation(base, scale="normal")) / abs(base_median)
    s2 = float(stats.median_abs_deviation(new, scale="normal")) / abs(base_median)
    pooled = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER))
    return 100.0 * z * pooled * math.sqrt(1 / n1 + 1 / n2) / math.sqrt(MWU_EFFICIENCY)


def _change_ci(base: FloatArray, new: FloatArray, alpha: float) -> tuple[float | None, float | None, str | None]:
    """The bootstrap CI of the change in percent (see ratio_estimate), or (None, None, why not).

    A base with some zero trials (e.g. an error rate) has a defined median, but a bootstrap resample
    of it can have median 0 and the ratio an infinite bound: no CI then, and the note says so.
    """
    zeros = int(np.sum(base == 0.0))
    if zeros and min(len(base), len(new)) >= 3:
        return None, None, (f"no CI of the change: {zeros} of {len(base)} base trials are 0, so a bootstrap "
                            "resample's median could be 0")
    ratio = ratio_estimate(new, base, confidence=1 - alpha)
    low = None if ratio.ci_low is None else (ratio.ci_low - 1.0) * 100.0
    high = None if ratio.ci_high is None else (ratio.ci_high - 1.0) * 100.0
    return low, high, None


def compare_samples(base: Sequence[float], new: Sequence[float], higher_is_better: bool,
                    threshold_pct: float = 5.0, alpha: float = 0.05) -> Comparison:
    """Compare two samples of one metric (e.g. per-trial rps of two runs) with asv's rule: flag a
    regression or an improvement only when a two-sided Mann-Whitney U test (Mann & Whitney 1947,
    mann_whitney_p: exact for small samples, with or without ties) finds a difference, p < alpha,
    AND the change of the median exceeds threshold_pct in the bad or good direction.

    "too few trials" when either sample has fewer than 3 values, or when the exact test cannot reach
    p < alpha at these sample sizes at all (its smallest p is 2 / C(n1+n2, n1)): with 3 vs 3 the
    smallest two-sided p is 0.1, so at alpha = 0.05 three trials a side can never flag anything and
    calling that "no change" would mislead. min_trials_for_alpha(0.05) == 4 per side (smallest p
    0.0286); unbalanced sizes can also do (3 vs 5: 0.0357), while 3 vs 4 (0.0571) cannot.

    The CI of the change is a percentile bootstrap of median(new)/median(base) − 1 at confidence
    1 − alpha, resampling both samples independently (see ratio_estimate); None if either n < 3, or
    if some base trials are 0 (a resample's median could be 0; `note` says so, see _change_ci).
    min_detectable_pct is max(threshold_pct, the 80%-power minimum detectable effect from the samples'
    robust spread, see _min_detectable_pct): changes well below it are not expected to be flagged.

    Raises ValueError for an empty sample or a zero base median.
    """
    _check_level(alpha, "alpha")
    if not (math.isfinite(threshold_pct) and threshold_pct >= 0):
        raise ValueError(f"threshold_pct must be non-negative, got {threshold_pct}")
    xb, xn = _array(base, "base"), _array(new, "new")
    n1, n2 = len(xb), len(xn)
    if n1 == 0 or n2 == 0:
        raise ValueError("compare_samples needs at least one value in each sample")
    base_median = float(np.median(xb))
    if base_median == 0.0:
        raise ValueError("compare_samples: the base median is 0, a relative change is undefined")
    change_pct = (float(np.median(xn)) - base_median) / base_median * 100.0
    ci_low_pct, ci_high_pct, note = _change_ci(xb, xn, alpha)
    p_value = mann_whitney_p(xb, xn) if n1 >= 2 and n2 >= 2 else None
    if min(n1, n2) < 3 or _min_mwu_p(n1, n2) >= alpha:
        return Comparison(change_pct=change_pct, ci_low_pct=ci_low_pct, ci_high_pct=ci_high_pct,
                          p_value=p_value, verdict="too few trials", min_detectable_pct=None, note=note)
    verdict = "no change"
    if p_value is not None and p_value < alpha and abs(change_pct) > threshold_pct:
        better = change_pct > 0 if higher_is_better else change_pct < 0
        verdict = "improvement" if better else "regression"
    min_detectable = max(threshold_pct, _min_detectable_pct(xb, xn, base_median, alpha))
    return Comparison(change_pct=change_pct, ci_low_pct=ci_low_pct, ci_high_pct=ci_high_pct,
                      p_value=p_value, verdict=verdict, min_detectable_pct=min_detectable, note=note)


@dataclass(frozen=True)
class OrderInterval:
    """An exact distribution-free CI of the median: [x(k), x(n+1−k)] of the n sorted values."""

    n: int
    low: float  # x(k)
    high: float  # x(n+1−k)
    rank_low: int  # k, 1-based
    rank_high: int  # n + 1 − k
    coverage: float  # the real confidence 1 − 2·P(Bin(n, ½) <= k − 1), which may fall short of `confidence`
    confidence: float  # the confidence asked for

    @property
    def reaches_confidence(self) -> bool:
        return self.coverage >= self.confidence


def median_order_ci(values: Sequence[float], confidence: float = 0.95) -> OrderInterval:
    """The narrowest symmetric order-statistic interval of the median whose coverage is >= confidence,
    else the widest one, [min, max]; always with its real coverage.

    Each value lies below the population median with probability ½, so the number B below it is
    Bin(n, ½) and [x(k), x(n+1−k)] misses the median with probability 2·P(B <= k − 1) (Conover 1999,
    "Practical Nonparametric Statistics", 3rd ed., §3.2; Hahn & Meeker 1991, "Statistical Intervals",
    ch. 5). Exact for any continuous distribution, at least that for a discrete one (a closed interval);
    no resampling. [min, max] covers 75% with n = 3, 93.75% with n = 5, 96.9% with n = 6: below 6
    values no interval of the median reaches 95%, which the percentile bootstrap does not say.
    Raises ValueError for no values, non-finite values or a confidence outside (0, 1).
    """
    _check_level(confidence, "confidence")
    x = np.sort(_array(values, "values"))
    n = len(x)
    if n == 0:
        raise ValueError("median_order_ci needs at least one value")

    # coverage of rank k = 1, 2, … up to the middle, in exact fractions: 1 − 2 · Σ_{i<k} C(n, i) / 2^n
    coverages, term, below = [], 1, 0
    for i in range((n + 1) // 2):
        below += term
        coverages.append(1 - Fraction(2 * below, 2**n))
        term = term * (n - i) // (i + 1)  # C(n, i + 1)
    reaching = [k for k, c in enumerate(coverages, start=1) if c >= Fraction(confidence)]
    k = reaching[-1] if reaching else 1  # coverage falls as k grows: the last that reaches it is the narrowest
    return OrderInterval(n=n, low=float(x[k - 1]), high=float(x[n - k]), rank_low=k, rank_high=n + 1 - k,
                         coverage=float(coverages[k - 1]), confidence=confidence)
