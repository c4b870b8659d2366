"""The report of a stored run: claims.csv, plots/*.png, report.md and a self-contained report.html.

data.py reads the run, plots.py draws (a registry of small plot functions), document.py lays the
report out as plain blocks, markdown.py and html.py render them, build.py ties it together.
"""

from harness.report.build import build_report

__all__ = ["build_report"]
