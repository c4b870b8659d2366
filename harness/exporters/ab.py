"""ab.md (a summary fit for a pull-request comment) and ab.json (everything, for machines) of `bench ab`.

ab.json's format: docs/formats.md; its history (AB_VERSION): CHANGELOG.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.exporters.compare_json import _no_nan
from harness.exporters.gated import ab_detail
from harness.numbers import change_pct, number, p_value, percent
from harness.report.blocks import Block, Bullets, Heading, Para, Table
from harness.report.markdown import to_markdown as render
from harness.stats import coverage_label

if TYPE_CHECKING:
    from harness.compare.ab import AbResult

AB_VERSION = 1
MARKDOWN_FILENAME = "ab.md"
JSON_FILENAME = "ab.json"
COLUMNS = ["target", "scenario", "step", "metric", "better", "base", "head", "change [CI]", "p", "detectable",
           "verdict"]


def headline(result: AbResult) -> str:
    regressions, improvements = len(result.regressions), len(result.improvements)
    word = "REGRESSION" if regressions else "no regression"
    return (f"{word}: {regressions} regression(s), {improvements} improvement(s) in {len(result.changes)} "
            f"gated figures, {result.head_label} against {result.base_label}")


def rule(result: AbResult) -> str:
    coverages = sorted({c.ci_coverage for c in result.changes if c.ci_coverage is not None})
    shown = ", ".join(coverage_label(c) for c in coverages) or "no CI"
    sliced = sorted({c.scenario for c in result.changes if c.counted == "pair"})
    pairs = (f" In {', '.join(sliced)}, both sides' servers ran at once and the load alternated between them "
             "every second: a round is a pair of adjacent 1-s slices (harness/kinds/sliced.py).") if sliced else ""
    return (f"Base and head ran in the same rounds (B H, H B, …); each round gives head/base.{pairs} A regression: "
            f"the exact one-sided Wilcoxon signed-rank test on the rounds' log ratios gives p < {result.alpha:g} "
            f"AND the median ratio's order-statistic interval ({shown}, each end a one-sided "
            f"{1 - result.alpha:.0%} bound) lies wholly beyond {result.threshold_pct:g}% in the bad direction. "
            "Detectable: the smallest change in the bad direction that this rule would call a regression about "
            "4 times in 5 were the rounds' log ratios normal with this run's robust spread; it exceeds the threshold "
            "by the interval's own noise (Student's t, harness/stats/power.py).")


def document(result: AbResult) -> list[Block]:
    blocks: list[Block] = [Heading(f"bench ab: {result.head_ref} against {result.base_ref}", 1),
                           Para(f"**{headline(result)}.**"), Para(rule(result))]
    if result.warnings:
        blocks.append(Bullets([f"warning: {w}" for w in result.warnings]))
    if result.regressions:
        found = [f"{c.target} {c.scenario} {c.step} {c.metric}: {ab_detail(c)}" for c in result.regressions]
        blocks += [Heading("Regressions"), Bullets(found)]
    rows = []
    for c in result.changes:
        low = None if c.ci_low is None else (c.ci_low - 1) * 100
        high = None if c.ci_high is None else (c.ci_high - 1) * 100
        verdict = f"**{c.verdict}**" if c.verdict in ("regression", "improvement") else c.verdict
        rows.append([c.target, c.scenario, c.step, c.metric, c.direction, number(c.base_median, c.unit),
                     number(c.head_median, c.unit), change_pct(c.change_pct, low, high), p_value(c.p_value),
                     percent(c.min_detectable_pct), verdict])
    blocks += [Heading("Gated figures"), Table(COLUMNS, rows), Para(f"Run: `{result.run_dir}`")]
    return blocks


def to_markdown(result: AbResult) -> str:
    return render(document(result), Path("."))


def to_json(result: AbResult) -> str:
    data: dict[str, Any] = {"ab_version": AB_VERSION, **asdict(result), "regressions": len(result.regressions),
                            "improvements": len(result.improvements), "exit_code": result.exit_code}
    return json.dumps(_no_nan(data), indent=1)
