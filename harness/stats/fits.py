"""Fits of a curve to a sweep: linear_slope, usl_fit, knee_point.

Each method and its source: harness/stats/__init__.py."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from harness.stats._common import (
    KNEEDLE_SENSITIVITY,
    FloatArray,
    _array,
)


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
