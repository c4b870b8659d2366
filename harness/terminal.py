"""What the terminal shows: progress while running, and a side-by-side table at the end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.disturbance import DISTURBED_PCT
from harness.results import RunResults, Summary

HEADLINE = {
    "load": ["rps", "latency_p50_ms", "latency_p99_ms", "error_rate", "server_cpu_pct", "server_rss_mb",
             "loadgen_cpu_pct", "server_foreign_cpu_pct", "loadgen_foreign_cpu_pct"],
    "cold_start": ["cold_start_ms", "listen_ms", "rss_idle_mb", "uss_idle_mb"],
}
ALL_HEADLINES = [m for metrics in HEADLINE.values() for m in metrics]


@contextmanager
def progress_reporter(console: Console) -> Iterator[object]:
    """A live bar on a terminal; elsewhere (CI logs, files) one plain line per trial and run."""
    if not console.is_terminal:
        start = time.monotonic()

        def log(description: str, done: int, total: int) -> None:
            console.print(f"[{done}/{total} {time.monotonic() - start:5.0f}s] {description}", highlight=False)

        yield log
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )  # fmt: skip
    task = progress.add_task("starting", total=None)

    def report(description: str, done: int, total: int) -> None:
        progress.update(task, description=description, completed=done - 1, total=total)

    with progress:
        yield report
        progress.update(task, completed=progress.tasks[0].total or 0, description="done")


MARKS = {"single_trial": "†", "noisy": "~", "loadgen_saturated": "!", "little_law": "L", "disturbed": "D"}
LEGEND = ("† one trial, no CI · ~ noisy (CV > 10%) · ! load generator saturated · L Little's law check failed"
          f" · D disturbed (others used over {DISTURBED_PCT:g}% of a role's CPUs)")


def format_estimate(s: Summary) -> str:
    value = _fmt(s.median, s.unit)
    interval = "" if s.ci_low is None or s.ci_high is None else f" [{_fmt(s.ci_low, s.unit)}–{_fmt(s.ci_high, s.unit)}]"
    marks = "".join(mark for flag, mark in MARKS.items() if flag in s.flags)
    return f"{value}{interval}{' [yellow]' + marks + '[/]' if marks else ''}"


def _fmt(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.2%}" if value < 1 else f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def summary_table(results: RunResults) -> Table:
    targets = list(dict.fromkeys(t.target for t in results.trials))
    table = Table(title=f"{results.run_id}: median [95% CI] across trials", show_lines=False, title_justify="left")
    for column in ("scenario", "step", "metric", *targets):
        table.add_column(column, overflow="fold")
    if len(targets) == 2:
        table.add_column(f"{targets[1]}/{targets[0]}")
    by_key = {(s.scenario, s.step, s.metric, s.target): s for s in results.summaries}
    rows = sorted({(s.scenario, s.step, s.metric) for s in results.summaries if s.metric in ALL_HEADLINES
                   and "endpoint=" not in s.step},
                  key=lambda r: (r[0], _step_sort(r[1]), ALL_HEADLINES.index(r[2])))
    for scenario, step, metric in rows:
        cells = [by_key.get((scenario, step, metric, t)) for t in targets]
        row = [scenario, step, metric, *[format_estimate(c) if c else "—" for c in cells]]
        if len(targets) == 2:
            a, b = cells
            row.append(f"{b.median / a.median:.2f}×" if a and b and a.median else "—")
        table.add_row(*row)
    return table


def _step_sort(step: str) -> tuple[float, ...]:
    values = []
    for part in step.split(","):
        try:
            values.append(float(part.split("=", 1)[1]))
        except (IndexError, ValueError):
            values.append(0.0)
    return tuple(values)


def run_header(results: RunResults) -> str:
    env, config = results.environment, results.config
    line = (f"runtime: {env.get('runtime', '?')} · profile {config.get('profile')} · {env.get('cpu_model')} "
            f"({env.get('cpu_count_logical')} cores) · server CPUs {config.get('server_cpus')} · "
            f"load generator CPUs {config.get('loadgen_cpus')} · workers {config.get('workers')}")
    line += f"\nprotection: {env.get('protection', 'not recorded')}"
    images = env.get("docker", {}).get("images", {})
    for name, image in images.items():
        size = image.get("size_bytes")
        line += f"\nimage {name}: {image.get('tag')} on {image.get('base_image')}"
        line += f" ({size / 1e6:.0f} MB)" if size else ""
    return line


def print_summary(console: Console, results: RunResults, directory: object) -> None:
    console.print(run_header(results), highlight=False)
    console.print(summary_table(results))
    console.print(LEGEND, style="dim")
    for warning in results.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    state = "complete" if results.complete else "[red]incomplete (interrupted or failed)[/]"
    console.print(f"Results ({state}): {directory}")
