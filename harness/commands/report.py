"""Argument setup and mapping for `bench report RUN_DIR [RUN_DIR …] [--claims FILE] [--out DIR]`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from harness.commands.output import Outcome, deliver

if TYPE_CHECKING:
    from harness.report.side_by_side import RatioAcross


def add_commands(sub: argparse._SubParsersAction, add_common: Callable[[argparse.ArgumentParser], None],
                 positive_int: Callable[[str], int]) -> None:
    p = sub.add_parser("report", help="judge the article's claims and write the report of a stored run; "
                                      "with several runs, their verdicts side by side")
    p.add_argument("run_dirs", metavar="RUN_DIR", nargs="+",
                   help="a run directory (with results.json); several: the claims of each side by side, with "
                        "their environments (e.g. two machines, native and docker)")
    p.add_argument("--claims", metavar="FILE", help="claims file (default: claims.toml at the repository's root)")
    p.add_argument("--full", action="store_true",
                   help="the whole claims table (what was measured, the verdict of each part, the reason) and every "
                        "step's figures, not one line per claim")
    p.add_argument("--out", metavar="DIR", default=".",
                   help="with several runs: where side-by-side.md and .html go (default: the current directory)")
    p.set_defaults(func=cmd_report)


def _verdicts(verdicts: list) -> list[dict]:
    return [{"id": v.claim.id, "claim": v.claim.claim, "verdict": v.verdict, "reason": v.reason,
             "headline": v.headline, "decided_by": v.decided_by} for v in verdicts]


def cmd_report(args: argparse.Namespace) -> int:
    if len(args.run_dirs) > 1:
        return cmd_side_by_side(args)
    from harness.report.build import write_report
    from harness.terminal import print_report

    run_dir = Path(args.run_dirs[0])
    written = write_report(run_dir, Path(args.claims) if args.claims else None)

    def show(console: Console) -> None:
        print_report(console, written, run_dir, full=args.full)

    document = {"runs": [{"run_id": written.run_id, "run_dir": str(run_dir), "claims": _verdicts(written.verdicts)}]}
    return deliver(args, Outcome("report", document, files=list(written.paths), show=show))


def _ratio(ratio: RatioAcross) -> dict:
    """One ratio check across the runs: each run's median and interval (null where not measured)."""
    from harness.report.side_by_side import run_agreement

    runs = [None if f is None else {"value": f.value, "low": f.low, "high": f.high, "interval": f.interval_kind,
                                    "n": f.n, "counts": f.count_text} for f in ratio.figures]
    return {"id": ratio.claim_id, "reading": ratio.check.reading, "scenario": ratio.check.scenario,
            "step": ratio.check.step, "metric": ratio.check.metric, "runs": runs,
            "agreement": run_agreement(ratio.figures)}


def cmd_side_by_side(args: argparse.Namespace) -> int:
    from harness.claims import load_claims
    from harness.present.tables import side_by_side_table
    from harness.report.side_by_side import ratios_across, run_agreement, write_side_by_side

    claims = load_claims(Path(args.claims) if args.claims else None)
    columns, paths = write_side_by_side([Path(d) for d in args.run_dirs], claims, Path(args.out))

    def show(console: Console) -> None:
        console.print(side_by_side_table(columns))
        console.print("Ratios from run to run:")
        for ratio in ratios:
            console.print(f"  {ratio.name}: {run_agreement(ratio.figures)}", highlight=False)
        console.print("Written:")
        for path in paths:
            console.print(f"  {path}", highlight=False)

    ratios = ratios_across(columns)
    document = {"runs": [{"run_id": c.name, "run_dir": str(c.directory), "claims": _verdicts(c.verdicts)}
                         for c in columns],
                "ratios": [_ratio(r) for r in ratios]}
    return deliver(args, Outcome("report", document, files=list(paths), show=show))
