"""`bench ab BASE_REF HEAD_REF`: argument setup and mapping (the work is harness/ab/run.py).

Exit codes as `bench compare`: 0 no regression, 1 a gated figure regressed, 2 bad input (an unknown
revision, a target missing from one side) or an internal error (never 1: see cli_compare._internal_errors).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from harness.commands.compare import _console, _internal_errors, _level, _percentage
from harness.commands.output import Outcome, deliver, progress_console
from harness.commands.run import _env_pair
from harness.config import PROFILES

if TYPE_CHECKING:
    from harness.ab.run import AbOptions


def add_commands(sub: argparse._SubParsersAction, add_common: Callable[[argparse.ArgumentParser], None],
                 positive_int: Callable[[str], int]) -> None:
    from harness.ab.run import AB_SCENARIOS, DEFAULT_ROUNDS, DEFAULT_SLICE_PAIRS, DEFAULT_THRESHOLD_PCT

    p = sub.add_parser("ab", help="measure two git revisions of the targets in one interleaved run and gate the "
                                  "head: exit 0 no regression, 1 regression, 2 bad input or internal error")
    p.add_argument("base_ref", help="the base revision (branch, tag, commit)")
    p.add_argument("head_ref", help="the head revision, or WORKTREE (or .) for the working tree as it is")
    p.add_argument("--target", action="append", help="only this target (repeatable; default: every contender)")
    p.add_argument("--scenario", action="append",
                   help=f"only this scenario (repeatable; default: {', '.join(AB_SCENARIOS)})")
    p.add_argument("--profile", choices=PROFILES, default="ci", help="the scenarios' parameters (default ci)")
    p.add_argument("--rounds", type=_at_most_exact(positive_int), default=DEFAULT_ROUNDS,
                   help=f"rounds, each running base and head once (default {DEFAULT_ROUNDS}; at least 5 at alpha 0.05)")
    p.add_argument("--slice-pairs", type=_at_most_exact(int), default=DEFAULT_SLICE_PAIRS, metavar="N",
                   help="a closed-model scenario of one step runs as N pairs of 1-s paired slices, base and head "
                        f"a second apart (default {DEFAULT_SLICE_PAIRS}; 0: rounds)")
    p.add_argument("--threshold-pct", type=_percentage, default=DEFAULT_THRESHOLD_PCT,
                   help="percent change the whole interval of the median ratio must exceed, in the bad direction "
                        f"(default {DEFAULT_THRESHOLD_PCT:g})")
    p.add_argument("--alpha", type=_level, default=0.05, help="level of the one-sided signed-rank test (default 0.05)")
    p.add_argument("--runtime", default="native", help="native (default) or docker")
    p.add_argument("--base-image", type=_env_pair, action="append", default=[], metavar="TARGET=IMAGE",
                   help="docker: build TARGET's two images on this base image")
    p.add_argument("--server-cpus", help="CPU list for the servers (default: first half of the cores)")
    p.add_argument("--loadgen-cpus", help="CPU list for Locust (default: the other half)")
    p.add_argument("--scenarios-dir", default="scenarios")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--build-dir", default="build/ab", help="the revisions' folders and the install cache")
    p.add_argument("--name", help="run directory name (default: <UTC timestamp>-ab-<base>-<head>)")
    p.add_argument("--out", type=Path, help="folder for ab.md, ab.json and the CI files (default: the run's)")
    p.add_argument("--reruns", type=int, default=0, choices=range(0, 4), metavar="N",
                   help="re-run a round a neighbour disturbed up to N times (default 0: the ratios carry the drift)")
    p.add_argument("--keep", action="store_true", help="keep the revisions' folders under --build-dir")
    p.set_defaults(func=_internal_errors("ab", cmd_ab))


def _at_most_exact(parse: Callable[[str], int]) -> Callable[[str], int]:
    """A count of rounds or pairs the exact signed-rank test can take (harness.compare.paired)."""
    from harness.compare.paired import MAX_EXACT_ROUNDS

    def bounded(text: str) -> int:
        value = parse(text)
        if value > MAX_EXACT_ROUNDS:
            raise argparse.ArgumentTypeError(f"at most {MAX_EXACT_ROUNDS} (the exact test's limit), not {value}")
        return value

    bounded.__name__ = getattr(parse, "__name__", "count")
    return bounded


def cmd_ab(args: argparse.Namespace) -> int:
    from harness.ab.run import AbOptions

    options = AbOptions(
        base_ref=args.base_ref, head_ref=args.head_ref, targets=args.target, scenarios=args.scenario,
        profile=args.profile, rounds=args.rounds, slice_pairs=max(args.slice_pairs, 0),
        threshold_pct=args.threshold_pct, alpha=args.alpha,
        runtime=args.runtime, build_dir=Path(args.build_dir), results_dir=Path(args.results_dir),
        scenarios_dir=Path(args.scenarios_dir), run_name=args.name, server_cpus=args.server_cpus,
        loadgen_cpus=args.loadgen_cpus, keep=args.keep, max_reruns=args.reruns,
        base_images=dict(args.base_image),
    )  # fmt: skip
    return deliver(args, ab_outcome(options, out=args.out, progress=progress_console(args)))


def ab_outcome(options: AbOptions, out: Path | None = None, progress: Console | None = None) -> Outcome:
    """Run (its progress on `progress`) and write the reports; the outcome, whose result is ab.json's document
    (exit code 0 or 1; bad input raises BenchError)."""
    import json

    from harness.ab.run import run_ab
    from harness.exporters import AB_EXPORTERS, write_reports
    from harness.exporters.ab import headline, to_json
    from harness.exporters.gated import ab_detail
    from harness.terminal import progress_reporter

    with progress_reporter(progress or _console()) as report:
        result = run_ab(options, report)
    paths = write_reports(result, out or Path(result.run_dir), AB_EXPORTERS)

    def show(console: Console) -> None:
        for c in result.changes:
            style = {"regression": "bold red", "improvement": "green"}.get(c.verdict, "")
            line = f"{c.target} {c.scenario} {c.step} {c.metric}: {ab_detail(c)}"
            console.print(f"[{style}]{line}[/]" if style else line, highlight=False)
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        style = "bold red" if result.regressions else "bold green"
        console.print(f"[{style}]{headline(result)}[/]. Reports: {', '.join(str(p) for p in paths)}",
                      highlight=False)

    return Outcome("ab", lambda: json.loads(to_json(result)), result.exit_code, paths, show)


def run_ab_command(options: AbOptions, out: Path | None = None, console: Console | None = None) -> int:
    """Run, print, write the reports; the exit code (0 or 1; bad input raises BenchError)."""
    console = console or _console()
    outcome = ab_outcome(options, out, progress=console)
    outcome.show(console)
    return outcome.exit_code
