"""The report's first picture of the ratios: a forest plot with one row per ratio check of the claims,
each measured ratio's point and interval against the claim's band; and the report opens with it and the
verdicts, in report.md as in report.html (tests/test_report_browser.py checks the first screen's pixels)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest

from harness.claims import CheckOutcome, Claim, ClaimVerdict
from harness.claims import Figure as Measured
from harness.report.build import write_report
from harness.report.data import RunData, Skip
from harness.report.plots import plot_ratio_forest, ratio_rows

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "small_run"


def ratio(value: float, low: float | None, high: float | None) -> Measured:
    return Measured("express/fastapi", "crud users=32 rps", value, low, high, "×", 5, paired=True)


def verdict(claim_id: str, checks: list[dict], outcomes: list[CheckOutcome]) -> ClaimVerdict:
    claim = Claim.model_validate({"id": claim_id, "claim": "a claim", "checks": checks})
    return ClaimVerdict(claim, outcomes[0].verdict, "", outcomes)


RATIO = {"type": "ratio", "scenario": "crud", "metric": "rps", "numerator": "express", "denominator": "fastapi"}
VERDICTS = [
    verdict("P1", [{**RATIO, "min": 1.4, "max": 1.6},
                   {"type": "range", "scenario": "crud", "metric": "rps", "target": "express", "min": 1},
                   {**RATIO, "metric": "max_rate_slo", "min": 1.4}],
            [CheckOutcome("main", "", "refuted", "", [ratio(0.66, 0.6, 0.71)]),
             CheckOutcome("main", "", "supported", "", []),
             CheckOutcome("main", "", "not checkable", "")]),
    verdict("P2", [{**RATIO, "max": 1.1}], [CheckOutcome("main", "", "inconclusive", "", [ratio(1.0, 0.9, math.inf)])]),
]


def test_one_row_per_ratio_check_with_its_band_and_its_interval():
    rows = ratio_rows(VERDICTS)
    assert [r.label for r in rows] == ["P1 crud\nrps", "P1 crud\nmax_rate_slo", "P2 crud\nrps"]  # no range check
    assert [(r.low, r.high) for r in rows] == [(1.4, 1.6), (1.4, math.inf), (0.0, 1.1)]
    assert [r.figure.low if r.figure else None for r in rows] == [0.6, None, 0.9]
    fig = plot_ratio_forest(SimpleNamespace(verdicts=VERDICTS))  # type: ignore[arg-type]
    try:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == [r.label for r in rows]
        assert len(ax.collections) == len(rows)  # a shaded band on every row
        bars = [line for line in ax.lines if len(line.get_xdata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]]
        left, right = ax.get_xlim()
        # an interval bar on each measured row: [0.6, 0.71], and [0.9, ∞) drawn to the axis' right edge
        assert sorted((tuple(b.get_xdata()), b.get_ydata()[0]) for b in bars) == [((0.6, 0.71), 0), ((0.9, right), 2)]
        assert left < 0.6 and ax.get_xscale() == "log"
        assert any(line.get_xdata()[0] == 1.0 and line.get_linestyle() == "--" for line in ax.lines)  # equal
    finally:
        plt.close(fig)


def test_no_forest_without_a_measured_ratio():
    unmeasured = [verdict("P1", [{**RATIO, "min": 1.4}], [CheckOutcome("main", "", "not checkable", "")])]
    with pytest.raises(Skip):
        plot_ratio_forest(SimpleNamespace(verdicts=unmeasured))  # type: ignore[arg-type]


def test_the_report_opens_with_the_verdicts_and_the_forest_plot(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    write_report(run)
    md = (run / "report.md").read_text()
    claims = md.index("## Claims")
    overview, forest = md.index("](plots/claims_overview.png)"), md.index("](plots/ratio_forest.png)")
    assert claims < overview < forest < md.index("| id |") and md.index("## Environment") > forest
    assert RunData.load(run).results.run_id in md[:claims]  # only the title comes before
    html = (run / "report.html").read_text()
    assert html.index('id="fig-claims_overview"') < html.index('id="fig-ratio_forest"') < html.index("<table>")
    assert '<div class="beside"><figure id="fig-claims_overview">' in html  # side by side on a wide screen
