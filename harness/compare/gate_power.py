"""How often `bench ab`'s gate would catch a change, by resampling the per-pair ratios of runs without one.

Pure functions, no I/O. Runs of an unchanged head (A/A) show how a machine spreads the per-pair (or
per-round) ratios of a figure; centred on their own median, pooled, and drawn with replacement (the
bootstrap: Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 6), then shifted by a
given change, they make simulated runs of any size, each judged by the gate itself
(harness.compare.paired.paired_change). The share judged a regression is the gate's power at that
change and size on that machine; at a change of 0, its false-alarm rate. It assumes pairs are
exchangeable within and across the runs pooled. Centring each run on its own median removes what
differs between runs (each run's server processes: their JIT, their heap), so a real run varies more
than a drawn one and the power is overstated, the more so the more pairs (docs/regression-tracking.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from harness.compare.paired import Way, paired_change


def centred_logs(runs: Sequence[Sequence[float]]) -> np.ndarray:
    """The log ratios of each run less that run's median log ratio, pooled: spread without the change."""
    pooled = [np.log(np.asarray(ratios, dtype=float)) for ratios in runs if len(ratios)]
    if not pooled:
        raise ValueError("no ratios to resample")
    return np.concatenate([logs - np.median(logs) for logs in pooled])


def gate_power(logs: np.ndarray, change_pct: float, pairs: int, *, direction: Way, threshold_pct: float,
               alpha: float, draws: int, rng: np.random.Generator) -> float:
    """The share of `draws` simulated runs of `pairs` pairs, the figure changed by change_pct in its bad
    direction (a rise of CPU or latency, a fall of rps), that the gate calls a regression."""
    if pairs < 1 or draws < 1:
        raise ValueError(f"pairs and draws must be positive, not {pairs} and {draws}")
    bad = math.log1p(change_pct / 100) if direction == "lower" else math.log1p(-change_pct / 100)
    caught = 0
    for _ in range(draws):
        ratios = np.exp(rng.choice(logs, pairs) + bad)
        verdict = paired_change(np.ones(pairs), ratios, direction=direction, threshold_pct=threshold_pct,
                                alpha=alpha, label=("", "", "", "", "")).verdict
        caught += verdict == "regression"
    return caught / draws
