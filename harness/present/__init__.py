"""Presentation: how a figure is written (numbers.py) and the terminal's tables (tables.py).

Documents (the report, compare.md, history .md) are lists of blocks (harness.report.blocks) rendered by
one exporter per format (harness.report.markdown, harness.report.html).
"""
