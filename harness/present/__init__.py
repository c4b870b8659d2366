"""Presentation: the terminal's tables (tables.py). Numbers are written by harness.numbers.

Documents (the report, compare.md, history .md) are lists of blocks (harness.report.blocks) rendered by
one renderer per format (harness.report.markdown, harness.report.html).
"""
