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
import json
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

import harness
from harness import compare as cmp
from harness.commands.output import Outcome, deliver
from harness.errors import BenchError
from harness.exporters import compare_json, write_reports
from harness.exporters import history as history_files
from harness.history import figure as hist
from harness.metrics import RPS
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

    p = sub.add_parser("history", help="every figure's trend across stored runs: history.html, .json and .csv; "
                                       "with --metric/--scenario/--step, one figure's table and plot")
    p.add_argument("results_dir", type=Path, help="the folder holding run directories (e.g. results)")
    p.add_argument("--metric", action="append",
                   help="one metric: its table (.md) and plot (.png), as before the page; repeatable with --page")
    p.add_argument("--scenario", action="append", help="only this scenario (with one metric: default throughput)")
    p.add_argument("--step", help="the step, when the scenario has several (e.g. users=128)")
    p.add_argument("--target", action="append", help="only this target (repeatable)")
    p.add_argument("--profile", help="runs of this profile (default: the newest run's)")
    p.add_argument("--threshold", type=_percentage, default=5.0)
    p.add_argument("--alpha", type=_level, default=0.05)
    p.add_argument("--last", type=positive_int, help="only the last N runs")
    p.add_argument("--absolute", action="store_true", help="mark regressions on absolute figures alone, as compare's")
    p.add_argument("--page", action="store_true",
                   help="the page, .json and .csv even with --metric/--scenario/--step (of the figures chosen)")
    p.add_argument("--out", type=Path, help="folder for the files written (default: RESULTS_DIR)")
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
    outcome = compare_outcome(args.base_run, args.new_run, threshold_pct=args.threshold, alpha=args.alpha,
                              metrics=args.metric, endpoints=args.endpoints, reference=args.reference,
                              absolute=args.absolute, out=args.out, show_all=args.all)
    return deliver(args, outcome)


def cmd_history(args: argparse.Namespace) -> int:
    options = dict(targets=args.target, profile=args.profile, threshold_pct=args.threshold, alpha=args.alpha,
                   last=args.last, absolute=args.absolute)
    one_figure = bool(args.metric or args.scenario or args.step) and not args.page
    if one_figure:
        if len(args.metric or []) > 1 or len(args.scenario or []) > 1:
            raise BenchError("one figure at a time: one --metric and one --scenario (or --page for several)")
        outcome = history_outcome(args.results_dir, metric=(args.metric or [RPS])[0],
                                  scenario=(args.scenario or ["throughput"])[0], step=args.step, out=args.out,
                                  **options)
    else:
        outcome = trends_outcome(args.results_dir, metrics=args.metric, scenarios=args.scenario,
                                 steps=[args.step] if args.step else None, out=args.out, **options)
    return deliver(args, outcome)


def compare_outcome(base_run: Path, new_run: Path, *, out: Path | None = None, show_all: bool = False,
                    **options) -> Outcome:
    """Compare and write compare.md/.json and the CI files; the outcome (exit code 0 or 1; bad input raises)."""
    result = cmp.compare_runs(base_run, new_run, **options)
    paths = write_reports(result, out or new_run)

    def show(console: Console) -> None:
        console.print(compare_table(result, show_all))
        if result.ratios:
            console.print(ratio_table(result))
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        console.print(cmp.rule(result), style="dim", highlight=False)
        style = "bold red" if result.regressions else "bold green"
        console.print(f"[{style}]{cmp.headline(result)}[/]. Reports: {', '.join(str(p) for p in paths)}",
                      highlight=False)

    return Outcome("compare", json.loads(compare_json.to_json(result)), result.exit_code, paths, show)


def run_compare(base_run: Path, new_run: Path, *, out: Path | None = None, show_all: bool = False,
                console: Console | None = None, **options) -> int:
    """Compare, print, write compare.md/.json; the exit code (0 or 1; bad input raises BenchError)."""
    outcome = compare_outcome(base_run, new_run, out=out, show_all=show_all, **options)
    outcome.show(console or _console())
    return outcome.exit_code


def history_outcome(results_dir: Path, *, out: Path | None = None, **options) -> Outcome:
    """One figure: the trend table and its .md and .png (bad input raises BenchError). The JSON result is
    the page's table (history_page.to_document) restricted to that figure."""
    from harness.history import page as history_page

    h = hist.history(results_dir, **options)
    paths = history_files.write_reports(h, out or results_dir)

    def show(console: Console) -> None:
        console.print(history_table(h))
        for note in h.skipped:
            console.print(f"[dim]left out: {note}[/]", highlight=False)
        console.print(f"Written: {', '.join(str(p) for p in paths)}", highlight=False)

    def document() -> dict:
        chosen = {k: options.get(k) for k in ("threshold_pct", "alpha", "absolute", "last") if k in options}
        table = history_page.trends(results_dir, profile=h.profile, targets=options.get("targets"),
                                    scenarios=[h.scenario], steps=[h.step], metrics=[h.metric], **chosen)
        return history_page.to_document(table)

    return Outcome("history", document, 0, paths, show)  # the document only when asked for (--json)


def trends_outcome(results_dir: Path, *, out: Path | None = None, **options) -> Outcome:
    """Every figure (or those chosen): history.html, history.json, history.csv (bad input raises BenchError)."""
    from harness.history import page as history_page

    table = history_page.trends(results_dir, **options)
    paths = history_page.write_trends(table, out or results_dir)

    def show(console: Console) -> None:
        changes = [p for p in table.points if p.verdict in history_page.SIGNIFICANT]
        regressions = sum(p.verdict == "regression" for p in changes)
        console.print(f"{len(table.runs)} runs of profile {table.profile}, {len(table.figures())} figures, "
                      f"{len(changes)} significant changes between consecutive runs ({regressions} regressions)",
                      highlight=False)
        for p in changes:
            style = {"regression": "red", "improvement": "green"}.get(p.verdict, "")
            line = (f"  {p.run_id} ({(p.git_commit or '?')[:10]}) {p.target} {p.scenario} {p.step} {p.metric}: "
                    f"{'—' if p.change_pct is None else f'{p.change_pct:+.1f}%'} {p.verdict}")
            console.print(f"[{style}]{line}[/]" if style else line, highlight=False)
        for note in table.skipped:
            console.print(f"[dim]left out: {note}[/]", highlight=False)
        console.print(f"Written: {', '.join(str(p) for p in paths)}", highlight=False)

    return Outcome("history", history_page.to_document(table), 0, paths, show)


def run_history(results_dir: Path, *, out: Path | None = None, console: Console | None = None, **options) -> int:
    """Print the trend table, write its .md and .png; 0 (bad input raises BenchError)."""
    outcome = history_outcome(results_dir, out=out, **options)
    outcome.show(console or _console())
    return outcome.exit_code
