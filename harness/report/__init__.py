"""The report of a stored run: claims.csv, plots/*.png, report.md and a self-contained report.html.

data.py reads the run, plots.py draws (a registry of small plot functions), document.py lays the
report out as plain blocks (blocks.py), markdown.py and html.py render them, build.py ties it together.
Importing harness.report.markdown or .blocks alone (as compare and history do) loads no plotting.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report"]


def __getattr__(name: str) -> Any:
    if name == "build_report":
        from harness.report.build import build_report

        return build_report
    raise AttributeError(f"module 'harness.report' has no attribute {name!r}")
