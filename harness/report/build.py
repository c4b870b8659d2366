"""`bench report RUN_DIR`: claims.csv, plots/*.png, report.md and report.html from a stored run.

read the run → judge the claims → draw the plots → write the table and the two documents.
Reads only stored results; never runs a benchmark.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from harness.claims import ClaimVerdict, judge_claims, load_claims
from harness.report.claims_junit import CLAIMS_JUNIT_FILENAME, claims_to_junit
from harness.report.data import RunData, Skip
from harness.report.document import Plots, build_document
from harness.report.html import to_html
from harness.report.markdown import to_markdown
from harness.report.plots import PLOTS, render
from harness.results import atomic_write_text

CSV_COLUMNS = ["id", "claim", "scenario", "metric", "measured", "expected", "verdict", "reason", "parts", "headline",
               "would_decide", "machine"]


@dataclass(frozen=True)
class Written:
    """What a report run produced: the files, and the verdicts (for the terminal)."""

    run_id: str
    paths: list[Path]
    verdicts: list[ClaimVerdict]


def build_report(run_dir: Path, claims_path: Path | None = None) -> list[Path]:
    """Write the report files into run_dir and return their paths."""
    return write_report(run_dir, claims_path).paths


def write_report(run_dir: Path, claims_path: Path | None = None) -> Written:
    claims = load_claims(claims_path)
    data = RunData.load(run_dir)
    data.verdicts = judge_claims(data.results, claims)
    plots = draw_plots(data, run_dir / "plots")
    blocks = build_document(data, plots, claims.policy)
    written = [write_claims_csv(data.verdicts, run_dir / "claims.csv"), *plots.drawn.values()]
    atomic_write_text(run_dir / "report.md", to_markdown(blocks, run_dir))
    atomic_write_text(run_dir / "report.html", to_html(blocks, f"Benchmark report: {data.results.run_id}"))
    junit = run_dir / CLAIMS_JUNIT_FILENAME  # the claims as test cases, for CI test reporters
    atomic_write_text(junit, claims_to_junit(data.verdicts))
    return Written(data.results.run_id, [*written, run_dir / "report.md", run_dir / "report.html", junit],
                   data.verdicts)


def draw_plots(data: RunData, directory: Path) -> Plots:
    directory.mkdir(exist_ok=True)
    drawn, skipped = {}, {}
    for spec in PLOTS:
        try:
            drawn[spec.name] = render(spec, data, directory)
        except Skip as why:
            skipped[spec.name] = str(why)
            (directory / f"{spec.name}.png").unlink(missing_ok=True)  # no stale picture from an earlier report
    return Plots(PLOTS, drawn, skipped)


def claims_csv_rows(verdicts: list[ClaimVerdict]) -> list[dict[str, str]]:
    return [{"id": v.claim.id, "claim": v.claim.claim, "scenario": "; ".join(v.claim.scenarios()),
             "metric": "; ".join(v.claim.metrics()), "measured": v.measured(), "expected": v.expected(),
             "verdict": v.verdict, "reason": v.reason, "parts": "; ".join(f"{p.name}: {p.verdict}" for p in v.parts),
             "headline": v.headline, "would_decide": "; ".join(v.decide), "machine": "; ".join(v.machine)}
            for v in verdicts]


def write_claims_csv(verdicts: list[ClaimVerdict], path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(claims_csv_rows(verdicts))
    atomic_write_text(path, buffer.getvalue())
    return path
