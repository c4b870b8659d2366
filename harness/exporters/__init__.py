"""The files the reading commands write beside the terminal's tables: one exporter per format, each a
FILENAME and a function from the command's result to the file's text.

compare_markdown.py, compare_json.py  compare.md and compare.json of `bench compare`
ab.py                                 ab.md and ab.json of `bench ab`
ci.py                                 the CI formats (Bencher, github-action-benchmark, JUnit XML), for both,
                                      through each result's gated figures (gated.py)
history.py                            one figure's history (`bench history --metric`): its table and plot

A new format of compare or ab is one module and one line in EXPORTERS or AB_EXPORTERS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from harness.exporters import ab, ci, compare_json, compare_markdown
from harness.exporters.gated import from_ab, from_compare
from harness.results import atomic_write_text


class Exporter(NamedTuple):
    filename: str
    render: Callable[[Any], str]


def _ci_exporters(gated: Callable[[Any], list], suite: str) -> tuple[Exporter, ...]:
    return (
        Exporter(ci.BMF_FILENAME, lambda r: ci.to_bmf(gated(r))),
        Exporter(ci.BIGGER_FILENAME, lambda r: ci.to_github_benchmark(gated(r), "higher")),
        Exporter(ci.SMALLER_FILENAME, lambda r: ci.to_github_benchmark(gated(r), "lower")),
        Exporter(ci.JUNIT_FILENAME, lambda r: ci.to_junit(gated(r), suite)),
    )


EXPORTERS = (
    Exporter(compare_markdown.FILENAME, compare_markdown.to_markdown),
    Exporter(compare_json.FILENAME, compare_json.to_json),
    *_ci_exporters(from_compare, "bench compare"),
)
AB_EXPORTERS = (
    Exporter(ab.MARKDOWN_FILENAME, ab.to_markdown),
    Exporter(ab.JSON_FILENAME, ab.to_json),
    *_ci_exporters(from_ab, "bench ab"),
)


def write_reports(result: Any, out_dir: Path, exporters: Sequence[Exporter] = EXPORTERS) -> list[Path]:
    """Every exporter's file in out_dir (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for exporter in exporters:
        path = out_dir / exporter.filename
        atomic_write_text(path, exporter.render(result))
        paths.append(path)
    return paths
