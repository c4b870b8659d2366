"""The files `bench compare` writes: one exporter per format, each a module with FILENAME and a
function from a CompareResult to the file's text. A new format (JUnit XML, a GitHub step summary)
is one module and one line in EXPORTERS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from harness.compare import export_json, export_markdown
from harness.compare.runs import CompareResult
from harness.results import atomic_write_text


class Exporter(NamedTuple):
    filename: str
    render: Callable[[CompareResult], str]


EXPORTERS = (
    Exporter(export_markdown.FILENAME, export_markdown.to_markdown),
    Exporter(export_json.FILENAME, export_json.to_json),
)


def write_reports(result: CompareResult, out_dir: Path) -> list[Path]:
    """Every exporter's file in out_dir (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for exporter in EXPORTERS:
        path = out_dir / exporter.filename
        atomic_write_text(path, exporter.render(result))
        paths.append(path)
    return paths
