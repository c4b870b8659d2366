"""Argument setup and mapping for the commands that read stored runs: `compare`, `history`.

`run_compare` and `run_history` are what the handlers call and what tests can call: they take
plain keywords, print to a console, write the reports and return the exit code.

Exit codes: 0 no regression, 1 regression, 2 bad input. An unexpected exception (a bug) must not
exit 1, which CI reads as a regression: the handlers turn it into one line naming it an internal
error and where it happened, with exit code 2.
"""

from __future__ import annotations

import argparse
import functools
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

import harness
from harness import compare as cmp
from harness import history as hist
from harness.errors import BenchError
from harness.present.tables import compare_table, history_table, ratio_table


def _percentage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 5, got {text!r}") from None
    if not 0 <= value < 1000:
        raise argparse.ArgumentTypeError(f"expected a percentage between 0 and 1000, got {text!r}")
    return value


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1, got {text!r}")
    return value


def add_commands(sub: argparse._SubParsersAction, add_common: Callable[[argparse.ArgumentParser], None],
                 positive_int: Callable[[str], int]) -> None:
    p = sub.add_parser("compare", help="compare a new run with a base run: exit 0 no regression, 1 regression, "
                                       "2 bad input or internal error")
    p.add_argument("base_run", type=Path, help="the run directory to compare against")
    p.add_argument("new_run", type=Path, help="the run directory under test; reports are written into it")
    p.add_argument("--threshold", type=_percentage, default=5.0,
                   help="percent change a regression must exceed, in the metric's bad direction (default 5)")
    p.add_argument("--alpha", type=_level, default=0.05, help="significance level of the Mann-Whitney test")
    p.add_argument("--metric", action="append", help="only this metric (repeatable; default: every metric)")
    p.add_argument("--endpoints", action="store_true", help="also compare the per-endpoint rows")
    p.add_argument("--reference", help="target the other targets are divided by in the ratio rows "
                                       "(default: fastapi, else the first)")
    p.add_argument("--absolute", action="store_true",
                   help="judge the targets' own figures alone, without checking the ratio to the reference target "
                        "(a dedicated quiet machine, where a change common to every target must count)")
    p.add_argument("--out", type=Path, help="folder for compare.md and compare.json (default: NEW_RUN)")
    p.add_argument("--all", action="store_true", help="show the undirected figures in the terminal too")
    p.set_defaults(func=_internal_errors("compare", cmd_compare))

    p = sub.add_parser("history", help="trend table and plot of one metric across stored runs")
    p.add_argument("results_dir", type=Path, help="the folder holding run directories (e.g. results)")
    p.add_argument("--metric", default="rps")
    p.add_argument("--scenario", default="throughput")
    p.add_argument("--step", help="the step, when the scenario has several (e.g. users=128)")
    p.add_argument("--target", action="append", help="only this target (repeatable)")
    p.add_argument("--profile", help="runs of this profile (default: the newest run's)")
    p.add_argument("--threshold", type=_percentage, default=5.0)
    p.add_argument("--alpha", type=_level, default=0.05)
    p.add_argument("--last", type=positive_int, help="only the last N runs")
    p.add_argument("--absolute", action="store_true", help="mark regressions on absolute figures alone, as compare's")
    p.add_argument("--out", type=Path, help="folder for the .md table and .png plot (default: RESULTS_DIR)")
    p.set_defaults(func=_internal_errors("history", cmd_history))


def _internal_errors(command: str, handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The handler, with any exception other than BenchError (a bug) turned into a one-line BenchError,
    exit code 2: a crash must never read as exit 1, a regression. KeyboardInterrupt is not an Exception."""

    @functools.wraps(handler)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (BenchError, OSError):  # bad input; main() makes an OSError one line naming the path
            raise
        except Exception as exc:
            message = " ".join(str(exc).split())
            raise BenchError(f"internal error in bench {command} ({_where(exc)}): {type(exc).__name__}: {message} "
                             "(a bug in the harness, not a finding)") from exc

    return guarded


def _where(exc: BaseException) -> str:
    """The innermost frame of exc's traceback, and the innermost in the harness package if that is another."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown place"
    package = Path(harness.__file__).resolve().parent

    def label(frame: traceback.FrameSummary) -> str:
        path = Path(frame.filename).resolve()
        shown = path.relative_to(package.parent) if path.is_relative_to(package) else Path(path.name)
        return f"{shown}:{frame.lineno} in {frame.name}"

    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(package)]
    text = f"at {label(frames[-1])}"
    return text + (f", called from {label(ours[-1])}" if ours and ours[-1] is not frames[-1] else "")


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=160)  # CI logs: do not fold at 80 columns


def cmd_compare(args: argparse.Namespace) -> int:
    return run_compare(args.base_run, args.new_run, threshold_pct=args.threshold, alpha=args.alpha,
                       metrics=args.metric, endpoints=args.endpoints, reference=args.reference, absolute=args.absolute,
                       out=args.out,
                       show_all=args.all, console=_console())


def cmd_history(args: argparse.Namespace) -> int:
    return run_history(args.results_dir, metric=args.metric, scenario=args.scenario, step=args.step,
                       targets=args.target, profile=args.profile, threshold_pct=args.threshold, alpha=args.alpha,
                       last=args.last, absolute=args.absolute, out=args.out, console=_console())


def run_compare(base_run: Path, new_run: Path, *, out: Path | None = None, show_all: bool = False,
                console: Console | None = None, **options) -> int:
    """Compare, print, write compare.md/.json; the exit code (0 or 1; bad input raises BenchError)."""
    console = console or _console()
    result = cmp.compare_runs(base_run, new_run, **options)
    console.print(compare_table(result, show_all))
    if result.ratios:
        console.print(ratio_table(result))
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(cmp.rule(result), style="dim", highlight=False)
    paths = cmp.write_reports(result, out or new_run)
    style = "bold red" if result.regressions else "bold green"
    console.print(f"[{style}]{cmp.headline(result)}[/]. Reports: {', '.join(str(p) for p in paths)}",
                  highlight=False)
    return result.exit_code


def run_history(results_dir: Path, *, out: Path | None = None, console: Console | None = None, **options) -> int:
    """Print the trend table, write its .md and .png; 0 (bad input raises BenchError)."""
    console = console or _console()
    h = hist.history(results_dir, **options)
    console.print(history_table(h))
    for note in h.skipped:
        console.print(f"[dim]left out: {note}[/]", highlight=False)
    paths = hist.write_reports(h, out or results_dir)
    console.print(f"Written: {', '.join(str(p) for p in paths)}", highlight=False)
    return 0
