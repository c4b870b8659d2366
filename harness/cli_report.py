"""Argument setup and mapping for `bench report RUN_DIR [--claims FILE]`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console


def add_commands(sub: argparse._SubParsersAction, add_common: Callable[[argparse.ArgumentParser], None],
                 positive_int: Callable[[str], int]) -> None:
    p = sub.add_parser("report", help="judge the article's claims and write the report of a stored run")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (with results.json)")
    p.add_argument("--claims", metavar="FILE", help="claims file (default: claims.toml at the repository's root)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from harness.present.tables import styled, verdicts_table
    from harness.report.build import write_report

    run_dir = Path(args.run_dir)
    written = write_report(run_dir, Path(args.claims) if args.claims else None)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log file or CI: do not fold the table to 80 columns
    console.print(verdicts_table(written.verdicts, f"{written.run_id}: the article's claims"))
    console.print("In plain words:")
    for v in written.verdicts:
        console.print(f"  {v.claim.id} ({styled(v.verdict)}): {v.headline}", highlight=False)
    console.print(f"Report written into {run_dir}:")
    for path in written.paths:
        console.print(f"  {path}", highlight=False)
    return 0
