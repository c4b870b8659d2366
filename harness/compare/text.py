"""The words and cells of a comparison, shared by its terminal tables and its documents."""

from __future__ import annotations

from harness.compare.rules import JUDGED_VERDICTS, MetricChange, RatioChange
from harness.compare.runs import CompareResult
from harness.numbers import change_pct, number, p_value, percent


def row_change(row: MetricChange) -> str:
    if row.change_pct is None:  # from a zero base: no relative change
        return f"{number(row.base_median)} → {number(row.new_median)}"
    return change_pct(row.change_pct, row.ci_low_pct, row.ci_high_pct)


def ratio_text(value: float, ci: tuple[float, float] | None) -> str:
    return number(value) + ("" if ci is None else f" [{number(ci[0])}, {number(ci[1])}]")


def verdict_text(row: MetricChange) -> str:
    """The final verdict, with what the ratio check changed: e.g. "unconfirmed (regression)"."""
    if row.verdict == "unconfirmed":
        return f"unconfirmed ({row.absolute_verdict})"
    return row.verdict + (" ✓ratio" if row.ratio_check == "confirmed" else "")


def row_label(r: MetricChange) -> str:
    return f"{r.target} {r.scenario}{' ' + r.step if r.step else ''} {r.metric}"


def row_cells(r: MetricChange) -> list[str]:
    """scenario, step, metric, target, base, new, change [CI], p, MDE (the verdict is styled by each format)."""
    return [r.scenario, r.step, r.metric, r.target, number(r.base_median), number(r.new_median), row_change(r),
            p_value(r.p_value), percent(r.min_detectable_pct)]


def ratio_cells(r: RatioChange) -> list[str]:
    """scenario, step, metric, ratio, base [CI], new [CI], change [CI], p, MDE."""
    return [r.scenario, r.step, r.metric, f"{r.numerator}/{r.denominator}", ratio_text(r.base_ratio, r.base_ci),
            ratio_text(r.new_ratio, r.new_ci), change_pct(r.change_pct, r.ci_low_pct, r.ci_high_pct),
            p_value(r.p_value), percent(r.min_detectable_pct)]


def headline(result: CompareResult) -> str:
    counts = {v: sum(r.verdict == v for r in result.rows) for v in ("regression", "improvement", "unconfirmed")}
    too_few = sum(r.verdict == "too few trials" and r.direction != "none" for r in result.rows)
    text = f"{counts['regression']} regression(s), {counts['improvement']} improvement(s) in {len(result.rows)} figures"
    if counts["unconfirmed"]:
        text += f"; {counts['unconfirmed']} change(s) unconfirmed by the ratio to the reference target (machine drift?)"
    return text + (f"; {too_few} judged figure(s) had too few trials to test" if too_few else "")


def rule(result: CompareResult) -> str:
    text = (f"A regression: two-sided Mann-Whitney U p < {result.alpha:g} AND the median worse by more than "
            f"{result.threshold_pct:g}% (asv's rule)")
    if not result.absolute:
        text += (", on the target's figures AND on its per-round ratio to the reference target (which a change of "
                 "machine speed does not move); with no reference in both runs, on the figures alone")
    return text + (f". Change: median(new)/median(base) − 1 with its {1 - result.alpha:.0%} bootstrap CI. MDE: the "
                   "smallest change this rule would call about 4 times in 5 were the trials normal with their robust "
                   "spread; it exceeds the threshold by the median's own noise (Student's t, harness/stats/power.py).")


def is_judged(row: MetricChange) -> bool:
    return row.verdict in JUDGED_VERDICTS
