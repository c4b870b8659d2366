"""What would decide an undecided claim, computed from the run's own figures, not generic advice:
the trials at which an exact interval would clear the claim's bound at the spread observed, more
load-generator cores, a quieter machine, a sweep reaching above its top step, at least 3 trials."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from harness.claims.outcomes import CheckOutcome
from harness.claims.view import APART_MAX_LEVEL, BOOTSTRAP_KIND, Figure
from harness.flags import blocking_defaults, name_and_step
from harness.machine.disturbance import DISTURBED_PCT
from harness.numbers import number as fmt
from harness.stats import joint_tail, median_order_ci

MAX_TRIALS = 60  # beyond this, "more trials" is no practical step: the median sits too near the bound
CONFIDENCE = 0.95  # the coverage an interval of the suggested trials reaches (exactly: median_order_ci)


@dataclass(frozen=True)
class Facts:
    """What the steps are computed from, read from the run beside the outcomes (harness.claims.explain)."""

    foreign_cpu_pct: dict[str, float] = field(default_factory=dict)  # scenario -> most CPU others took, %
    top_steps: dict[str, float] = field(default_factory=dict)  # scenario -> its sweep's top users step
    values: dict[int, list[float]] = field(default_factory=dict)  # outcome index -> per-trial (or per-round) values
    bounds: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)  # outcome index -> range
    gaps: dict[int, tuple[list[float], list[float]]] = field(default_factory=dict)  # a gap's per-round ratios
    # the flags that block a verdict (claims.toml policy.blocking_flags); noisy blocks a bootstrap interval
    blocking: frozenset[str] = field(default_factory=lambda: frozenset(blocking_defaults()))


def trials_needed(values: list[float], lo: float | None, hi: float | None) -> int | None:
    """The fewest trials whose exact order-statistic interval of the median (median_order_ci, ≥ 95%
    coverage) would lie wholly inside or outside [lo, hi], if new trials spread as the observed ones:
    n trials are taken at the observed sample's quantiles (i − ½)/n, linearly interpolated between the
    observed values (a sample of n at that spread, no random draw). None without spread, when the
    median sits on a bound, or beyond MAX_TRIALS."""
    if len(values) < 2 or max(values) == min(values):
        return None
    for n in range(max(len(values), 3), MAX_TRIALS + 1):
        ci = median_order_ci(_at_spread(values, n), CONFIDENCE)
        if _clear(ci.low, ci.high, lo, hi):
            if n > len(values):
                return n
            # Values at the spread's quantiles lie inside the observed extremes, so their interval can clear
            # where the observed one does not: then one more trial is the step; else trials are not.
            real = median_order_ci(values, CONFIDENCE)
            return None if _clear(real.low, real.high, lo, hi) else n + 1
    return None


def _at_spread(values: list[float], n: int) -> list[float]:
    """n values spread as the observed ones: their quantiles (i − ½)/n, linearly interpolated."""
    return list(np.quantile(values, [(i - 0.5) / n for i in range(1, n + 1)]))


def _gap(low: float, high: float) -> tuple[float, float]:
    """A ratio's interval as the gap max(r, 1/r) ≥ 1 (as judge.gap_factor maps it)."""
    if low <= 1 <= high:
        return 1.0, max(high, 1 / low if low > 0 else math.inf)
    if high < 1:
        return 1 / high, (1 / low if low > 0 else math.inf)
    return low, high


def gap_trials_needed(big: list[float], small: list[float]) -> int | None:
    """The fewest rounds at which the two gaps' exact intervals (per-round ratios spread as observed,
    as in trials_needed) would lie apart, either way, no likelier by chance than judge_gap accepts
    (APART_MAX_LEVEL); None without spread or beyond MAX_TRIALS."""
    if min(len(big), len(small)) < 2 or min(big + small) <= 0:
        return None
    start = max(len(big), len(small), 3)
    for n in range(start, MAX_TRIALS + 1):
        a, b = (median_order_ci(_at_spread(v, n), CONFIDENCE) for v in (big, small))
        (a_low, a_high), (b_low, b_high) = _gap(a.low, a.high), _gap(b.low, b.high)
        sure = joint_tail((1 - a.coverage) / 2, (1 - b.coverage) / 2) <= APART_MAX_LEVEL
        if sure and (a_low > b_high or a_high < b_low):
            return n if n > start else None  # apart already: rounds are not what keeps it open
    return None


def _clear(low: float, high: float, lo: float | None, hi: float | None) -> bool:
    """Whether [low, high] is wholly inside or wholly outside [lo, hi] (a bound at neither end)."""
    lo_, hi_ = -math.inf if lo is None else lo, math.inf if hi is None else hi
    return (lo_ <= low and high <= hi_) or high < lo_ or low > hi_


def steps_to_decide(outcomes: list[CheckOutcome], facts: Facts) -> list[str]:
    """For each undecided check, the concrete step that would decide it; each step once."""
    steps: list[str] = []
    for index, outcome in enumerate(outcomes):
        if outcome.verdict != "inconclusive":
            continue
        # a figure with a blocking flag decides nothing whatever its interval: its flag's step comes first
        # and alone; a noisy or disturbed one that merely straddles gets its interval's step, then the noise's
        flagged = [step for figure in outcome.figures for step in _flag_steps(figure, facts, blocking_only=True)]
        steps += flagged or [step for figure in outcome.figures
                             for step in [*_figure_steps(index, outcome, figure, facts), *_flag_steps(figure, facts)]]
    return list(dict.fromkeys(steps))


def _flag_steps(figure: Figure, facts: Facts, blocking_only: bool = False) -> list[str]:
    blocks = facts.blocking | ({"noisy"} if figure.interval_kind == BOOTSTRAP_KIND else set())
    names: dict[str, list[str]] = {}
    for flag in figure.flags:
        name, step = name_and_step(flag)
        if blocking_only and name not in blocks:
            continue
        names.setdefault(name, []).extend([step] if step else [])
    scenario = figure.where.split()[0]
    steps = []
    if "loadgen_saturated" in names:
        where = f" at {', '.join(names['loadgen_saturated'])}" if names["loadgen_saturated"] else ""
        steps.append(f"more load-generator cores (--loadgen-cpus, --loadgen-workers): the load generator, "
                     f"not the server, was the limit{where}")
    if "noisy" in names or "disturbed" in names:
        steps.append(_noise_step(facts.foreign_cpu_pct.get(scenario)))
    if "little_law" in names:
        steps.append("a run whose throughput, latency and users agree (Little's law failed: requests queued "
                     "outside the measurement)")
    return steps


def _noise_step(foreign_pct: float | None) -> str:
    """Blame the machine only when others took a disturbing share of it: below that share the spread
    is the workload's own, and more or longer trials, not a quieter machine, would narrow it."""
    if foreign_pct is not None and foreign_pct > DISTURBED_PCT:
        return f"a quieter machine: other programs took up to {fmt(foreign_pct)}% of a benchmark CPU"
    others = "" if foreign_pct is None else f"; other programs took at most {fmt(foreign_pct)}% of a benchmark CPU"
    return f"more or longer trials (--profile full): the trials varied by over 10%{others}"


def _figure_steps(index: int, outcome: CheckOutcome, figure: Figure, facts: Facts) -> list[str]:
    scenario = figure.where.split()[0]
    below, above = (f"each value only {kind} bound" in outcome.reason for kind in ("an upper", "a lower"))
    if below:  # trials that failed the lowest step: only a sweep starting lower tells how far below
        at_most = re.search(r"a lowest step of at most (.+?) would decide it", outcome.reason)
        start = [f"a sweep starting lower{f' (at most {at_most.group(1)})' if at_most else ''}: some trials "
                 "failed its lowest step"]
        return start + (_top_step(outcome, scenario, facts) if above else [])
    if figure.bound or (figure.high is not None and math.isinf(figure.high)):
        return _top_step(outcome, scenario, facts)
    if not figure.has_interval:
        return ["at least 3 trials per target: fewer give no interval (5 give one of 94% coverage)"]
    if index in facts.gaps:
        n = gap_trials_needed(*facts.gaps[index])
        return [f"about {n} rounds instead of {figure.n}: at the spread observed, the two gaps' exact intervals "
                f"would lie apart, and by chance at most {APART_MAX_LEVEL:.1%} of the time" if n else
                "a change of the setup, not more rounds: the two gaps are too alike to tell apart"]
    lo, hi = facts.bounds.get(index, (None, None))
    n = trials_needed(facts.values.get(index, []), lo, hi)
    if n is not None:
        what = figure.counted or ("round" if figure.paired else "trial")
        more = (" (more pairs or looks in the profile's `slices`; the sequential design widens each look "
                "a little beyond this)") if figure.counted else ""
        return [f"about {n} {what}s instead of {figure.n}{more}: at the spread observed, the exact interval of "
                f"{n} (at least 95% coverage) would clear the claim's bound"]
    if index in facts.values:
        return [_why_not_more_trials(figure.label, facts.values[index], lo, hi)]
    return []


def _top_step(outcome: CheckOutcome, scenario: str, facts: Facts) -> list[str]:
    top = facts.top_steps.get(scenario)
    at_least = re.search(r"a top step of at least ([\d,.]+)", outcome.reason)
    above = f" (at least {at_least.group(1)} users)" if at_least else ""
    return [f"a sweep with a step above {fmt(top)} users{above}: some trials passed the top step"
            if top else f"a sweep reaching above its top step{above}"]


def _why_not_more_trials(label: str, values: list[float], lo: float | None, hi: float | None) -> str:
    """Why trials_needed found no number of trials, in the words of the case that holds."""
    if len(values) < 2 or max(values) == min(values):
        return f"a change of the setup, not more trials: {label}'s trials show no spread to go by"
    ci = median_order_ci(values, CONFIDENCE)
    if _clear(ci.low, ci.high, lo, hi):
        return (f"not more trials: {label}'s exact interval already clears the claim's bound; what keeps the "
                f"verdict open is named in the reason above")
    median = float(np.median(values))
    bound = min((b for b in (lo, hi) if b is not None), key=lambda b: abs(b - median))
    return (f"a change of the setup, not more trials: {label}'s median ({fmt(median)}) lies so near the claim's "
            f"bound ({fmt(bound)}) that even {MAX_TRIALS} trials' interval would straddle it")
