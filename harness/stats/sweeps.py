"""Reading a load sweep against an SLO: max_under_slo, slo_crossing.

Each method and its source: harness/stats/__init__.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.stats._common import (
    _array,
)


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
