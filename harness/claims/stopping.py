"""When a scenario run in paired slices may stop adding pairs: after a planned look of its
group-sequential design (harness.stats.sequential), every ratio a claim reads on it is decided.

A ratio is decided when the design's interval lies wholly inside or wholly outside its claim's band
(sequential.decide), or when it is precise enough: its half-width, relative to the median, at most
`precision`. Because every look's interval holds together with the design's simultaneous coverage,
stopping at the first look where this holds keeps that coverage (Pocock 1977; Armitage, McPherson &
Rowe 1969 on why a fixed-n interval would not). A gap's ratios have no band of their own: precision
decides them. A scenario that no band reads gets its frameworks' ratios of throughput and CPU per
request, so a plain run still stops on precision rather than on its budget.

Pure: it reads a RunView of the pairs so far and the claims file; the run decides what to do with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from harness.claims.schema import ClaimsFile, CompareCheck, GapCheck, GapPlace, Place, RatioCheck, range_text
from harness.claims.scope import not_checked
from harness.claims.view import Interval, Missing, common_step, paired_rounds, read_sample, sliced_ratio
from harness.numbers import number as fmt
from harness.results import RunView, Step
from harness.stats.sequential import SequentialDesign, decide

EVERY_RATIO_DECIDED = "every ratio decided"
PRECISION_REACHED = "precision reached"
DEFAULT_METRICS = ("rps", "server_cpu_us_per_req")  # read where no claim's band is: throughput and cost
DECIDED, PRECISE, OPEN, UNREAD = "decided", "precise", "open", "not read"


@dataclass(frozen=True)
class Watched:
    """One ratio a claim reads on the scenario, and the band that decides it (None: only precision does)."""

    name: str  # the claim's id, or "" for a default ratio
    numerator: str
    denominator: str
    place: Place | GapPlace
    metric: str
    band: tuple[float | None, float | None] | None = None
    transform: str = "none"
    quantized: str | None = None
    reference: dict[str, float] | None = None  # for a "same" step selector: the step it must be near


class Decision(NamedTuple):
    """Whether to stop, why (for results.config's stopped_because, or the ratio still open), and each
    ratio's state in words ("decided: [1.32–1.41] lies outside [0.9, 1.1]")."""

    stop: bool
    why: str
    ratios: dict[str, str]


def decided(view: RunView, scenario: str, design: SequentialDesign, claims: ClaimsFile,
            precision: float = 0.05) -> Decision:
    """After a look at `scenario`'s pairs so far: stop when every ratio a claim reads there is decided
    (EVERY_RATIO_DECIDED) or, some only by precision, PRECISION_REACHED; else the first open ratio.
    No ratio read at all (figures not recorded per pair) is no ground to stop: the budget decides."""
    watched = claims_ratios(view, scenario, claims)
    states = [ratio_state(view, w, design, precision) for w in watched]
    if not any(w.band is not None and kind != UNREAD for w, (kind, _, _) in zip(watched, states, strict=True)):
        states += [ratio_state(view, w, design, precision) for w in default_ratios(view, scenario, claims)]
    words = {label: f"{kind}: {text}" for kind, label, text in states}
    kinds = [kind for kind, _, _ in states if kind != UNREAD]
    if not kinds:
        return Decision(False, f"no ratio of {scenario} read per pair", words)
    still = [f"{label} still open: {text}" for kind, label, text in states if kind == OPEN]
    if still:
        return Decision(False, still[0] + (f" (and {len(still) - 1} more)" if len(still) > 1 else ""), words)
    return Decision(True, EVERY_RATIO_DECIDED if PRECISE not in kinds else PRECISION_REACHED, words)


def claims_ratios(view: RunView, scenario: str, claims: ClaimsFile) -> list[Watched]:
    """The ratios the claims' checks read on `scenario`: ratio checks (and compare checks, a ratio below
    1) with their bands, a gap's ratio at each of its places there; not those the run's profile cannot
    judge (scope.not_checked)."""
    found: list[Watched] = []
    for claim in claims.claims:
        for check in claim.checks:
            if isinstance(check, Place) and check.scenario == scenario and not not_checked(
                    check, view.results.config):
                found += _of_place(claim.id, check)
            elif isinstance(check, GapCheck):
                found += _of_gap(view, claim.id, check, scenario)
    return [w for i, w in enumerate(found) if w not in found[:i]]  # a check read twice (two readings) once


def _of_place(name: str, check: Place) -> list[Watched]:
    if isinstance(check, RatioCheck):
        return [Watched(name, check.numerator, check.denominator, check, check.metric, (check.min, check.max),
                        check.transform, check.quantized)]
    if isinstance(check, CompareCheck):  # lower < higher: the ratio lower/higher below 1
        return [Watched(name, check.lower, check.higher, check, check.metric, (None, 1.0), check.transform,
                        check.quantized)]
    return []


def _of_gap(view: RunView, name: str, check: GapCheck, scenario: str) -> list[Watched]:
    pair = [check.numerator, check.denominator]
    found = []
    if check.larger.scenario == scenario:
        found.append(Watched(name, *pair, check.larger, check.metric))
    if check.smaller.scenario == scenario:
        # the smaller place may pick the step nearest the larger one's, as judge_gap reads it
        try:
            big = common_step(view, pair, check.larger, check.metric)
            reference = {k: v for k, v in Step(big).params.items() if isinstance(v, float)}
        except Missing:
            reference = None
        found.append(Watched(name, *pair, check.smaller, check.metric, reference=reference))
    return found


def default_ratios(view: RunView, scenario: str, claims: ClaimsFile) -> list[Watched]:
    """The frameworks' ratios of DEFAULT_METRICS at the scenario's one load step, for a scenario no band
    is read on: the pair the claims compare most (Express over FastAPI), when both ran."""
    pair = default_pair(view, claims)
    if pair is None:
        return []
    place = Place(scenario=scenario, metric=DEFAULT_METRICS[0])
    return [Watched("", *pair, place, metric) for metric in DEFAULT_METRICS]


def default_pair(view: RunView, claims: ClaimsFile) -> tuple[str, str] | None:
    targets = set(view.targets())
    pairs = [(c.numerator, c.denominator) for claim in claims.claims for c in claim.checks
             if isinstance(c, RatioCheck | GapCheck) and {c.numerator, c.denominator} <= targets]
    return max(dict.fromkeys(pairs), key=pairs.count) if pairs else None


def ratio_state(view: RunView, watched: Watched, design: SequentialDesign, precision: float) -> tuple[str, str, str]:
    """(DECIDED | PRECISE | OPEN | UNREAD, the ratio's label, its state in words)."""
    pair = [watched.numerator, watched.denominator]
    label = f"{'/'.join(pair)} {watched.place.scenario} {watched.place.step or '(one step)'} {watched.metric}"
    try:
        step = _step(view, watched)
        label = f"{'/'.join(pair)} {watched.place.scenario} {step} {watched.metric}"
        a, b = (read_sample(view, t, watched.place, watched.metric, step, watched.transform) for t in pair)
        if not paired_rounds(a, b):
            raise Missing(f"{'/'.join(pair)} slices do not form pairs (trial numbers differ)")
        grid = view.grid(watched.place.scenario, watched.quantized) if watched.quantized else None
        interval = sliced_ratio(a, b, design, grid)
    except Missing as exc:
        return UNREAD, _named(watched, label), str(exc)
    except ValueError as exc:  # a pair whose ratio is 0/0
        return UNREAD, _named(watched, label), f"the ratio is undefined: {exc}"
    kind, text = _judged(interval, watched.band, precision, len(a.values))
    return kind, _named(watched, label), text


def _step(view: RunView, watched: Watched) -> str:
    """The step the check reads; a "same" selector with nothing to be near reads the one step left."""
    pair = [watched.numerator, watched.denominator]
    try:
        return common_step(view, pair, watched.place, watched.metric, watched.reference)
    except Missing:
        if watched.reference is not None or "same" not in watched.place.step:
            raise
        fixed = ",".join(part for part in watched.place.step.split(",") if not part.endswith("=same"))
        return common_step(view, pair, GapPlace(scenario=watched.place.scenario, step=fixed), watched.metric)


def _named(watched: Watched, label: str) -> str:
    """"P2: express/fastapi crud users=64 rps against in [0.9, 1.1]"; a default ratio by its label alone."""
    band = f" against {range_text(*watched.band)}" if watched.band is not None else ""
    return f"{watched.name + ': ' if watched.name else ''}{label}{band}"


def _judged(interval: Interval, band: tuple[float | None, float | None] | None, precision: float,
            pairs: int) -> tuple[str, str]:
    if interval.low is None or interval.high is None:
        return OPEN, f"no interval yet at {pairs} pairs"
    span = f"[{fmt(interval.low)}–{fmt(interval.high)}]"
    if band is not None:
        where = decide((interval.low, interval.high), (_end(band[0], -math.inf), _end(band[1], math.inf)))
        if where is not None:
            return DECIDED, f"{span} lies {where} {range_text(*band).removeprefix('in ')}"
    half = half_width(interval)
    width = f"half-width {half:.1%}" if math.isfinite(half) else "unbounded"
    if half <= precision:
        return PRECISE, f"{span}, {width} ≤ {precision:.0%}"
    against = f" straddles {range_text(*band).removeprefix('in ')}," if band is not None else ""
    return OPEN, f"{span}{against} {width} > {precision:.0%}"


def half_width(interval: Interval) -> float:
    """Half the interval's width relative to the median: 0.03 for [0.832–0.884] around 0.863."""
    if interval.low is None or interval.high is None or not interval.value or not math.isfinite(interval.value):
        return math.inf
    return (interval.high - interval.low) / 2 / abs(interval.value)


def _end(value: float | None, default: float) -> float:
    return default if value is None else value
