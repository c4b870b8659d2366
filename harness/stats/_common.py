"""What the statistics modules share: thresholds, the seeded generator, input checks, the bootstrap CI.

Each method and its source: harness/stats/__init__.py."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

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
