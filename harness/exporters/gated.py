"""A gated figure as CI tools see it: one name, the new value, its direction and the verdict.

`bench compare` (new run against base run) and `bench ab` (head against base in one run) both reduce
to a list of GatedFigure, which the CI formats (ci.py) render; only figures with a better
direction are gated, so the undirected ones (requests, CPU %) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.compare.paired import PairedChange
from harness.numbers import change_pct, number, p_value, percent

if TYPE_CHECKING:
    from harness.compare.ab import AbResult
    from harness.compare.runs import CompareResult

FAILING = "regression"


@dataclass(frozen=True)
class GatedFigure:
    target: str
    scenario: str
    step: str
    metric: str
    unit: str
    direction: Literal["higher", "lower"]
    value: float  # the new (head) median
    low: float | None  # an interval of the new value, where the comparison gives one
    high: float | None
    verdict: str
    detail: str  # one line: the change, its interval, p and the detectable change (harness.stats.detectable_shift)

    @property
    def benchmark(self) -> str:
        """"express throughput users=32": what Bencher calls a benchmark (a measure is the metric)."""
        return " ".join(p for p in (self.target, self.scenario, self.step) if p)

    @property
    def name(self) -> str:
        return f"{self.benchmark} {self.metric}"

    @property
    def failed(self) -> bool:
        return self.verdict == FAILING


def from_compare(result: CompareResult) -> list[GatedFigure]:
    """Every directed row of a comparison; its interval is the new median times the change's CI."""
    figures = []
    for r in result.rows:
        if r.direction == "none":
            continue
        low = None if r.ci_low_pct is None else r.base_median * (1 + r.ci_low_pct / 100)
        high = None if r.ci_high_pct is None else r.base_median * (1 + r.ci_high_pct / 100)
        detail = (f"{number(r.base_median)} → {number(r.new_median)} {r.unit}: "
                  f"{change_pct(r.change_pct, r.ci_low_pct, r.ci_high_pct)}, p {p_value(r.p_value)}, "
                  f"MDE {percent(r.min_detectable_pct)}; {r.verdict}")
        figures.append(GatedFigure(r.target, r.scenario, r.step, r.metric, r.unit, r.direction, r.new_median, low,
                                   high, r.verdict, detail))
    return figures


def from_ab(result: AbResult) -> list[GatedFigure]:
    """Every gated figure of `bench ab`; its interval is the base median times the ratio's CI."""
    figures = []
    for c in result.changes:
        low = None if c.ci_low is None else c.base_median * c.ci_low
        high = None if c.ci_high is None else c.base_median * c.ci_high
        figures.append(GatedFigure(c.target, c.scenario, c.step, c.metric, c.unit, c.direction, c.head_median, low,
                                   high, c.verdict, ab_detail(c)))
    return figures


def ab_detail(c: PairedChange) -> str:
    """"9812 → 8790 req/s over 8 rounds: −10.4% [−12.1%, −8.0%], p 0.0039, detectable 3.1%; regression"."""
    low = None if c.ci_low is None else (c.ci_low - 1) * 100
    high = None if c.ci_high is None else (c.ci_high - 1) * 100
    return (f"{number(c.base_median)} → {number(c.head_median)} {c.unit} over {c.rounds} {c.counted}s: "
            f"{change_pct(c.change_pct, low, high)}, p {p_value(c.p_value)}, "
            f"detectable {percent(c.min_detectable_pct)}; {c.verdict}")
