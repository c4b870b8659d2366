"""One judge per check type (a registry, not an if/elif chain): a check's figures against its range,
with the blocking-flag, single-trial, step-resolution and censoring rules of harness.claims."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.claims.bounds import generator_bound_note
from harness.claims.outcomes import CheckOutcome
from harness.claims.schema import (
    BY_INSPECTION,
    BehaviourCheck,
    CodeCheck,
    CompareCheck,
    GapCheck,
    GapPlace,
    NotCheckable,
    Place,
    Policy,
    RangeCheck,
    RatioCheck,
    range_text,
)
from harness.claims.scope import not_checked
from harness.claims.view import (
    APART_MAX_LEVEL,
    BOOTSTRAP_KIND,
    Figure,
    Interval,
    Missing,
    Sample,
    bounded_ratio,
    common_step,
    paired_rounds,
    read_sample,
    sliced_ratio,
    slicing_design,
    target_interval,
)
from harness.flags import BY_NAME, name_and_step, words
from harness.numbers import number as fmt
from harness.results import RunView, Step
from harness.stats import coverage_label, estimate, joint_tail, paired_ratio_estimate, ratio_estimate

DISTURBED = "disturbed"  # the flag others' use of the benchmark's CPUs raises (harness.machine.disturbance)


def position(low: float, high: float, lo: float | None, hi: float | None) -> str:
    """'inside', 'outside' or 'straddles' of an interval [low, high] against the range [lo, hi]."""
    lo_ = -math.inf if lo is None else lo
    hi_ = math.inf if hi is None else hi
    if low >= lo_ and high <= hi_:
        return "inside"
    if high < lo_ or low > hi_:
        return "outside"
    return "straddles"


def judge_figure(figure: Figure, lo: float | None, hi: float | None, policy: Policy, unit: str = "",
                 wanted: str | None = None) -> tuple[str, str]:
    """(verdict, reason) of one figure against [lo, hi], applying the blocking-flag and single-trial rules."""
    blocked = blocking(figure.flags, policy, figure.interval_kind)
    if blocked:
        return "inconclusive", f"{figure.label} {figure.where} {blocked}: cannot support or refute"
    wanted = wanted or range_text(lo, hi, unit)
    if figure.has_interval:
        assert figure.low is not None and figure.high is not None
        where = position(figure.low, figure.high, lo, hi)
        what = f"{figure.label} {figure.interval_kind} [{fmt(figure.low)}–{fmt(figure.high)}]"
        if where == "straddles":
            return "inconclusive", f"{what} straddles a bound: is it {wanted}?"
        inside = where == "inside"
        return ("supported" if inside else "refuted"), f"{what} is {'' if inside else 'not '}{wanted}" + _noted(figure)
    trials = "single trial" if figure.n == 1 else f"{figure.n} trials"
    if policy.single_trial == "inconclusive":
        return "inconclusive", f"{figure.label} {figure.where}: {trials}, no CI: not judged (policy single_trial)"
    where = position(*figure.point_span(), lo, hi)  # a censored value: all that lies beyond its bound
    value = figure.value_text()
    if where == "straddles":
        return "inconclusive", f"{value} ({trials}, no CI) straddles a bound: is it {wanted}?"
    inside = where == "inside"
    return ("supported" if inside else "refuted"), (
        f"{value} is {'' if inside else 'not '}{wanted} ({trials}, no CI: judged on the point value)")


def blocking(flags: tuple[str, ...], policy: Policy, interval_kind: str = "") -> str:
    """The blocking flags among `flags`, in words, steps grouped: "load generator saturated at users=8, 32".

    Noisy blocks a bootstrap interval whatever the policy: only the exact order-statistic intervals hold
    their coverage at any spread; a percentile bootstrap of 3-5 noisy values does not."""
    blocks = set(policy.blocking_flags) | ({"noisy"} if interval_kind == BOOTSTRAP_KIND else set())
    steps: dict[str, list[str]] = defaultdict(list)
    for flag in sorted(flags, key=_flag_order):
        name, step = name_and_step(flag)
        if name in blocks and step not in steps[name]:
            steps[name].append(step)
    return "; ".join(words(name) + _at(found) for name, found in steps.items() if found)


def _noted(*figures: Figure) -> str:
    """A warning flag decided figures carry, said beside the verdict (noisy does not block by default)."""
    if not any(name_and_step(flag)[0] == "noisy" for figure in figures for flag in figure.flags):
        return ""
    return f" (trials {words('noisy')}: the interval is distribution-free and holds, though wide)"


def _flag_order(flag: str) -> tuple[str, float]:
    name, step = name_and_step(flag)
    users = Step(step).users
    return name, users if users is not None else 0.0


def _at(steps: list[str]) -> str:
    named = [s for s in steps if s]
    if not named:
        return ""
    if all(s.startswith("users=") for s in named):
        return " at users=" + ", ".join(s.removeprefix("users=") for s in named)
    return " at " + ", ".join(named)


# ---- one judge per check type (a registry, not an if/elif chain) --------------------------------


@dataclass
class Context:
    view: RunView
    policy: Policy
    base_dir: Path


def _figure(label: str, sample: Sample, interval: Interval, unit: str | None = None, n: int | None = None,
            flags: tuple[str, ...] | None = None, note: str | None = None) -> Figure:
    """A target's own figure (unit None: the sample's, with its censoring note) or a ratio of two (with
    the note given: which side's trials are only bounds)."""
    return Figure(label=label, where=sample.where, value=interval.value, low=interval.low, high=interval.high,
                  unit=sample.unit if unit is None else unit, n=len(sample.values) if n is None else n,
                  flags=sample.flags if flags is None else flags, interval_kind=interval.kind,
                  bound=interval.bound, note=(sample.note() if unit is None else "") if note is None else note,
                  paired=interval.paired,
                  coverage=interval.coverage, tail=interval.tail, counted=_counted(sample, unit, interval))


def _counted(sample: Sample, unit: str | None, interval: Interval) -> str:
    """On a sliced scenario a target's own figure counts slices, a ratio of paired slices pairs."""
    if not sample.sliced:
        return ""
    return "pair" if unit is not None and interval.paired else "slice"


def judge_range(check: RangeCheck, ctx: Context) -> CheckOutcome:
    sample = read_sample(ctx.view, check.target, check, check.metric, transform=check.transform)
    figure = _figure(check.target, sample, target_interval(sample, ctx.view, check.quantized))
    verdict, reason = judge_figure(figure, check.min, check.max, ctx.policy, sample.unit)
    # to tell whether the figure is below max (or, without max, above min), the sweep must reach it; to tell
    # whether a figure below the lowest step is below min (or max), the sweep must start there
    ends = (check.min, check.max) if sample.upper_trials() else (check.max, check.min)
    needed = {sample.target: next(end for end in ends if end is not None)}
    reason += censoring_note([sample], needed if verdict == "inconclusive" else None)
    reason += generator_bound_note([figure], ctx.policy) if verdict == "inconclusive" else ""
    return CheckOutcome(check.reading, check.expected(), verdict, reason, [figure])


def ratio_figures(ctx: Context, numerator: str, denominator: str, place: Place | GapPlace, metric: str,
                  transform: str = "none", quantized: str | None = None, step: str | None = None
                  ) -> tuple[Figure, list[Figure]]:
    """The ratio numerator/denominator of one figure at one step, and each target's own figure."""
    step = step if step is not None else common_step(ctx.view, [numerator, denominator], place, metric)
    a = read_sample(ctx.view, numerator, place, metric, step, transform)
    b = read_sample(ctx.view, denominator, place, metric, step, transform)
    ia, ib = target_interval(a, ctx.view, quantized), target_interval(b, ctx.view, quantized)
    context = [_figure(numerator, a, ia), _figure(denominator, b, ib)]
    label, flags = f"{numerator}/{denominator}", tuple(sorted({*a.flags, *b.flags}))
    n = min(len(a.values), len(b.values))
    plan = slicing_design(ctx.view, place.scenario)
    try:
        if plan is not None and paired_rounds(a, b):
            # pair i is slice i of each target, a second apart; the run stopped at a look chosen by its data
            interval = sliced_ratio(a, b, plan, ctx.view.grid(place.scenario, quantized) if quantized else None)
        elif quantized or a.bounded or b.bounded:
            interval = bounded_ratio(a, b, ia, ib, ctx.view.grid(place.scenario, quantized) if quantized else None)
        elif paired_rounds(a, b):
            # round i is trial i of each target, back to back: a slow minute hits both sides of its ratio
            ratio = paired_ratio_estimate(a.values, b.values)
            coverage = ratio.ci_coverage
            interval = Interval(ratio.value, ratio.ci_low, ratio.ci_high, coverage_label(coverage), paired=True,
                                coverage=coverage, tail=None if coverage is None else (1 - coverage) / 2)
        else:
            ratio = ratio_estimate(a.values, b.values)
            interval = Interval(ratio.value, ratio.ci_low, ratio.ci_high, BOOTSTRAP_KIND)
    except ValueError as exc:
        raise Missing(f"ratio {label} of {a.where} is undefined: {exc}") from None
    note = "; ".join(f"{s.target} {s.note()}" for s in (a, b) if s.note())
    return _figure(label, a, interval, "×", n, flags, note), context


def judge_ratio(check: RatioCheck, ctx: Context) -> CheckOutcome:
    pair = [check.numerator, check.denominator]
    step = common_step(ctx.view, pair, check, check.metric)
    figure, context = ratio_figures(ctx, *pair, check, check.metric, check.transform, check.quantized, step)
    if math.isnan(figure.value):
        raise Missing(f"ratio {figure.label} of {figure.where} is 0/0")
    verdict, reason = judge_figure(figure, check.min, check.max, ctx.policy)
    if check.quantized and verdict == "inconclusive" and figure.has_interval:  # else trials, not steps, are short
        reason += resolution_note(context, ctx.view.grid(check.scenario, check.quantized), check.quantized)
    samples = [read_sample(ctx.view, t, check, check.metric, step, check.transform) for t in pair]
    needed = ratio_needed(context, check.min, check.max) if verdict == "inconclusive" else None
    reason += censoring_note(samples, needed)
    reason += generator_bound_note(context, ctx.policy) if verdict == "inconclusive" else ""
    return CheckOutcome(check.reading, check.expected(), verdict, reason, [figure], context)


def ratio_needed(context: list[Figure], lo: float | None, hi: float | None) -> dict[str, float]:
    """The step that would decide a ratio a/b one side of which is only a bound, the other measured.
    Above the top step: a must be measured up to the range's upper end (or, without one, its lower end)
    × b's highest; b up to a's highest ÷ the lower end (or the upper). Below the lowest step (failed
    there): a sweep must start at the lower end (or the upper) × b's lowest for a, at a's lowest ÷ the
    upper end (or the lower) for b: failing there too puts the ratio beyond that end. Nothing when both
    sides are only bounds."""
    a, b = context
    above = [f.bound in (">", "?") or math.isinf(f.high or 0.0) for f in (a, b)]
    below = [f.bound in ("<", "?") or (f.low == 0 < f.value) for f in (a, b)]
    (a_low, a_high), (b_low, b_high) = ((f.low if f.low is not None else f.value,
                                        f.high if f.high is not None else f.value) for f in (a, b))
    measured = [not (up or down) for up, down in zip(above, below, strict=True)]
    first_hi, first_lo = hi if hi else lo, lo if lo else hi
    if above[0] and measured[1]:
        return {a.label: (first_hi or 0.0) * b_high}
    if above[1] and measured[0] and first_lo:
        return {b.label: a_high / first_lo}
    if below[0] and measured[1] and first_lo:
        return {a.label: first_lo * b_low}
    if below[1] and measured[0] and first_hi:
        return {b.label: a_low / first_hi}
    return {}


def censoring_note(samples: list[Sample], needed: dict[str, float] | None) -> str:
    """"; express trials 1, 2 passed the top step (512 users), each value only a lower bound: a top
    step of at least 560 users would decide it", "; fastapi trial 1 failed the lowest step (400 req/s),
    each value only an upper bound: …", or "" without bounded trials. `needed` is None when the verdict
    is decided, else the step each target would need (when it can be told)."""
    return "".join(f"; {text}" for s in samples for above in (True, False)
                   if (text := _bound_text(s, above, needed)))


def _bound_text(s: Sample, above: bool, needed: dict[str, float] | None) -> str:
    trials, marks = (s.censored_trials(), s.censored) if above else (s.upper_trials(), s.upper)
    if not trials:
        return ""
    ends = [v for v, mark in zip(s.values, marks, strict=True) if mark]
    end, unit = (max(ends) if above else min(ends)), "" if s.unit in ("", "×", "ratio") else f" {s.unit}"
    what = "passed the top step" if above else "failed the lowest step"
    text = (f"{s.target} trial{'s' if len(trials) > 1 else ''} {', '.join(map(str, trials))} {what} "
            f"({fmt(end)}{unit}), each value only {'a lower' if above else 'an upper'} bound")
    want = None if needed is None else needed.get(s.target)
    if want is not None and (want > end if above else 0 < want < end):
        step = "a top step of at least" if above else "a lowest step of at most"
        text += f": {step} {fmt(want)}{unit} would decide it"
    elif needed is not None:
        text += f": {'a sweep with a higher top step' if above else 'a sweep starting lower'} would decide it"
    return text


def resolution_note(figures: list[Figure], grid: list[float], parameter: str) -> str:
    """Why a stepped figure is so loosely bounded: the sweep never found a target's limit."""
    if not grid:
        return ""
    notes = []
    for f in figures:
        if f.high is not None and math.isinf(f.high):
            who = f.label if f.value >= grid[-1] else f"at least one trial of {f.label}"
            notes.append(f"{who} passed the top step ({parameter}={fmt(grid[-1])}), so the limit is above it")
        elif f.low == 0:
            who = f.label if f.value < grid[0] else f"at least one trial of {f.label}"
            notes.append(f"{who} failed the lowest step ({parameter}={fmt(grid[0])})")
    steps = ", ".join(fmt(g) for g in grid)
    return f" (steps {steps}{': ' + '; '.join(notes) if notes else ''}; a finer or longer sweep would resolve it)"


def judge_compare(check: CompareCheck, ctx: Context) -> CheckOutcome:
    """lower < higher, judged as the ratio lower/higher against (0, 1): its CI below 1 supports."""
    expected = check.expected()
    step = common_step(ctx.view, [check.lower, check.higher], check, check.metric)
    samples = [read_sample(ctx.view, t, check, check.metric, step, check.transform)
               for t in (check.lower, check.higher)]
    if any(v < 0 for s in samples for v in s.values):
        raise Missing(f"compare needs non-negative figures ({check.metric} has negative values): "
                      'set transform = "abs"')
    if estimate(samples[1].values).median == 0:
        return _zero_higher(check, samples, ctx)
    ratio, context = ratio_figures(ctx, check.lower, check.higher, check, check.metric, check.transform,
                                   check.quantized, step)
    # strictly below 1: equal figures are not "lower"
    verdict, reason = judge_figure(ratio, None, 1.0 - 1e-12, ctx.policy, wanted="below 1")
    reason += censoring_note(samples, {} if verdict == "inconclusive" else None)
    reason += generator_bound_note(context, ctx.policy) if verdict == "inconclusive" else ""
    return CheckOutcome(check.reading, expected, verdict, reason, [ratio], context)


def _zero_higher(check: CompareCheck, samples: list[Sample], ctx: Context) -> CheckOutcome:
    """lower < higher where higher's median is 0. The ratio lower/higher is undefined there, but the guards
    are not: a blocking flag, or fewer than 3 trials, decide nothing as for any figure. Past them, no
    non-negative figure is below 0, so a CI of higher of [0, 0] (its median is 0 with that coverage)
    refutes the claim, and one reaching above 0 leaves it open."""
    figures = [_figure(s.target, s, target_interval(s, ctx.view, check.quantized)) for s in samples]
    higher, zero = figures[1], f"{check.higher}'s median is 0"
    blocked = blocking(tuple(flag for f in figures for flag in f.flags), ctx.policy, higher.interval_kind)
    if blocked:
        verdict, reason = "inconclusive", f"{check.higher} {higher.where} {blocked}: cannot support or refute"
    elif not higher.has_interval:
        trials = "a single trial" if higher.n == 1 else f"{higher.n} trials"
        verdict, reason = (("inconclusive", f"{zero} from {trials}, no CI: not judged (policy single_trial)")
                           if ctx.policy.single_trial == "inconclusive" else
                           ("refuted", f"{zero}: nothing is lower ({trials}, no CI: judged on the point value)"))
    elif higher.high == 0:
        verdict, reason = "refuted", f"{zero} ({higher.interval_kind} [0–0]): nothing is lower"
    else:
        verdict, reason = "inconclusive", (f"{zero} but its {higher.interval_kind} reaches {fmt(higher.high)}: "
                                           f"{check.lower} may still be lower")
    return CheckOutcome(check.reading, check.expected(), verdict, reason, context=figures)


def gap_factor(figure: Figure) -> Interval:
    """The gap as a factor max(r, 1/r) ≥ 1, with the interval mapped through it."""
    value = max(figure.value, 1 / figure.value) if figure.value > 0 else math.inf
    if not figure.has_interval:
        return Interval(value, None, None)
    assert figure.low is not None and figure.high is not None
    low, high, kind = figure.low, figure.high, figure.interval_kind
    if low <= 1 <= high:
        return Interval(value, 1.0, max(high, 1 / low if low > 0 else math.inf), kind, paired=figure.paired)
    if high < 1:
        return Interval(value, 1 / high, 1 / low if low > 0 else math.inf, kind, paired=figure.paired)
    return Interval(value, low, high, kind, paired=figure.paired)


def judge_gap(check: GapCheck, ctx: Context) -> CheckOutcome:
    """The gap at `larger` exceeds the gap at `smaller`: their intervals must lie apart to decide, and
    must be no likelier to lie apart by chance than one interval of the fewest trials is to miss on one
    side (_apart)."""
    pair = [check.numerator, check.denominator]
    expected = check.expected()
    big_step = common_step(ctx.view, pair, check.larger, check.metric)
    small_step = common_step(ctx.view, pair, check.smaller, check.metric,
                             {k: v for k, v in Step(big_step).params.items() if isinstance(v, float)})
    big, big_context = ratio_figures(ctx, *pair, check.larger, check.metric, step=big_step)
    small, small_context = ratio_figures(ctx, *pair, check.smaller, check.metric, step=small_step)
    verdict, reason = _compare_gaps(big, small, ctx.policy)
    reason += generator_bound_note([*big_context, *small_context], ctx.policy) if verdict == "inconclusive" else ""
    return CheckOutcome(check.reading, expected, verdict, reason, [big, small], [*big_context, *small_context])


def _compare_gaps(big: Figure, small: Figure, policy: Policy) -> tuple[str, str]:
    blocked = "; ".join(f"{f.where} {b}" for f in (big, small) if (b := blocking(f.flags, policy, f.interval_kind)))
    if blocked:
        return "inconclusive", f"{blocked}: cannot support or refute"
    gb, gs = gap_factor(big), gap_factor(small)
    text = f"gap {_gap_text(gb)} at {big.where} vs {_gap_text(gs)} at {small.where}"
    if gb.low is not None and gb.high is not None and gs.low is not None and gs.high is not None:
        if gb.low > gs.high or gb.high < gs.low:
            return _apart("supported" if gb.low > gs.high else "refuted", big, small, text)
        return "inconclusive", text + ": the intervals overlap"
    n = min(big.n, small.n)
    if policy.single_trial == "inconclusive":
        return "inconclusive", text + f" ({n} trial(s), no CI: not judged)"
    return ("supported" if gb.value > gs.value else "refuted"), text + " (no CI: judged on the point values)"


def _apart(verdict: str, big: Figure, small: Figure, text: str) -> tuple[str, str]:
    """Two intervals apart decide as surely as their coverages let them. The quoted rule that non-overlap
    of two 95% intervals is a conservative 5% test (Schenker & Gentleman 2001) holds only at 95%: two
    independent intervals lie apart in a given direction, when the true gaps are equal, only if one of them
    misses on its side, at most joint_tail of their tails whatever the distributions (23% for two 75%
    intervals, 6.2% for two 94% ones). The verdict stands when that is no more than APART_MAX_LEVEL, the
    most a single interval of the fewest trials risks on one side; a bootstrap's tail is unknown."""
    kinds = list(dict.fromkeys(f.interval_kind for f in (big, small)))
    which = f"the {kinds[0]}s" if len(kinds) == 1 else f"the {kinds[0]} and the {kinds[1]}"
    if big.tail is None or small.tail is None:
        return "inconclusive", f"{text}: {which} are apart, but how often by chance is unknown (a bootstrap interval)"
    level = joint_tail(big.tail, small.tail)
    if level > APART_MAX_LEVEL:
        return "inconclusive", (f"{text}: {which} are apart, but apart by chance up to {level:.1%} of the time, "
                                f"more than the {APART_MAX_LEVEL:.1%} one interval of the fewest trials risks")
    return verdict, f"{text}: {which} are apart: by chance up to {level:.1%} of the time" + _noted(big, small)


def _gap_text(interval: Interval) -> str:
    if interval.low is None or interval.high is None:
        return f"{fmt(interval.value)}×"
    return f"{fmt(interval.value)}× [{fmt(interval.low)}–{fmt(interval.high)}]"


def judge_behaviour(check: BehaviourCheck, ctx: Context) -> CheckOutcome:
    expected = check.expected()
    answers = ctx.view.results.checks.get(check.target, {}).get(check.check)
    if not isinstance(answers, dict):
        raise Missing(f"no behaviour check {check.check!r} for {check.target} in this run "
                      "(results.json `checks` is filled at the start of a run)")
    wrong = [f"{k}={answers.get(k)!r} (expected {v!r})" for k, v in check.expect.items() if answers.get(k) != v]
    wrong += [f"{k} missing" for k in check.present if not answers.get(k)]
    shown = ", ".join(f"{k}={answers.get(k)!r}" for k in [*check.expect, *check.present])
    measured = f"{check.target} {check.check}: {shown}"
    if wrong:
        return CheckOutcome(check.reading, expected, "refuted", f"{check.target} {check.check}: {'; '.join(wrong)}",
                            measured_text=measured)
    return CheckOutcome(check.reading, expected, "supported", f"{check.target} {check.check} as expected",
                        measured_text=measured)


def judge_code(check: CodeCheck, ctx: Context) -> CheckOutcome:
    missing = [e for e in check.evidence if e.contains not in _read(ctx.base_dir / e.path)]
    found = ", ".join(f"{e.path} has {e.contains!r}" for e in check.evidence)
    if missing:
        gone = ", ".join(f"{e.path} lacks {e.contains!r}" for e in missing)
        return CheckOutcome(check.reading, check.expected(), "inconclusive",
                            f"the code changed since this verdict was written: {gone}", measured_text="source code")
    measured = f"source code ({found})" if found else "source code"
    if check.verdict not in ("supported", "refuted"):
        return CheckOutcome(check.reading, check.expected(), check.verdict, check.reason, measured_text=measured)
    # a reading of the code holds on any run, an empty one too: it is shown as what it is, not as a measurement
    verb = "supports" if check.verdict == "supported" else "refutes"
    return CheckOutcome(check.reading, check.expected(), BY_INSPECTION,
                        f"a reading of the code, not a measurement: it {verb} the claim. {check.reason}",
                        measured_text=measured)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def judge_not_checkable(check: NotCheckable, ctx: Context) -> CheckOutcome:
    return CheckOutcome(check.reading, check.expected(), "not checkable", check.reason)


JUDGES: dict[type, Callable[[Any, Context], CheckOutcome]] = {
    RangeCheck: judge_range,
    RatioCheck: judge_ratio,
    CompareCheck: judge_compare,
    GapCheck: judge_gap,
    BehaviourCheck: judge_behaviour,
    CodeCheck: judge_code,
    NotCheckable: judge_not_checkable,
}


def judge_check(check: Any, ctx: Context) -> CheckOutcome:
    # a scenario the run holds, from a profile too short for this check: not judged, the profile that can named
    ran = isinstance(check, Place) and check.scenario in ctx.view.scenarios()
    if ran and (why := not_checked(check, ctx.view.results.config)):
        return CheckOutcome(check.reading, check.expected(), "not checkable", why)
    try:
        outcome = JUDGES[type(check)](check, ctx)
    except Missing as exc:
        return CheckOutcome(check.reading, check.expected(), "not checkable", str(exc))
    return replace(outcome, reason=outcome.reason + disturbed_note(outcome, ctx.policy))


def disturbed_note(outcome: CheckOutcome, policy: Policy) -> str:
    """"; fastapi disturbed (others used over 10% of a role's CPUs) at users=32" for each target whose
    figure came from windows others disturbed. The flag blocks no verdict unless the policy says so
    (harness.flags), so a verdict may stand on such windows, and says it does; where the policy blocks
    it, the reason already names it as what blocked the verdict."""
    if DISTURBED in policy.blocking_flags:
        return ""
    parts = []
    for figure in outcome.context or outcome.figures:
        steps = [step for name, step in map(name_and_step, figure.flags) if name == DISTURBED]
        steps = sorted(dict.fromkeys(steps), key=lambda s: Step(s).users or 0.0)
        part = f"{figure.label} {BY_NAME[DISTURBED].headline}{_at(steps)}"
        parts += [part] if steps and part not in parts else []
    return "".join(f"; {part}" for part in parts)
