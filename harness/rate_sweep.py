"""The rate sweep's verdict: `max_rate_slo` from open-model steps, and the generator headroom guard.

Pure functions on typed records, no I/O. The rule, in full:

1. A step *passes* when its p99 latency is under the SLO (p99 < slo), its error rate is under 1%
   (errors < 0.01) and it achieved at least 99% of its offered rate (achieved ≥ 0.99 · offered).
2. A step is *usable* for a verdict only if its offered rate needs at most 70% of the measured
   generator ceiling (offered ≤ 0.70 · ceiling): nearer the ceiling the generator's own queueing
   and lateness show up as server latency. (k6 advises keeping 20% of the generator's CPU idle;
   70% leaves room for the ceiling's own run-to-run spread as well.)
3. Steps are taken by increasing offered rate, and the chain ends at the first failing step or
   at the first step that is not usable: once a server fails at some rate, a higher step that
   happens to pass does not count (as `stats.max_under_slo` does for closed-model steps).
4. Between the last passing step r_k and the first failing one r_{k+1}, each failed criterion is
   taken as linear in offered rate, its ratio to its limit x (p99/slo, errors/0.01,
   shortfall/0.01, shortfall = 1 − achieved/offered) going from x_k to x_{k+1} ≥ 1, so it reaches
   its limit at r = r_k + (1 − x_k)/(x_{k+1} − x_k) · (r_{k+1} − r_k); `max_rate_slo` is the lowest
   such r. Latency grows convexly with load near saturation, so a straight line between the two
   steps lies above the curve and the crossing it gives is, if anything, low: conservative.
   A failing step without a measurement (NaN) gives no line: then the answer is r_k.
5. Censored results are bounds, said as such: every usable step passed and the sweep went no
   higher → "above the top step"; the chain reached a step beyond the generator's headroom →
   "capacity above X req/s on this machine", X the last usable passing step; the lowest usable
   step failed → "below the lowest step".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MAX_ERROR_RATE = 0.01
MIN_ACHIEVED_FRACTION = 0.99
HEADROOM_FRACTION = 0.70

Outcome = Literal["interpolated", "above_top_step", "above_generator_bound", "below_lowest_step", "no_usable_step"]


@dataclass(frozen=True)
class RateStep:
    """One open-model load step, as measured."""

    offered_rps: float
    achieved_rps: float
    p99_ms: float
    error_rate: float


@dataclass(frozen=True)
class RateVerdict:
    """`max_rate_slo_rps` is an estimate for "interpolated", a lower bound for the two "above_"
    outcomes and an upper bound for "below_lowest_step"; None when no usable step exists."""

    outcome: Outcome
    max_rate_slo_rps: float | None
    last_pass_rps: float | None
    first_fail_rps: float | None
    failed_on: tuple[str, ...]  # the criteria the first failing step broke ("p99", "errors", "achieved")
    usable_limit_rps: float | None  # HEADROOM_FRACTION of the ceiling; None: no ceiling measured

    def statement(self) -> str:
        """The verdict in the report's words."""
        def rps(value: float | None) -> str:
            return "n/a" if value is None else f"{value:,.0f} req/s"

        headroom = f"{HEADROOM_FRACTION:.0%} of the load generator's ceiling"
        if self.outcome == "interpolated":
            return (f"max_rate_slo ≈ {rps(self.max_rate_slo_rps)} (between {rps(self.last_pass_rps)} and "
                    f"{rps(self.first_fail_rps)}, which failed on {', '.join(self.failed_on)})")
        if self.outcome == "above_top_step":
            return f"max_rate_slo above {rps(self.max_rate_slo_rps)} (every step passed; the sweep went no higher)"
        if self.outcome == "above_generator_bound":
            return f"capacity above {rps(self.max_rate_slo_rps)} on this machine (higher steps need over {headroom})"
        if self.outcome == "below_lowest_step":
            failed = ", ".join(self.failed_on)
            return f"max_rate_slo below {rps(self.max_rate_slo_rps)} (the lowest step failed on {failed})"
        return f"no verdict: every step needs over {headroom}"


def usable_limit_rps(ceiling_rps: float | None, headroom: float = HEADROOM_FRACTION) -> float | None:
    """The highest offered rate usable for a verdict; None (no limit) when no ceiling was measured."""
    if ceiling_rps is None:
        return None
    if not (math.isfinite(ceiling_rps) and ceiling_rps > 0):
        raise ValueError(f"ceiling_rps must be positive and finite, got {ceiling_rps}")
    return headroom * ceiling_rps


def step_is_usable(offered_rps: float, ceiling_rps: float | None, headroom: float = HEADROOM_FRACTION) -> bool:
    """The headroom guard: whether a step's offered rate is within `headroom` of the generator's ceiling."""
    limit = usable_limit_rps(ceiling_rps, headroom)
    return limit is None or offered_rps <= limit


def limit_ratios(step: RateStep, slo_p99_ms: float) -> dict[str, float]:
    """Each criterion's value over its limit (1 at the limit), for rule 4's interpolation."""
    shortfall = 1.0 - step.achieved_rps / step.offered_rps if step.offered_rps > 0 else math.nan
    return {
        "p99": step.p99_ms / slo_p99_ms,
        "errors": step.error_rate / MAX_ERROR_RATE,
        "achieved": shortfall / (1.0 - MIN_ACHIEVED_FRACTION),
    }


def failed_criteria(step: RateStep, slo_p99_ms: float) -> tuple[str, ...]:
    """The criteria a step breaks; NaN (nothing measured) breaks each comparison."""
    passed = {
        "p99": step.p99_ms < slo_p99_ms,
        "errors": step.error_rate < MAX_ERROR_RATE,
        "achieved": step.achieved_rps >= MIN_ACHIEVED_FRACTION * step.offered_rps,
    }
    return tuple(name for name, ok in passed.items() if not ok)


def _crossing(last: RateStep, first_fail: RateStep, failed: tuple[str, ...], slo_p99_ms: float) -> float:
    """Rule 4: the lowest rate at which a failed criterion, linear in rate, reaches its limit."""
    before, after = limit_ratios(last, slo_p99_ms), limit_ratios(first_fail, slo_p99_ms)
    span = first_fail.offered_rps - last.offered_rps
    crossings = []
    for name in failed:
        x0, x1 = before[name], after[name]
        if not (math.isfinite(x0) and math.isfinite(x1)) or x1 <= x0:
            return last.offered_rps  # no line to follow: the last passing step, conservatively
        crossings.append(last.offered_rps + min(1.0, max(0.0, (1.0 - x0) / (x1 - x0))) * span)
    return min(crossings)


def max_rate_slo(steps: Sequence[RateStep], slo_p99_ms: float, ceiling_rps: float | None = None) -> RateVerdict:
    """The sweep's verdict under the rule in this module's docstring."""
    if slo_p99_ms <= 0:
        raise ValueError(f"slo_p99_ms must be positive, got {slo_p99_ms}")
    if any(not s.offered_rps > 0 for s in steps):
        raise ValueError("every step needs a positive offered rate")
    ordered = sorted(steps, key=lambda s: s.offered_rps)
    limit = usable_limit_rps(ceiling_rps)
    last: RateStep | None = None
    for step in ordered:
        if not step_is_usable(step.offered_rps, ceiling_rps):
            if last is None:
                return RateVerdict("no_usable_step", None, None, None, (), limit)
            return RateVerdict("above_generator_bound", last.offered_rps, last.offered_rps, None, (), limit)
        failed = failed_criteria(step, slo_p99_ms)
        if failed:
            if last is None:
                return RateVerdict("below_lowest_step", step.offered_rps, None, step.offered_rps, failed, limit)
            estimate = _crossing(last, step, failed, slo_p99_ms)
            return RateVerdict("interpolated", estimate, last.offered_rps, step.offered_rps, failed, limit)
        last = step
    if last is None:
        raise ValueError("a rate sweep needs at least one step")
    return RateVerdict("above_top_step", last.offered_rps, last.offered_rps, None, (), limit)
