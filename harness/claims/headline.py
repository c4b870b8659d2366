"""One sentence per claim in plain words, from its figures: what the article says, what this machine
measured (each figure with its interval, the interval's real coverage and the trial count), and what
follows. Metric names and flags stay in the detail below it."""

from __future__ import annotations

import math

from harness.claims.machine import display
from harness.claims.outcomes import CheckOutcome, ClaimVerdict
from harness.claims.schema import BY_INSPECTION, CodeCheck
from harness.claims.view import Figure
from harness.numbers import number as fmt


def figure_words(figure: Figure, with_place: bool = False) -> str:
    """"Express 225 ms (219–244 ms, 94% CI, 5 trials)", "Express/FastAPI 0.57× (…, 5 rounds)",
    "Express more than 512 users (some trials passed the sweep's top step)"."""
    unit = "×" if figure.unit == "×" else "" if figure.unit in ("", "ratio") else f" {figure.unit}"
    name = display(figure.label) + (f" in {figure.where.split()[0]}" if with_place else "")
    if figure.bound == "?":
        return f"{name}: unknown (trials on both sides passed the sweep's top step)"
    value = f"{'more than ' if figure.bound == '>' else 'less than ' if figure.bound == '<' else ''}" \
            f"{fmt(figure.value)}{unit}"
    if not figure.has_interval:
        return f"{name} {value} ({figure.count_text}, no interval)"
    assert figure.low is not None and figure.high is not None
    if figure.bound or math.isinf(figure.high):
        if figure.bound == "<":  # only an upper bound: below the lowest step
            least = f"at most {fmt(figure.high)}{unit}; " if math.isfinite(figure.high) else "not bounded: "
        else:
            least = f"at least {fmt(figure.low)}{unit}; " if figure.low > 0 else "not bounded: "
        cause = figure.note or "some trials passed the sweep's top step"  # a ratio's note names the side
        return f"{name} {value} ({least}{cause})"
    return f"{name} {value} ({fmt(figure.low)}–{fmt(figure.high)}{unit}, {figure.interval_kind}, {figure.count_text})"


def measured_figures(outcomes: list[CheckOutcome]) -> list[Figure]:
    """The figures the verdict was decided on and, behind a ratio, each target's own; each once."""
    seen: dict[tuple[str, str], Figure] = {}
    for o in outcomes:
        for f in [*o.context, *o.figures] if len(o.figures) == 1 else o.figures:  # a gap: its two ratios
            seen.setdefault((f.label, f.where), f)
    return list(seen.values())


def headline(v: ClaimVerdict) -> str:
    said = f"The article says: {(v.claim.figure or v.claim.claim).rstrip('.')}."
    if v.verdict == "not checkable":
        why = v.reason.split(" (decided by")[0].split(" [")[0]  # the first reason; other readings' are detail
        return f"{said} This run cannot check it: {why.rstrip('.')}."
    if v.verdict == BY_INSPECTION:
        return f"{said} Not measured: {inspection(v)}."
    deciding = [o for o in v.outcomes if o.reading == (v.decided_by or v.outcomes[0].reading)]
    figures = measured_figures(deciding)
    places = len({f.where.split()[0] for f in figures}) > 1
    measured = f" This machine measured {'; '.join(figure_words(f, places) for f in figures)}." if figures else ""
    return f"{said}{measured} {follows(v)}"


def inspection(v: ClaimVerdict) -> str:
    """"a reading of the code supports the claim; …": what a verdict by inspection rests on."""
    reading = v.decided_by or v.outcomes[0].reading
    stated = {c.verdict for c in v.claim.checks if isinstance(c, CodeCheck) and c.reading == reading}
    verb = "supports" if stated == {"supported"} else "refutes" if stated == {"refuted"} else "judges"
    return (f"a reading of the code {verb} the claim; it holds on any run, an empty one too, while the code it "
            "cites is unchanged")


def follows(v: ClaimVerdict) -> str:
    if v.verdict == "supported":
        return "So this run supports the claim."
    if v.verdict == "refuted":
        failed = [p.name for p in v.parts if p.verdict == "refuted"]
        return "So this run refutes the claim" + (f" ({_and(failed)} {_does(failed)} not hold)." if failed else ".")
    if v.verdict == "partly supported":
        held = [p.name for p in v.parts if p.verdict == "supported"]
        failed = [p.name for p in v.parts if p.verdict == "refuted"]
        return (f"So the claim holds only in part: {_and(held)} {_holds(held)}; {_and(failed)} "
                f"{_does(failed)} not.")
    step = f" What would decide it: {'; '.join(v.decide)}." if v.decide else ""
    held = [p.name for p in v.parts if p.verdict == "supported"]
    partly = f" ({_and(held)} {_holds(held)})" if held else ""
    return f"So this run cannot decide it{partly}.{step}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _holds(names: list[str]) -> str:
    return "holds" if len(names) == 1 else "hold"


def _does(names: list[str]) -> str:
    return "does" if len(names) == 1 else "do"
