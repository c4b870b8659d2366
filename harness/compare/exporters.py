"""The files `bench compare` and `bench ab` write: one exporter per format, each a FILENAME and a
function from the command's result to the file's text. A new format is one module and one line in
EXPORTERS (compare) or AB_EXPORTERS (ab); the CI formats (export_ci.py) serve both, through the
gated figures of each result (gated.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from harness.compare import export_ab, export_ci, export_json, export_markdown
from harness.compare.gated import from_ab, from_compare
from harness.results import atomic_write_text


class Exporter(NamedTuple):
    filename: str
    render: Callable[[Any], str]


def _ci_exporters(gated: Callable[[Any], list], suite: str) -> tuple[Exporter, ...]:
    return (
        Exporter(export_ci.BMF_FILENAME, lambda r: export_ci.to_bmf(gated(r))),
        Exporter(export_ci.BIGGER_FILENAME, lambda r: export_ci.to_github_benchmark(gated(r), "higher")),
        Exporter(export_ci.SMALLER_FILENAME, lambda r: export_ci.to_github_benchmark(gated(r), "lower")),
        Exporter(export_ci.JUNIT_FILENAME, lambda r: export_ci.to_junit(gated(r), suite)),
    )


EXPORTERS = (
    Exporter(export_markdown.FILENAME, export_markdown.to_markdown),
    Exporter(export_json.FILENAME, export_json.to_json),
    *_ci_exporters(from_compare, "bench compare"),
)
AB_EXPORTERS = (
    Exporter(export_ab.MARKDOWN_FILENAME, export_ab.to_markdown),
    Exporter(export_ab.JSON_FILENAME, export_ab.to_json),
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
