"""What the terminal shows: progress while running, and a side-by-side table at the end (built in
harness.present.tables)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.flags import legend
from harness.present.tables import summary_table
from harness.results import RunResults


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
        progress.update(task, description=description, completed=max(done - 1, 0), total=total)

    with progress:
        yield report
        progress.update(task, completed=progress.tasks[0].total or 0, description="done")


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
    console.print(legend(), style="dim")
    for warning in results.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    state = "complete" if results.complete else "[red]incomplete (interrupted or failed)[/]"
    console.print(f"Results ({state}): {directory}")
