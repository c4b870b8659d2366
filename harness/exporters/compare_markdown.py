"""compare.md: the comparison as a document of the report's blocks, rendered by its Markdown exporter."""

from __future__ import annotations

from pathlib import Path

from harness.compare.runs import CompareResult
from harness.compare.text import headline, is_judged, ratio_cells, row_cells, row_change, row_label, rule, verdict_text
from harness.report.blocks import Block, Bullets, Heading, Para, Table
from harness.report.markdown import to_markdown as render

FILENAME = "compare.md"
COLUMNS = ["scenario", "step", "metric", "target", "better", "base", "new", "change [CI]", "p", "MDE", "verdict"]
RATIO_COLUMNS = ["scenario", "step", "metric", "ratio", "base [CI]", "new [CI]", "change [CI]", "p", "MDE", "verdict"]


def document(result: CompareResult) -> list[Block]:
    runs = [[which, info.run_id, info.created_at[:19], (info.git_commit or "?")[:12], str(info.profile)]
            for which, info in (("base", result.base), ("new", result.new))]
    blocks: list[Block] = [Heading(f"Comparison: {result.new.run_id} against {result.base.run_id}", 1),
                           Table(["", "run", "created", "git commit", "profile"], runs),
                           Para(f"**{headline(result)}.**"), Para(rule(result))]
    if result.warnings:
        blocks.append(Bullets([f"warning: {w}" for w in result.warnings]))
    if result.regressions:
        blocks += [Heading("Regressions"), Bullets([f"{row_label(r)}: {row_change(r)}" for r in result.regressions])]
    notes = any(r.note for r in result.rows)  # a note column only when some row needs one
    rows = []
    for r in result.rows:
        cells = row_cells(r)
        verdict = f"**{verdict_text(r)}**" if is_judged(r) else verdict_text(r)
        rows.append([*cells[:4], r.direction, *cells[4:], verdict, *([r.note or ""] if notes else [])])
    blocks += [Heading("All figures"), Table(COLUMNS + (["note"] if notes else []), rows)]
    if result.ratios:
        blocks += [Heading("Ratios within each run (machine-independent)"),
                   Table(RATIO_COLUMNS, [[*ratio_cells(r), r.verdict] for r in result.ratios])]
    return blocks


def to_markdown(result: CompareResult) -> str:
    return render(document(result), Path("."))
