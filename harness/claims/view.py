"""Claims' view of a run: one target's per-trial values of a figure (Sample), read from the run's
RunView (harness.results) at a step a selector picks, and their intervals: the order-statistic CI of
the median with its real coverage, of a quantized figure at the sweep's step resolution, and what
censored trials leave open.

CIs come from harness.stats (bounded_median_ci for a target and for paired rounds' ratios; the ratio of two
targets' intervals where trials cannot be paired, at the product of their coverages); nothing is
re-derived. Each carries the coverage it has at least as its kind ("75% CI" for 3 trials).

A scenario run in paired slices (results.config["slicing"]: both servers up, the load alternating
between them second by second) stops adding pairs at a planned look once its ratios look decided. A
fixed-n interval read at such a stopping time loses its coverage (Armitage, McPherson & Rowe 1969), so
a ratio of pairs takes the group-sequential design's interval instead (harness.stats.sequential), at the
design's exact simultaneous coverage; a target's own figure there is the median of its slices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from harness.claims.schema import GapPlace, Place
from harness.numbers import number as fmt
from harness.results import RunView, Step
from harness.results.keys import ENDPOINT_KEY
from harness.stats import (
    BoundedMedian,
    bounded_median_ci,
    coverage_label,
    estimate,
    joint_coverage,
    joint_tail,
    median_order_ci,
    round_ratio_bounds,
)
from harness.stats.sequential import Look, SequentialDesign, design, simultaneous_coverage

# the two-sample percentile bootstrap's coverage is nominal and falls short with few trials: no number
BOOTSTRAP_KIND = "bootstrap CI"
STEPPED = " at step resolution"  # after a stepped interval's coverage: "75% CI at step resolution"
MIN_CI_TRIALS = 3  # the fewest trials that give an interval of the median
# How often an interval of the fewest trials lies wholly on one side of its median, (1 - 75%) / 2: the
# most a verdict one interval decides alone can be wrong; two intervals found apart must be as sure.
APART_MAX_LEVEL = (1 - median_order_ci([float(i) for i in range(MIN_CI_TRIALS)]).coverage) / 2


@dataclass(frozen=True)
class Figure:
    """One measured value (a target's median or a ratio of medians) with its interval."""

    label: str  # "express" or "express/fastapi"
    where: str  # "cold_start cold_start_ms" or "concurrency users=512 rps"
    value: float
    low: float | None  # CI (or the step-resolution interval); None without one
    high: float | None
    unit: str
    n: int  # trials, or rounds for a paired ratio
    flags: tuple[str, ...] = ()  # e.g. ("loadgen_saturated:users=512",)
    interval_kind: str = "CI"  # "94% CI" (its real coverage), "bootstrap CI", "75% CI at step resolution"
    bound: str = ""  # censored trials: ">" value is a lower bound, "<" an upper one, "?" unknown
    note: str = ""  # e.g. "2 of 3 trials above the top step"
    paired: bool = False  # a ratio from paired rounds: n counts rounds
    coverage: float | None = None  # the interval covers the true value at least this often (None: unknown)
    tail: float | None = None  # and lies wholly above it (or wholly below it) at most this often
    counted: str = ""  # what n counts on a sliced scenario: "pair" (a ratio) or "slice" (a target's own)

    @property
    def count_text(self) -> str:
        """"5 trials", "1 trial", "5 rounds", "32 pairs", "64 slices"."""
        what = self.counted or ("round" if self.paired else "trial")
        return f"{self.n} {what}{'' if self.n == 1 else 's'}"

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    def point_span(self) -> tuple[float, float]:
        """Where the value lies when there is no interval: the value itself, or beyond its bound."""
        return {">": (self.value, math.inf), "<": (0.0, self.value), "?": (0.0, math.inf)}.get(
            self.bound, (self.value, self.value))

    def value_text(self, with_unit: bool = False) -> str:
        """"express 255 ms", "express > 512 users" (a lower bound), "express/fastapi unknown"."""
        if self.bound == "?":
            return f"{self.label} unknown"
        unit = "" if not with_unit or self.unit in ("", "ratio") else "×" if self.unit == "×" else " " + self.unit
        bound = f"{self.bound} " if self.bound else ""
        return f"{self.label} {bound}{fmt(self.value)}{unit}"

    def text(self) -> str:
        """E.g. "express 255 ms [230–270] (94% CI, 5 trials)", "express/fastapi 0.66× (1 trial, no CI)",
        "express > 512 users (above the top step)"."""
        value = self.value_text(with_unit=True)
        notes = []
        # a bound's interval [bound, ∞] says nothing more than "> bound"
        if self.has_interval and not (self.bound and (self.low, self.high) == self.point_span()):
            value += f" [{fmt(self.low)}–{fmt(self.high)}]"
            notes.append(f"{self.interval_kind}, {self.count_text}")
        elif not self.has_interval:
            notes.append(f"{self.count_text}, no CI")
        notes += [self.note] if self.note else []
        return value + (f" ({'; '.join(notes)})" if notes else "")


def missing_reason(view: RunView, target: str, scenario: str, metric: str) -> str:
    if target not in view.targets():
        return f"target {target!r} is not in this run"
    skipped = view.results.config.get("skipped_scenarios", {})
    if scenario in skipped:
        return f"scenario {scenario} was skipped: {skipped[scenario]}"
    if not view.has(target, scenario):
        return f"scenario {scenario} was not run for {target}"
    return f"{target} has no {metric} in scenario {scenario}"


class Missing(Exception):
    """A figure a check needs is not in the run; the message is the reason."""


def select_step(steps: list[str], selector: str, reference: dict[str, float] | None = None) -> str:
    """The step label among `steps` matching a selector such as "ms=20,users=max" (endpoint rows excluded).

    Fixed values must match; "max"/"min" pick the extreme; "same" picks the value nearest (on a log
    scale) the reference step's. Raises Missing when nothing matches.
    """
    wanted = Step(selector).params
    candidates = [s for s in steps if not Step(s).is_endpoint or ENDPOINT_KEY in wanted]
    for key, value in wanted.items():
        if isinstance(value, float) or value not in ("max", "min", "same"):
            candidates = [s for s in candidates if Step(s).params.get(key) == value]
    for key, value in wanted.items():
        if value in ("max", "min", "same") and candidates:
            candidates = [s for s in candidates if isinstance(Step(s).params.get(key), float)]
            pick = _extreme(candidates, key, value, (reference or {}).get(key))
            candidates = [pick] if pick else []
    if len(candidates) != 1:
        found = ", ".join(sorted(s or '""' for s in steps)) or "none"
        raise Missing(f"no single step matches {selector or '(whole trial)'!r} (steps: {found})")
    return candidates[0]


def _extreme(candidates: list[str], key: str, how: str, reference: float | None) -> str | None:
    if not candidates:
        return None
    value: Callable[[str], float] = lambda s: float(Step(s).params[key])  # noqa: E731
    if how == "same":
        if reference is None or reference <= 0:
            return None
        distance: Callable[[str], float] = lambda s: abs(math.log(max(value(s), 1e-9) / reference))  # noqa: E731
    else:
        distance = (lambda s: -value(s)) if how == "max" else value
    best = min(distance(s) for s in candidates)
    ties = [s for s in candidates if distance(s) == best]
    return ties[0] if len(ties) == 1 else None  # a tie (e.g. two matrix values) is ambiguous


@dataclass(frozen=True)
class Sample:
    """One target's per-trial values of a figure, with where they were read and their flags."""

    target: str
    scenario: str
    step: str
    metric: str
    values: list[float]
    unit: str
    flags: tuple[str, ...]
    trials: tuple[int, ...] = ()  # beside values
    censored: tuple[bool, ...] = ()  # beside values: True where the value is only a lower bound
    upper: tuple[bool, ...] = ()  # beside values: True where it is only an upper bound (the lowest step failed)
    sliced: bool = False  # a scenario of paired slices: each value is one slice, trial i of each target pair i

    @property
    def where(self) -> str:
        return " ".join(p for p in (self.scenario, self.step, self.metric) if p)

    def censored_trials(self) -> list[int]:
        return [t for t, c in zip(self.trials, self.censored, strict=True) if c]

    def upper_trials(self) -> list[int]:
        return [t for t, u in zip(self.trials, self.upper or [False] * len(self.trials), strict=True) if u]

    @property
    def bounded(self) -> bool:
        """Whether some trial's value is only a bound."""
        return any(self.censored) or any(self.upper)

    def bounds(self, grid: list[float] | None = None) -> tuple[list[float], list[float]]:
        """Where each trial's true value lies: a measured value is itself, a lower bound reaches to ∞, an
        upper bound down to 0 (the figures that carry one are rates), and with a sweep's steps (a quantized
        figure) a value lies in [its step, the next step)."""
        upper = self.upper or (False,) * len(self.values)
        lows = [0.0 if u else v if grid is None else _step_floor(v, grid)
                for v, u in zip(self.values, upper, strict=True)]
        highs = [math.inf if c else v if grid is None else _next_step(v, grid)
                 for v, c in zip(self.values, self.censored, strict=True)]
        return lows, highs

    def note(self) -> str:
        n = len(self.values)
        notes = [f"{'' if k == n else f'{k} of {n} trials '}{where}"
                 for k, where in ((len(self.censored_trials()), "above the top step"),
                                  (len(self.upper_trials()), "below the lowest step")) if k]
        return "; ".join(notes)


def read_sample(view: RunView, target: str, place: Place | GapPlace, metric: str, step: str | None = None,
                transform: str = "none") -> Sample:
    if not view.steps(target, place.scenario, metric):
        raise Missing(missing_reason(view, target, place.scenario, metric))
    step = step if step is not None else select_step(view.steps(target, place.scenario, metric), place.step)
    key = (target, place.scenario, step, metric)
    if key not in view:
        raise Missing(f"{target} has no {metric} at {place.scenario} {step}")
    values = [abs(v) for v in view.values(key)] if transform == "abs" else view.values(key)
    censored, upper = view.censored(key), view.upper_bounded(key)
    unaffected = set(getattr(place, "unaffected_by", ()))
    flags = sorted(f for f in view.trial_flags(target, place.scenario, step) if f.split(":")[0] not in unaffected)
    # noise is judged on the measured trials; censored ones are bounds, which open the interval instead
    measured = [v for v, c, u in zip(values, censored, upper, strict=True) if not (c or u)]
    if measured and estimate(measured).noisy and "noisy" not in unaffected:
        flags.append("noisy")
    return Sample(target, place.scenario, step, metric, values, view.unit(key), tuple(flags),
                  tuple(view.trial_numbers(key)), tuple(censored), tuple(upper),
                  slicing(view, place.scenario) is not None)


def common_step(view: RunView, targets: list[str], place: Place | GapPlace, metric: str,
                reference: dict[str, float] | None = None) -> str:
    """One step label both targets have, so a ratio compares like with like."""
    for target in targets:
        if not view.steps(target, place.scenario, metric):
            raise Missing(missing_reason(view, target, place.scenario, metric))
    shared = set.intersection(*(set(view.steps(t, place.scenario, metric)) for t in targets))
    return select_step(sorted(shared), place.step, reference)


# ---- intervals and their place against a claim's range -----------------------------------------


@dataclass(frozen=True)
class Interval:
    value: float
    low: float | None
    high: float | None
    kind: str = "CI"  # as Figure.interval_kind
    bound: str = ""  # as Figure.bound
    paired: bool = False  # as Figure.paired
    coverage: float | None = None  # as Figure.coverage
    tail: float | None = None  # as Figure.tail


def target_interval(sample: Sample, view: RunView, quantized: str | None) -> Interval:
    """The median and the order-statistic CI of the trials' bounds (bounded_median_ci), a quantized
    figure's at the sweep's step resolution. Fewer than 3 trials give no interval, stepped or not, so the
    single_trial policy applies to them. A median that censored trials can move is only a bound."""
    grid = view.grid(sample.scenario, quantized) if quantized else None
    est = bounded_median_ci(sample.values, *sample.bounds(grid))
    return _interval(est, _bound(bounded_median_ci(sample.values, *sample.bounds())), grid is not None)


def bounded_ratio(a: Sample, b: Sample, ia: Interval, ib: Interval, grid: list[float] | None) -> Interval:
    """a/b when some trials are known only within bounds (censored, or at a sweep's steps). With paired
    rounds, the median of the per-round ratios and the order-statistic CI of their bounds
    (round_ratio_bounds, bounded_median_ci), at the rounds' own coverage. Without, the ratio of the
    medians (ia, ib), its interval [a_low / b_high, a_high / b_low], which holds whenever both targets'
    intervals hold: at least the product of their coverages (joint_coverage), not either one's."""
    if paired_rounds(a, b):
        est = bounded_median_ci(*round_ratio_bounds(a.values, *a.bounds(grid), b.values, *b.bounds(grid)))
        censored = bounded_median_ci(*round_ratio_bounds(a.values, *a.bounds(), b.values, *b.bounds()))
        return _interval(est, _bound(censored), grid is not None, paired=True)
    up = ia.bound in (">", "?") or ib.bound in ("<", "?")
    down = ia.bound in ("<", "?") or ib.bound in (">", "?")
    bound = "?" if up and down else ">" if up else "<" if down else ""
    if ia.low is None or ia.high is None or ib.low is None or ib.high is None:
        return Interval(round_ratio_bounds([ia.value], [ia.value], [ia.value], [ib.value], [ib.value],
                                           [ib.value])[0][0], None, None, bound=bound)
    (value,), (low,), (high,) = round_ratio_bounds([ia.value], [ia.low], [ia.high], [ib.value], [ib.low], [ib.high])
    coverage, tail = joint_coverage(ia.coverage or 0.0, ib.coverage or 0.0), joint_tail(ia.tail or 1.0, ib.tail or 1.0)
    kind = coverage_label(coverage) + (STEPPED if grid is not None else "")
    return Interval(value, low, high, kind, bound, coverage=coverage, tail=tail)


def _interval(est: BoundedMedian, bound: str, stepped: bool, paired: bool = False) -> Interval:
    if est.low is None or est.high is None:
        return Interval(est.value, None, None, bound=bound, paired=paired)
    kind = coverage_label(est.coverage) + (STEPPED if stepped else "")
    return Interval(est.value, est.low, est.high, kind, bound, paired, est.coverage, est.tail)


def _bound(est: BoundedMedian) -> str:
    """">" when bounded trials can only raise the median, "<" when they can only lower it, "?" both."""
    up, down = est.median_high > est.value, est.median_low < est.value
    return "?" if up and down else ">" if up else "<" if down else ""


def paired_rounds(a: Sample, b: Sample) -> bool:
    """Whether trial i of a and trial i of b form round i (the same trial numbers)."""
    return a.trials == b.trials and len(a.trials) == len(a.values)


# ---- paired slices: the group-sequential interval ----------------------------------------------

OFF_LOOK = ", fixed-n: not a planned look"  # after the coverage of a sliced ratio read between looks


def slicing(view: RunView, scenario: str) -> dict[str, Any] | None:
    """A scenario's paired-slices plan (results.config["slicing"]), None for a scenario run in trials."""
    found = view.results.config.get("slicing", {}).get(scenario)
    return found if isinstance(found, dict) else None


def slicing_design(view: RunView, scenario: str) -> SequentialDesign | None:
    """The group-sequential design a sliced scenario's plan was run under, None for a scenario of trials."""
    plan = slicing(view, scenario)
    return None if plan is None else _design(tuple(int(n) for n in plan["looks"]), float(plan.get("level", 0.95)))


@cache
def _design(looks: tuple[int, ...], level: float) -> SequentialDesign:
    return design(looks, level)


def sequential_label(plan: SequentialDesign, stepped: bool = False) -> str:
    """"95.4% CI, group-sequential over 4 looks": the exact simultaneous coverage, never rounded up."""
    percent = math.floor(plan.coverage * 1000 + 1e-9) / 10
    return f"{percent:g}% CI{STEPPED if stepped else ''}, group-sequential over {len(plan.looks)} looks"


def one_sided_miss(plan: SequentialDesign) -> float:
    """How often some look's interval lies wholly above the median (and, the ranks being symmetric, as often
    wholly below): 1 − P(B_n ≥ low rank at every look), the same walk as the design's coverage with no upper
    limit (a high rank of n + 1 holds always). Bounds the tail of the interval at any stopping time."""
    looks = [Look(lk.pairs, lk.low_rank, lk.pairs + 1) if lk.low_rank is not None else lk for lk in plan.looks]
    return 1.0 - simultaneous_coverage(looks)


def sliced_ratio(a: Sample, b: Sample, plan: SequentialDesign, grid: list[float] | None = None) -> Interval:
    """a/b over paired slices (pair i: slice i of each target, a second apart): the median of the per-pair
    ratios with, after a planned look's number of pairs, the design's interval (SequentialDesign.interval)
    at its simultaneous coverage, whatever look the run stopped at. Bounded or stepped slices enter as
    their bounds' order statistics [low_(l), high_(u)], which hold the unseen values' interval as
    bounded_median_ci's do (order statistics are monotone). A count that is no planned look (a run cut
    short) gets the fixed-n interval of that count with its own coverage, labelled so."""
    ratios, lows, highs = round_ratio_bounds(a.values, *a.bounds(grid), b.values, *b.bounds(grid))
    fixed = bounded_median_ci(ratios, lows, highs)
    bound = _bound(bounded_median_ci(*round_ratio_bounds(a.values, *a.bounds(), b.values, *b.bounds())))
    if len(ratios) not in {look.pairs for look in plan.looks}:
        found = _interval(fixed, bound, grid is not None, paired=True)
        return found if found.low is None else replace(found, kind=found.kind + OFF_LOOK)
    low, high = plan.interval(lows), plan.interval(highs)
    if low is None or high is None:
        return Interval(fixed.value, None, None, bound=bound, paired=True)
    return Interval(fixed.value, low[0], high[1], sequential_label(plan, grid is not None), bound, paired=True,
                    coverage=plan.coverage, tail=one_sided_miss(plan))


def _step_floor(value: float, grid: list[float]) -> float:
    return max([g for g in grid if g <= value], default=0.0)


def _next_step(value: float, grid: list[float]) -> float:
    """The true value lies below the next step up (the one that failed); above the top step, unbounded."""
    return min([g for g in grid if g > value], default=math.inf)
