"""The article's claims (claims.toml) and their verdicts from one stored run.

A claim is a list of checks, each a small rule read from the file (no code per claim):
  range          one target's figure lies in [min, max]
  ratio          numerator/denominator of one figure lies in [min, max]
  compare        one target's figure is lower than another's (the ratio lower/higher below 1)
  gap            the gap between two targets (max(r, 1/r) of the ratio r) is larger at one place than another
  behaviour      a behaviour check recorded during the run (results.json `checks`) has the expected answers
  code           a verdict stated in the file about source code, kept only while its evidence is found
  not_checkable  a claim this harness cannot measure, with the reason

Checks may carry a `reading` (an alternative definition, e.g. MB vs MiB); the first reading decides
the verdict, others are reported beside it, unless the claim sets readings_must_agree.

Verdicts (the rules, in order):
  not checkable  a figure the check needs is not in the run (scenario not run, metric not recorded)
  inconclusive   a figure carries a blocking flag (noisy, load generator saturated, Little's law failed):
                 it can neither support nor refute; or the 95% CI straddles a bound of the claim
  supported / refuted
                 the 95% CI lies inside / outside the claim's range. With fewer than 3 trials there is
                 no CI: policy.single_trial = "point" (default) judges on the median and says
                 "no CI" in the reason; "inconclusive" refuses to judge.
Figures that can only take the values of a sweep's steps (max_concurrency_slo, connections_held:
`quantized = "users"`) are read as the interval [step, next step): a coarse sweep cannot resolve
a 1.4–1.6 ratio, and the verdict says so instead of pretending.
Censored figures: a trial whose metric M has M_censored = 1 (harness/results.py) passed the top step,
so its value is only a lower bound. Every median, ratio and CI is computed twice, with such values at
their bound and far above it (the statistics are monotone in each value): what differs is known only
on one side. A median that depends on them reads "> 512 users (above the top step)"; an interval end
that does is open (∞, or 0 for a ratio's lower end). A lower bound can still decide a verdict when it
clears the claim's range; otherwise the check is inconclusive and names the trials and the top step
that would decide it. Trials are never dropped: dropping them would bias the median low.

CIs are the percentile bootstrap of harness.stats (estimate, ratio_estimate); nothing is re-derived.
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.table import Table

from harness.errors import BenchError
from harness.results import RunResults, step_params
from harness.stats import estimate, ratio_estimate

DEFAULT_CLAIMS = Path(__file__).resolve().parent.parent / "claims.toml"
CENSORED_SUFFIX = "_censored"  # M_censored = 1: M's stored value is only a lower bound (harness/results.py)
FAR_ABOVE = 1e6  # a censored value is also put at its bound × this, to see what depends on it
VERDICTS = ("supported", "refuted", "inconclusive", "not checkable")
FLAG_WORDS = {
    "noisy": "noisy (CV over 10% across trials)",
    "loadgen_saturated": "load generator saturated",
    "little_law": "Little's law check failed",
}

Verdict = Literal["supported", "refuted", "inconclusive", "not checkable"]


# ---- the claims file ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Policy(_Strict):
    single_trial: Literal["point", "inconclusive"] = "point"
    blocking_flags: list[str] = Field(default_factory=lambda: ["noisy", "loadgen_saturated", "little_law"])


class _Check(_Strict):
    reading: str = "main"  # an alternative definition of the claim; the first one decides


class _Bounds(_Check):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> _Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Place(_Strict):
    """Where a figure is read: a scenario, a step selector, a metric."""

    scenario: str
    step: str = ""  # "" whole trial; "users=64"; "ms=20,users=max" (max/min pick the extreme step)
    metric: str
    transform: Literal["none", "abs"] = "none"
    quantized: str | None = None  # the step parameter whose values the metric can only take, e.g. "users"


class RangeCheck(_Bounds, Place):
    type: Literal["range"]
    target: str

    def expected(self) -> str:
        return f"{self.target} {self.metric} {range_text(self.min, self.max)}"


class RatioCheck(_Bounds, Place):
    type: Literal["ratio"]
    numerator: str
    denominator: str

    def expected(self) -> str:
        return f"{self.numerator}/{self.denominator} {self.metric} {range_text(self.min, self.max)}"


class CompareCheck(_Check, Place):
    type: Literal["compare"]
    lower: str  # the target claimed to have the lower figure
    higher: str

    def expected(self) -> str:
        absolute = "|" if self.transform == "abs" else ""
        return f"{self.lower} {absolute}{self.metric}{absolute} < {self.higher}'s"


class GapPlace(_Strict):
    scenario: str
    step: str = ""  # as in Place; in `smaller`, "users=same" picks the step nearest the `larger` place's users


class GapCheck(_Check):
    type: Literal["gap"]
    metric: str
    numerator: str
    denominator: str
    larger: GapPlace  # where the gap is claimed to be larger
    smaller: GapPlace

    def expected(self) -> str:
        return (f"{self.numerator}/{self.denominator} {self.metric} gap larger at {self.larger.scenario} "
                f"than at {self.smaller.scenario}")


class BehaviourCheck(_Check):
    type: Literal["behaviour"]
    target: str
    check: str  # a key of results.checks[target], e.g. "invalid_email"
    expect: dict[str, Any] = Field(default_factory=dict)  # field -> expected value
    present: list[str] = Field(default_factory=list)  # fields that must be non-empty

    def expected(self) -> str:
        wanted = [f"{k}={v}" for k, v in self.expect.items()] + [f"{k} given" for k in self.present]
        return f"{self.target} {self.check}: {', '.join(wanted)}"


class Evidence(_Strict):
    path: str  # relative to the claims file's folder
    contains: str


class CodeCheck(_Check):
    type: Literal["code"]
    verdict: Verdict
    reason: str
    evidence: list[Evidence] = Field(default_factory=list)

    def expected(self) -> str:
        return "code review"


class NotCheckable(_Check):
    type: Literal["not_checkable"]
    reason: str

    def expected(self) -> str:
        return "—"


Check = Annotated[RangeCheck | RatioCheck | CompareCheck | GapCheck | BehaviourCheck | CodeCheck | NotCheckable,
                  Field(discriminator="type")]


class Claim(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    claim: str  # the article's words, in short
    figure: str = ""  # the figure as the article states it
    definition: str = ""  # how this project measures it where the article gives no definition
    tolerance: str = ""
    readings_must_agree: bool = False
    checks: list[Check] = Field(min_length=1)

    def readings(self) -> list[str]:
        return list(dict.fromkeys(c.reading for c in self.checks))

    def scenarios(self) -> list[str]:
        found: list[str] = []
        for c in self.checks:
            if isinstance(c, Place):
                found.append(c.scenario)
            elif isinstance(c, GapCheck):
                found += [c.larger.scenario, c.smaller.scenario]
            elif isinstance(c, BehaviourCheck):
                found.append("behaviour checks")
        return list(dict.fromkeys(found))

    def metrics(self) -> list[str]:
        found = [c.metric for c in self.checks if isinstance(c, Place | GapCheck)]
        found += [f"checks.{c.check}" for c in self.checks if isinstance(c, BehaviourCheck)]
        found += ["source code" for c in self.checks if isinstance(c, CodeCheck)]
        return list(dict.fromkeys(found))


class ClaimsFile(_Strict):
    policy: Policy = Field(default_factory=Policy)
    claims: list[Claim] = Field(min_length=1)
    base_dir: Path = Path(".")  # set by load_claims; evidence paths are relative to it

    @model_validator(mode="after")
    def _unique_ids(self) -> ClaimsFile:
        seen: set[str] = set()
        for claim in self.claims:
            if claim.id in seen:
                raise ValueError(f"claim id {claim.id!r} appears twice")
            seen.add(claim.id)
        return self


def load_claims(path: Path | None = None) -> ClaimsFile:
    """Read and validate a claims file; any problem is one BenchError line naming the place."""
    path = path or DEFAULT_CLAIMS
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise BenchError(f"cannot read claims file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"bad claims file {path}: {exc}") from None
    try:
        return ClaimsFile(**data, base_dir=path.resolve().parent)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise BenchError(f"bad claims file {path}: {where + ': ' if where else ''}{error['msg']}") from None
    except TypeError as exc:
        raise BenchError(f"bad claims file {path}: {exc}") from None


# ---- judged figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One measured value (a target's median or a ratio of medians) with its interval."""

    label: str  # "express" or "express/fastapi"
    where: str  # "cold_start cold_start_ms" or "concurrency users=512 rps"
    value: float
    low: float | None  # 95% CI (or the step-resolution interval); None without one
    high: float | None
    unit: str
    n: int
    flags: tuple[str, ...] = ()  # e.g. ("loadgen_saturated:users=512",)
    interval_kind: str = "95% CI"  # or "step resolution"
    bound: str = ""  # censored trials: ">" value is a lower bound, "<" an upper one, "?" unknown
    note: str = ""  # e.g. "2 of 3 trials above the top step"

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
        """E.g. "express 255 ms [230–270]", "express/fastapi 0.66× (1 trial, no CI)",
        "express > 512 users (above the top step)"."""
        value = self.value_text(with_unit=True)
        notes = [self.note] if self.note else []
        # a bound's interval [bound, ∞] says nothing more than "> bound"
        if self.has_interval and not (self.bound and (self.low, self.high) == self.point_span()):
            interval = f" [{fmt(self.low)}–{fmt(self.high)}]"
            value += interval if self.interval_kind == "95% CI" else f" ({self.interval_kind}{interval})"
        elif not self.has_interval:
            notes.append("1 trial, no CI" if self.n == 1 else f"{self.n} trials, no CI")
        return value + (f" ({'; '.join(notes)})" if notes else "")


def fmt(value: float | None) -> str:
    """A short human form: 3 significant digits, thousands separated, whole numbers without decimals."""
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if abs(value) < 1e-9:  # e.g. the CV of a constant series, 1e-16 from rounding
        return "0"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


@dataclass(frozen=True)
class CheckOutcome:
    reading: str
    expected: str
    verdict: str
    reason: str
    figures: list[Figure] = field(default_factory=list)  # what the verdict was decided on
    context: list[Figure] = field(default_factory=list)  # each target's own figure behind a ratio
    measured_text: str = ""  # for checks without figures (behaviour, code)

    def shown(self, short: bool = False) -> list[Figure]:
        """Short: the figures decided on, and a target's own figure only when it was above the top step."""
        return [*(f for f in self.context if f.note), *self.figures] if short else [*self.context, *self.figures]

    def measured(self, short: bool = False) -> list[str]:
        """Figures grouped by where they were read: "crud users=32 rps: express 773 req/s, …, express/fastapi 0.66×"."""
        return grouped(self.shown(short)) or ([self.measured_text] if self.measured_text else [])


def grouped(figures: list[Figure]) -> list[str]:
    groups: dict[str, list[str]] = defaultdict(list)
    for f in figures:
        if f.text() not in groups[f.where]:
            groups[f.where].append(f.text())
    return [f"{where}: {', '.join(texts)}" for where, texts in groups.items()]


@dataclass(frozen=True)
class ClaimVerdict:
    claim: Claim
    verdict: str
    reason: str
    outcomes: list[CheckOutcome]

    @property
    def primary(self) -> list[CheckOutcome]:
        first = self.claim.readings()[0]
        return [o for o in self.outcomes if o.reading == first]

    def measured(self, short: bool = False) -> str:
        """Every figure once, grouped by reading and by where it was read."""
        return " | ".join(_by_reading(self.outcomes, lambda outs: grouped(
            [f for o in outs for f in o.shown(short)]) + [o.measured_text for o in outs])) or "—"

    def expected(self) -> str:
        return " | ".join(_by_reading(self.outcomes, lambda outs: [o.expected for o in outs]))


def _by_reading(outcomes: list[CheckOutcome], texts: Callable[[list[CheckOutcome]], list[str]]) -> list[str]:
    """Texts per reading, each once, the reading named when there are several."""
    readings: dict[str, list[CheckOutcome]] = defaultdict(list)
    for o in outcomes:
        readings[o.reading].append(o)
    out = []
    for reading, outs in readings.items():
        items = list(dict.fromkeys(t for t in texts(outs) if t))
        if items:
            out.append(("" if len(readings) == 1 else f"{reading}: ") + "; ".join(items))
    return out


# ---- reading figures from a run -----------------------------------------------------------------


class RunView:
    """Per-trial values and flags of a RunResults, indexed for the checks."""

    def __init__(self, results: RunResults) -> None:
        self.results = results
        self.values: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
        self.trials: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)  # beside values
        self.units: dict[tuple[str, str, str, str], str] = {}
        for m in results.metrics:
            key = (m.target, m.scenario, m.step, m.metric)
            self.values[key].append(m.value)
            self.trials[key].append(m.trial)
            self.units[key] = m.unit
        self.trial_flags: dict[tuple[str, str], set[str]] = defaultdict(set)
        for t in results.trials:
            self.trial_flags[(t.target, t.scenario)].update(t.flags)

    def targets(self) -> set[str]:
        return {t.target for t in self.results.trials} | {m.target for m in self.results.metrics}

    def steps(self, target: str, scenario: str, metric: str) -> list[str]:
        return [k[2] for k in self.values if k[0] == target and k[1] == scenario and k[3] == metric]

    def censored(self, key: tuple[str, str, str, str]) -> list[bool]:
        """Beside values[key]: True for a trial whose value is only a lower bound (its M_censored is 1)."""
        flag_key = (*key[:3], key[3] + CENSORED_SUFFIX)
        marked = {t for t, v in zip(self.trials.get(flag_key, []), self.values.get(flag_key, []), strict=True)
                  if v >= 0.5}
        return [t in marked for t in self.trials[key]]

    def flags(self, target: str, scenario: str, step: str) -> set[str]:
        """Trial flags at this step; a whole-trial figure ("" step) inherits every step's flags."""
        base = ",".join(p for p in step.split(",") if p and not p.startswith("endpoint="))
        return {f for f in self.trial_flags[(target, scenario)] if not base or f.partition(":")[2] == base}

    def grid(self, scenario: str, parameter: str) -> list[float]:
        """The values a step parameter takes in a scenario's configuration, e.g. its users steps."""
        params = self.results.config.get("scenario_params", {}).get(scenario, {})
        values = params.get(parameter) or params.get("matrix", {}).get(parameter) or []
        return sorted(float(v) for v in values)

    def missing_reason(self, target: str, scenario: str, metric: str) -> str:
        if target not in self.targets():
            return f"target {target!r} is not in this run"
        skipped = self.results.config.get("skipped_scenarios", {})
        if scenario in skipped:
            return f"scenario {scenario} was skipped: {skipped[scenario]}"
        if not any(k[0] == target and k[1] == scenario for k in self.values):
            return f"scenario {scenario} was not run for {target}"
        return f"{target} has no {metric} in scenario {scenario}"


class Missing(Exception):
    """A figure a check needs is not in the run; the message is the reason."""


def select_step(steps: list[str], selector: str, reference: dict[str, float] | None = None) -> str:
    """The step label among `steps` matching a selector such as "ms=20,users=max" (endpoint rows excluded).

    Fixed values must match; "max"/"min" pick the extreme; "same" picks the value nearest (on a log
    scale) the reference step's. Raises Missing when nothing matches.
    """
    wanted = step_params(selector)
    candidates = [s for s in steps if "endpoint=" not in s or "endpoint" in wanted]
    for key, value in wanted.items():
        if isinstance(value, float) or value not in ("max", "min", "same"):
            candidates = [s for s in candidates if step_params(s).get(key) == value]
    for key, value in wanted.items():
        if value in ("max", "min", "same") and candidates:
            candidates = [s for s in candidates if isinstance(step_params(s).get(key), float)]
            pick = _extreme(candidates, key, value, (reference or {}).get(key))
            candidates = [pick] if pick else []
    if len(candidates) != 1:
        found = ", ".join(sorted(s or '""' for s in steps)) or "none"
        raise Missing(f"no single step matches {selector or '(whole trial)'!r} (steps: {found})")
    return candidates[0]


def _extreme(candidates: list[str], key: str, how: str, reference: float | None) -> str | None:
    if not candidates:
        return None
    value: Callable[[str], float] = lambda s: float(step_params(s)[key])  # noqa: E731
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

    @property
    def where(self) -> str:
        return " ".join(p for p in (self.scenario, self.step, self.metric) if p)

    def censored_trials(self) -> list[int]:
        return [t for t, c in zip(self.trials, self.censored, strict=True) if c]

    def extremes(self) -> tuple[list[float], list[float]]:
        """The values with each censored one at its bound (the least it can be) and far above it."""
        far = [max(v, 1.0) * FAR_ABOVE if c else v for v, c in zip(self.values, self.censored, strict=True)]
        return list(self.values), far

    def note(self) -> str:
        k, n = len(self.censored_trials()), len(self.values)
        return "" if k == 0 else "above the top step" if k == n else f"{k} of {n} trials above the top step"


def read_sample(view: RunView, target: str, place: Place | GapPlace, metric: str, step: str | None = None,
                transform: str = "none") -> Sample:
    if not view.steps(target, place.scenario, metric):
        raise Missing(view.missing_reason(target, place.scenario, metric))
    step = step if step is not None else select_step(view.steps(target, place.scenario, metric), place.step)
    key = (target, place.scenario, step, metric)
    if key not in view.values:
        raise Missing(f"{target} has no {metric} at {place.scenario} {step}")
    values = [abs(v) for v in view.values[key]] if transform == "abs" else list(view.values[key])
    censored = view.censored(key)
    flags = sorted(view.flags(target, place.scenario, step))
    # noise is judged on the measured trials; censored ones are bounds, which open the interval instead
    measured = [v for v, c in zip(values, censored, strict=True) if not c]
    if measured and estimate(measured).noisy:
        flags.append("noisy")
    return Sample(target, place.scenario, step, metric, values, view.units[key], tuple(flags),
                  tuple(view.trials[key]), tuple(censored))


def common_step(view: RunView, targets: list[str], place: Place | GapPlace, metric: str,
                reference: dict[str, float] | None = None) -> str:
    """One step label both targets have, so a ratio compares like with like."""
    for target in targets:
        if not view.steps(target, place.scenario, metric):
            raise Missing(view.missing_reason(target, place.scenario, metric))
    shared = set.intersection(*(set(view.steps(t, place.scenario, metric)) for t in targets))
    return select_step(sorted(shared), place.step, reference)


# ---- intervals and their place against a claim's range -----------------------------------------


@dataclass(frozen=True)
class Interval:
    value: float
    low: float | None
    high: float | None
    kind: str = "95% CI"
    bound: str = ""  # as Figure.bound


def target_interval(sample: Sample, view: RunView, quantized: str | None) -> Interval:
    if any(sample.censored) and not quantized:
        return censored_median(sample)
    est = estimate(sample.values)
    if quantized:
        grid = view.grid(sample.scenario, quantized)
        low = est.ci_low if est.ci_low is not None else est.median
        high = est.ci_high if est.ci_high is not None else est.median
        return Interval(est.median, _step_floor(low, grid), _next_step(high, grid), "step resolution")
    return Interval(est.median, est.ci_low, est.ci_high)


def censored_median(sample: Sample) -> Interval:
    """The median and its CI when some trials are only lower bounds: computed with those at their
    bound and far above it; a median that moves is a lower bound, a CI end that moves is open (∞)."""
    at_bound, far = (estimate(values) for values in sample.extremes())
    high = at_bound.ci_high if at_bound.ci_high is None or far.ci_high == at_bound.ci_high else math.inf
    return Interval(at_bound.median, at_bound.ci_low, high, bound=">" if far.median != at_bound.median else "")


def censored_ratio(a: Sample, b: Sample) -> Interval:
    """median(a)/median(b) when some trials are only lower bounds. The ratio rises with a's values
    and falls with b's, so its least is with a's censored values at their bound and b's far above,
    its most the other way round; what moves between the extremes is known on one side only."""
    (a_at, a_far), (b_at, b_far) = a.extremes(), b.extremes()
    base, least, most = ratio_estimate(a_at, b_at), ratio_estimate(a_at, b_far), ratio_estimate(a_far, b_at)
    above, below = most.value != base.value, least.value != base.value
    bound = "?" if above and below else ">" if above else "<" if below else ""
    if base.ci_low is None or base.ci_high is None:
        return Interval(base.value, None, None, bound=bound)
    low = base.ci_low if least.ci_low == base.ci_low else 0.0
    high = base.ci_high if most.ci_high == base.ci_high else math.inf
    return Interval(base.value, low, high, bound=bound)


def _step_floor(value: float, grid: list[float]) -> float:
    return max([g for g in grid if g <= value], default=0.0)


def _next_step(value: float, grid: list[float]) -> float:
    """The true value lies below the next step up (the one that failed); above the top step, unbounded."""
    return min([g for g in grid if g > value], default=math.inf)


def position(low: float, high: float, lo: float | None, hi: float | None) -> str:
    """'inside', 'outside' or 'straddles' of an interval [low, high] against the range [lo, hi]."""
    lo_ = -math.inf if lo is None else lo
    hi_ = math.inf if hi is None else hi
    if low >= lo_ and high <= hi_:
        return "inside"
    if high < lo_ or low > hi_:
        return "outside"
    return "straddles"


def range_text(lo: float | None, hi: float | None, unit: str = "") -> str:
    """ "in [50, 200] ms", "≤ 1", "≥ 40 MB": reads after "is" or "is not"."""
    suffix = "" if unit in ("", "×") else f" {unit}"
    if lo is None:
        return f"≤ {fmt(hi)}{suffix}"
    if hi is None:
        return f"≥ {fmt(lo)}{suffix}"
    return f"in [{fmt(lo)}, {fmt(hi)}]{suffix}"


def judge_figure(figure: Figure, lo: float | None, hi: float | None, policy: Policy, unit: str = "",
                 wanted: str | None = None) -> tuple[str, str]:
    """(verdict, reason) of one figure against [lo, hi], applying the blocking-flag and single-trial rules."""
    blocked = blocking(figure.flags, policy)
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
        return ("supported" if inside else "refuted"), f"{what} is {'' if inside else 'not '}{wanted}"
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


def blocking(flags: tuple[str, ...], policy: Policy) -> str:
    """The blocking flags among `flags`, in words, steps grouped: "load generator saturated at users=8, 32"."""
    steps: dict[str, list[str]] = defaultdict(list)
    for flag in sorted(flags, key=_flag_order):
        name, _, step = flag.partition(":")
        if name in policy.blocking_flags and step not in steps[name]:
            steps[name].append(step)
    return "; ".join(FLAG_WORDS.get(name, name) + _at(found) for name, found in steps.items() if found)


def _flag_order(flag: str) -> tuple[str, float]:
    name, _, step = flag.partition(":")
    users = step_params(step).get("users", 0.0)
    return name, users if isinstance(users, float) else 0.0


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
            flags: tuple[str, ...] | None = None) -> Figure:
    """A target's own figure (unit None: the sample's, with its censoring note) or a ratio of two."""
    return Figure(label=label, where=sample.where, value=interval.value, low=interval.low, high=interval.high,
                  unit=sample.unit if unit is None else unit, n=len(sample.values) if n is None else n,
                  flags=sample.flags if flags is None else flags, interval_kind=interval.kind,
                  bound=interval.bound, note=sample.note() if unit is None else "")


def judge_range(check: RangeCheck, ctx: Context) -> CheckOutcome:
    sample = read_sample(ctx.view, check.target, check, check.metric, transform=check.transform)
    figure = _figure(check.target, sample, target_interval(sample, ctx.view, check.quantized))
    verdict, reason = judge_figure(figure, check.min, check.max, ctx.policy, sample.unit)
    # to tell whether the figure is below max (or, without max, above min), the sweep must reach it
    needed = {sample.target: check.max if check.max is not None else check.min}
    reason += censoring_note([sample], needed if verdict == "inconclusive" else None)
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
    if quantized:
        interval = Interval(_divide(ia.value, ib.value), _divide(ia.low, ib.high), _divide(ia.high, ib.low), ia.kind)
        return _figure(label, a, interval, "×", n, flags), context
    try:
        if any(a.censored) or any(b.censored):
            interval = censored_ratio(a, b)
        else:
            ratio = ratio_estimate(a.values, b.values)
            interval = Interval(ratio.value, ratio.ci_low, ratio.ci_high)
    except ValueError as exc:
        raise Missing(f"ratio {label} of {a.where} is undefined: {exc}") from None
    return _figure(label, a, interval, "×", n, flags), context


def _divide(a: float | None, b: float | None) -> float:
    assert a is not None and b is not None
    if b == 0:
        return math.inf if a > 0 else math.nan
    return a / b


def judge_ratio(check: RatioCheck, ctx: Context) -> CheckOutcome:
    pair = [check.numerator, check.denominator]
    step = common_step(ctx.view, pair, check, check.metric)
    figure, context = ratio_figures(ctx, *pair, check, check.metric, check.transform, check.quantized, step)
    if math.isnan(figure.value):
        raise Missing(f"ratio {figure.label} of {figure.where} is 0/0")
    verdict, reason = judge_figure(figure, check.min, check.max, ctx.policy)
    if check.quantized and verdict == "inconclusive":
        reason += resolution_note(context, ctx.view.grid(check.scenario, check.quantized), check.quantized)
    samples = [read_sample(ctx.view, t, check, check.metric, step, check.transform) for t in pair]
    needed = ratio_needed(context, check.min, check.max) if verdict == "inconclusive" else None
    reason += censoring_note(samples, needed)
    return CheckOutcome(check.reading, check.expected(), verdict, reason, [figure], context)


def ratio_needed(context: list[Figure], lo: float | None, hi: float | None) -> dict[str, float]:
    """The top step that would decide a ratio a/b whose one side passed the sweep: a must be measured
    up to the range's upper end (or, without one, its lower end) × b's highest; b up to a's highest
    ÷ the range's lower end (or its upper end). Nothing when both sides are only bounds."""
    a, b = context
    a_high, b_high = (f.high if f.high is not None else f.value for f in (a, b))
    a_open, b_open = (bool(f.bound) or math.isinf(f.high or 0.0) for f in (a, b))
    if a_open and not b_open:
        return {a.label: (hi if hi is not None else lo or 0.0) * b_high}
    if b_open and not a_open and (lo or hi):
        return {b.label: a_high / (lo if lo else hi or 1.0)}
    return {}


def censoring_note(samples: list[Sample], needed: dict[str, float] | None) -> str:
    """"; express trials 1, 2 passed the top step (512 users), each value only a lower bound: a top
    step of at least 560 users would decide it", or "" without censored trials. `needed` is None
    when the verdict is decided, else the top step each target would need (when it can be told)."""
    parts = []
    for s in samples:
        trials = s.censored_trials()
        if not trials:
            continue
        top = max(v for v, c in zip(s.values, s.censored, strict=True) if c)
        unit = "" if s.unit in ("", "×", "ratio") else f" {s.unit}"
        text = (f"{s.target} trial{'s' if len(trials) > 1 else ''} {', '.join(map(str, trials))} passed the "
                f"top step ({fmt(top)}{unit}), each value only a lower bound")
        if needed is not None and needed.get(s.target, 0) > top:
            text += f": a top step of at least {fmt(needed[s.target])}{unit} would decide it"
        elif needed is not None:
            text += ": a sweep with a higher top step would decide it"
        parts.append(text)
    return "".join(f"; {p}" for p in parts)


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
        figures = [_figure(s.target, s, target_interval(s, ctx.view, check.quantized)) for s in samples]
        return CheckOutcome(check.reading, expected, "refuted", f"{check.higher}'s median is 0: nothing is lower",
                            context=figures)
    ratio, context = ratio_figures(ctx, check.lower, check.higher, check, check.metric, check.transform,
                                   check.quantized, step)
    # strictly below 1: equal figures are not "lower"
    verdict, reason = judge_figure(ratio, None, 1.0 - 1e-12, ctx.policy, wanted="below 1")
    reason += censoring_note(samples, {} if verdict == "inconclusive" else None)
    return CheckOutcome(check.reading, expected, verdict, reason, [ratio], context)


def gap_factor(figure: Figure) -> Interval:
    """The gap as a factor max(r, 1/r) ≥ 1, with the interval mapped through it."""
    value = max(figure.value, 1 / figure.value) if figure.value > 0 else math.inf
    if not figure.has_interval:
        return Interval(value, None, None)
    assert figure.low is not None and figure.high is not None
    low, high = figure.low, figure.high
    if low <= 1 <= high:
        return Interval(value, 1.0, max(high, 1 / low if low > 0 else math.inf), figure.interval_kind)
    if high < 1:
        return Interval(value, 1 / high, 1 / low if low > 0 else math.inf, figure.interval_kind)
    return Interval(value, low, high, figure.interval_kind)


def judge_gap(check: GapCheck, ctx: Context) -> CheckOutcome:
    """The gap at `larger` exceeds the gap at `smaller`: their intervals must not overlap to decide.

    Non-overlap of two 95% intervals is a conservative test of a difference (Schenker & Gentleman
    2001): an overlap is called inconclusive rather than tested more finely.
    """
    pair = [check.numerator, check.denominator]
    expected = check.expected()
    big_step = common_step(ctx.view, pair, check.larger, check.metric)
    small_step = common_step(ctx.view, pair, check.smaller, check.metric,
                             {k: v for k, v in step_params(big_step).items() if isinstance(v, float)})
    big, big_context = ratio_figures(ctx, *pair, check.larger, check.metric, step=big_step)
    small, small_context = ratio_figures(ctx, *pair, check.smaller, check.metric, step=small_step)
    verdict, reason = _compare_gaps(big, small, ctx.policy)
    return CheckOutcome(check.reading, expected, verdict, reason, [big, small], [*big_context, *small_context])


def _compare_gaps(big: Figure, small: Figure, policy: Policy) -> tuple[str, str]:
    blocked = "; ".join(f"{f.where} {b}" for f in (big, small) if (b := blocking(f.flags, policy)))
    if blocked:
        return "inconclusive", f"{blocked}: cannot support or refute"
    gb, gs = gap_factor(big), gap_factor(small)
    text = f"gap {_gap_text(gb)} at {big.where} vs {_gap_text(gs)} at {small.where}"
    if gb.low is not None and gb.high is not None and gs.low is not None and gs.high is not None:
        if gb.low > gs.high:
            return "supported", text
        if gb.high < gs.low:
            return "refuted", text
        return "inconclusive", text + ": the intervals overlap"
    n = min(big.n, small.n)
    if policy.single_trial == "inconclusive":
        return "inconclusive", text + f" ({n} trial(s), no CI: not judged)"
    return ("supported" if gb.value > gs.value else "refuted"), text + " (no CI: judged on the point values)"


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
    return CheckOutcome(check.reading, check.expected(), check.verdict, check.reason,
                        measured_text=f"source code ({found})" if found else "source code")


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
    try:
        return JUDGES[type(check)](check, ctx)
    except Missing as exc:
        return CheckOutcome(check.reading, check.expected(), "not checkable", str(exc))


# ---- combining checks into a claim's verdict ----------------------------------------------------


def combine(outcomes: list[CheckOutcome]) -> tuple[str, str]:
    """All checks of one reading must hold: one refuted refutes; else any doubt is inconclusive."""
    verdicts = [o.verdict for o in outcomes]
    for verdict in ("refuted", "inconclusive"):
        if verdict in verdicts:
            return verdict, "; ".join(o.reason for o in outcomes if o.verdict == verdict)
    if "not checkable" in verdicts:
        reasons = "; ".join(o.reason for o in outcomes if o.verdict == "not checkable")
        if all(v == "not checkable" for v in verdicts):
            return "not checkable", reasons
        return "inconclusive", f"part of the claim could not be checked: {reasons}"
    return "supported", "; ".join(o.reason for o in outcomes)


def judge_claim(claim: Claim, ctx: Context) -> ClaimVerdict:
    outcomes = [judge_check(check, ctx) for check in claim.checks]
    readings = {r: combine([o for o in outcomes if o.reading == r]) for r in claim.readings()}
    first, *others = claim.readings()
    # The first reading decides; when this run lacks its figures, the next reading that has
    # them decides instead, and the reason says so.
    for fallback in others:
        if readings[first][0] != "not checkable":
            break
        missing = readings[first][1]
        first, others = fallback, [r for r in claim.readings() if r != fallback]
        readings[first] = (readings[first][0], f"{readings[first][1]} (decided by the {first} reading: {missing})")
    verdict, reason = readings[first]
    if claim.readings_must_agree:
        verdict, reason = _agreement(first, readings)
    elif others:
        reason += "".join(f" [{r} reading: {readings[r][0]}]" for r in others)
    return ClaimVerdict(claim, verdict, reason, outcomes)


def _agreement(first: str, readings: dict[str, tuple[str, str]]) -> tuple[str, str]:
    judged = {r: v for r, (v, _) in readings.items() if v != "not checkable"}
    verdict, reason = readings[first]
    if len(set(judged.values())) > 1:
        split = ", ".join(f"the {r} reading gives {v}" for r, v in judged.items())
        return "inconclusive", f"the verdict depends on the reading: {split}. {reason}"
    if len(judged) > 1:
        return verdict, f"{reason} (same verdict in every reading: {', '.join(judged)})"
    return verdict, reason


def judge_claims(results: RunResults, claims: ClaimsFile | None = None) -> list[ClaimVerdict]:
    claims = claims or load_claims()
    ctx = Context(RunView(results), claims.policy, claims.base_dir)
    return [judge_claim(claim, ctx) for claim in claims.claims]


# ---- the terminal table -------------------------------------------------------------------------

STYLE = {"supported": "green", "refuted": "red", "inconclusive": "yellow", "not checkable": "dim"}


def verdicts_table(verdicts: list[ClaimVerdict], title: str = "The article's claims") -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    for column, width in (("id", None), ("claim", 32), ("measured (median [95% CI])", 50), ("verdict", None),
                          ("reason", 56)):
        table.add_column(column, overflow="fold", max_width=width)
    for v in verdicts:
        table.add_row(v.claim.id, v.claim.claim, v.measured(short=True), f"[{STYLE[v.verdict]}]{v.verdict}[/]",
                      v.reason)
    return table


def claims_table(results: RunResults, claims_path: Path | None = None) -> Table:
    """The claims table of a run, for the end of `bench run`'s terminal summary."""
    return verdicts_table(judge_claims(results, load_claims(claims_path)), f"{results.run_id}: the article's claims")
