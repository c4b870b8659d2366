"""What judging a claim gives: each check's outcome with the figures it was decided on, and the claim's
verdict; their texts, as claims.csv, the report and the terminal show them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.claims.schema import Claim
from harness.claims.view import Figure

READINGS_DISAGREE = "the verdict depends on the reading: "  # a reason's start when readings must agree and do not


@dataclass(frozen=True)
class CheckOutcome:
    reading: str
    expected: str
    verdict: str
    reason: str
    figures: list[Figure] = field(default_factory=list)  # what the verdict was decided on
    context: list[Figure] = field(default_factory=list)  # each target's own figure behind a ratio
    measured_text: str = ""  # for checks without figures (behaviour, code)
    part: str = ""  # the claim's statement this check judges (claims.toml `part`); "" for the whole claim

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
class PartVerdict:
    """One statement of a claim with several (claims.toml `part`), judged on the deciding reading."""

    name: str
    verdict: str
    reason: str


@dataclass(frozen=True)
class ClaimVerdict:
    claim: Claim
    verdict: str
    reason: str
    outcomes: list[CheckOutcome]
    parts: list[PartVerdict] = field(default_factory=list)  # [] for a claim of one statement
    decided_by: str = ""  # the reading whose verdict this is
    headline: str = ""  # the claim in plain words: the article, this machine, what follows
    decide: list[str] = field(default_factory=list)  # for an undecided claim: the steps that would decide it
    machine: list[str] = field(default_factory=list)  # machine-independent readings beside absolute figures

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
