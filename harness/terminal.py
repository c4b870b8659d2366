"""What the terminal shows: progress while running, and a side-by-side table at the end (built in
harness.present.tables)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.eta import Eta
from harness.flags import legend, name_and_step
from harness.machine.disturbance import FOREIGN_SUFFIX, UNEXPLAINED_SUFFIX
from harness.machine.idle_hold import describe_hold
from harness.machine.speed_probe import WAKEUP_METRIC, WAKEUP_ROUND_TRIPS, speed_spread
from harness.metrics import RPS
from harness.numbers import number
from harness.present.tables import compact_verdicts_table, styled, summary_table, verdicts_table
from harness.rate_sweep import HEADROOM_FRACTION
from harness.results import RunResults, is_endpoint_step, load_results
from harness.results.records import GeneratorCeilingRecord
from harness.results.slicing import slicing_lines
from harness.summarize import ROLE_WORDS, probe_values

if TYPE_CHECKING:
    from harness.kinds.base import TrialOutcome


@dataclass
class RunProgress:
    """What a run reports while it measures: the trial under way with the time left (harness.eta), and
    on a terminal one line per finished step with its figures."""

    show: Callable[[str, int, int, str], None]  # (what, trial number, trials, time left)
    live: Callable[[str], None] | None = None  # a finished step's line; None: not shown
    eta: Eta | None = None

    def __call__(self, description: str, done: int, total: int) -> None:
        now_s = time.monotonic()
        if self.eta is not None and done >= 1:
            self.eta.started(done - 1, now_s)
        self.show(description, done, total, self.time_left(now_s, done))

    def time_left(self, now_s: float, done: int) -> str:
        if self.eta is None or done < 1:
            return ""
        return f"~{_minutes(self.eta.remaining_s(now_s))} left"

    def trial_done(self, label: str, outcome: TrialOutcome) -> None:
        if self.live is not None:
            for line in step_lines(label, outcome):
                self.live(line)


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def step_lines(label: str, outcome: TrialOutcome) -> list[str]:
    """One line per measured step of a trial: requests per second, p99, errors and the flags it raised."""
    figures: dict[str, dict[str, float]] = {}
    for m in outcome.metrics:
        if m.metric in LIVE_FIGURES and not is_endpoint_step(m.step):
            figures.setdefault(m.step, {})[m.metric] = m.value
    lines = []
    for step, values in figures.items():
        flags = [name for name, flagged in map(name_and_step, outcome.flags) if flagged == step]
        parts = [f"{number(values[name])} {unit}" for name, unit in LIVE_FIGURES.items() if name in values]
        lines.append(f"  {label} · {step or 'all'}: " + ", ".join(parts) + (f" [{', '.join(flags)}]" if flags else ""))
    return lines


LIVE_FIGURES = {RPS: "req/s", "latency_p99_ms": "ms p99", "error_rate": "errors (ratio)"}


@contextmanager
def progress_reporter(console: Console, eta: Eta | None = None, quiet: bool = False) -> Iterator[RunProgress]:
    """A live bar with the time left on a terminal, and a line per finished step; elsewhere (CI logs,
    files) one plain line per trial with the time left; nothing under `quiet`."""
    if quiet:
        yield RunProgress(lambda *_: None)
        return
    if not console.is_terminal:
        start = time.monotonic()

        def log(description: str, done: int, total: int, left: str) -> None:
            left = f" {left}" if left else ""
            console.print(f"[{done}/{total} {time.monotonic() - start:5.0f}s{left}] {description}", highlight=False)

        yield RunProgress(log, eta=eta)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[left]}"), console=console, transient=False,
    )  # fmt: skip
    task = progress.add_task("starting", total=None, left="")

    def report(description: str, done: int, total: int, left: str) -> None:
        progress.update(task, description=description, completed=max(done - 1, 0), total=total, left=left)

    with progress:
        yield RunProgress(report, live=lambda line: progress.console.print(line, highlight=False), eta=eta)
        progress.update(task, completed=progress.tasks[0].total or 0, description="done", left="")


def run_header(results: RunResults) -> str:
    env, config = results.environment, results.config
    # two lines: one would wrap on an 80-column terminal
    line = (f"runtime: {env.get('runtime', '?')} · profile {config.get('profile')} · {env.get('cpu_model')} "
            f"({env.get('cpu_count_logical')} cores)\nserver CPUs {config.get('server_cpus')} · "
            f"load generator CPUs {config.get('loadgen_cpus')} · workers {config.get('workers')}")
    line += f"\nprotection: {env.get('protection', 'not recorded')}"
    line += f"\ncpu idle: {describe_hold(env.get('cpu_idle'))}"
    line += f"\n{ceiling_line(results.generator_ceiling)}"
    images = env.get("docker", {}).get("images", {})
    for name, image in images.items():
        size = image.get("size_bytes")
        line += f"\nimage {name}: {image.get('tag')} on {image.get('base_image')}"
        line += f" ({size / 1e6:.0f} MB)" if size else ""
    return line


def print_summary(console: Console, results: RunResults, directory: object, full: bool = False) -> None:
    """The run's set-up, the disturbances and the host's speed, its warnings and where it is; with `full`,
    every step's figures and each scenario's disturbance too (the verdicts come from `bench report`)."""
    console.print(run_header(results), highlight=False)
    if full:
        console.print(summary_table(results))
        console.print(legend(), style="dim")
    for line in (disturbance_lines(results) if full else disturbance_overview(results)) + speed_lines(results):
        console.print(line, highlight=False)
    for line in slicing_lines(results.config):
        console.print(line, highlight=False)
    if not full:
        console.print(f"every step's figures, each scenario's disturbance: `bench report {directory} --full`",
                      style="dim", highlight=False)
    shown = results.warnings if full else results.warnings[:SHORT_WARNINGS]
    for warning in shown:
        console.print(f"[yellow]warning:[/] {warning if full else _cut_to_lines(warning, 2, console.width)}",
                      highlight=False)
    if len(shown) < len(results.warnings):
        console.print(f"[yellow]and {len(results.warnings) - len(shown)} more warnings[/] (--full)", highlight=False)
    state = "complete" if results.complete else "[red]incomplete (interrupted or failed)[/]"
    console.print(f"Results ({state}): {directory}")


def print_report(console: Console, written: Any, run_dir: Path, full: bool = False) -> None:
    """After `bench report`: the verdicts in plain words first (a line per claim; with `full`, each whole
    sentence), then the figures each was decided on (with `full`, the whole claims table and the run's
    whole summary), then where the report is."""
    console.print("In plain words:")
    for v in written.verdicts:
        if full:
            console.print(f"  {v.claim.id} ({styled(v.verdict)}): {v.headline}", highlight=False)
        else:
            claim = _cut(v.claim.claim, console.width - len(f"  {v.claim.id} {v.verdict}: "))
            console.print(f"  {v.claim.id} {styled(v.verdict)}: {escape(claim)}", highlight=False)
    title = f"{written.run_id}: the article's claims"
    if full:
        console.print(verdicts_table(written.verdicts, title))
        print_summary(console, load_results(run_dir), run_dir, full=True)
    else:
        console.print(compact_verdicts_table(written.verdicts, title, console.width))
        console.print(f"In whole sentences: report.md, or `bench report {run_dir} --full`", style="dim",
                      highlight=False)
    files = ", ".join(path.name for path in written.paths if path.parent == run_dir)
    console.print(f"Report written into {run_dir}:\n  {files} (plots/ beside them)", highlight=False)


def _cut(text: str, width: int) -> str:
    """`text` on one line of `width` columns: a terminal that wraps it would double the lines printed."""
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def ceiling_line(kept: GeneratorCeilingRecord | None) -> str:
    """The load generator's ceiling measured at the run's start (harness.ceiling), or why there is none."""
    if kept is None:
        return "load generator ceiling: not recorded"
    if kept.generator_ceiling_rps is None:
        return f"load generator ceiling: not measured ({kept.reason})"
    cpu = "" if kept.loadgen_cpu_pct is None else f"; Locust CPU {kept.loadgen_cpu_pct:.0f}%"
    bound = {"generator": ", generator-bound", "server": ", the raw server's limit: a lower bound"}.get(
        kept.limited_by, "")
    bound += ", disturbed: low" if kept.disturbed else ""
    return (f"load generator ceiling: {number(kept.generator_ceiling_rps)} req/s ({kept.target}, {kept.users} "
            f"users, {number(kept.duration_s)} s{cpu}{bound}); steps over {HEADROOM_FRACTION:.0%} of it decide nothing")


def _cut_to_lines(text: str, lines: int, width: int) -> str:
    room = int(lines * width * 0.9) - len("warning: ")  # words wrap early: keep to `lines` lines
    return text if len(text) <= room else text[:room - len(WHOLE)] + WHOLE


WHOLE = "… (whole: --full)"
SHORT_WARNINGS = 4  # warnings shown without --full: a run re-run round by round has one a round


def disturbance_overview(results: RunResults) -> list[str]:
    """disturbance_lines in one line: the scenarios with rounds re-run or kept disturbed, by name."""
    lines = disturbance_lines(results)
    touched = [line.partition(":")[0] for line in lines if not line.endswith("no round re-run")]
    if not lines:
        return []
    if not touched:
        return [f"disturbance: no round re-run or kept disturbed in {len(lines)} load scenarios"]
    return [f"disturbance: rounds re-run or kept disturbed (flagged) in {len(touched)} of {len(lines)} load "
            f"scenarios: {', '.join(touched)}"]


def disturbance_lines(results: RunResults) -> list[str]:
    """Per load scenario: the most CPU others took from each role's CPUs in any window, and the rounds
    re-run as disturbed (a round's discarded attempts are on each of its trials: counted once)."""
    lines = []
    for scenario in dict.fromkeys(t.scenario for t in results.trials):
        most: dict[str, float] = {}
        harm: float | None = None  # the most wait others caused in a window (runs recorded with it)
        for m in results.metrics:
            if m.scenario == scenario and m.metric.endswith(FOREIGN_SUFFIX):
                role = m.metric.removesuffix(FOREIGN_SUFFIX)
                most[role] = max(most.get(role, 0.0), m.value)
            elif m.scenario == scenario and m.metric.endswith(UNEXPLAINED_SUFFIX):
                harm = max(harm or 0.0, m.value)
        if not most:
            continue  # no load window: nothing sampled (cold start)
        rounds = {t.trial: len(t.discarded_attempts) for t in results.trials if t.scenario == scenario}
        rerun = {n: count for n, count in rounds.items() if count}
        order = sorted(most, key=lambda role: list(ROLE_WORDS).index(role) if role in ROLE_WORDS else len(ROLE_WORDS))
        roles = [f"{number(most[role])}% of {ROLE_WORDS.get(role, role)}" + ("" if i else " CPUs")
                 for i, role in enumerate(order)]
        caused = "" if harm is None else f" (and made its processes wait up to {number(harm)}% of a window)"
        text = f"{scenario}: others took up to {', '.join(roles)}{caused}; "
        text += (f"{len(rerun)} of {len(rounds)} rounds re-run ({sum(rerun.values())} re-runs) as disturbed" if rerun
                 else "no round re-run")
        kept = {t.trial for t in results.trials
                if t.scenario == scenario and any(name_and_step(f)[0] == "disturbed" for f in t.flags)}
        if kept:
            text += f"; {len(kept)} of {len(rounds)} rounds kept disturbed (flagged)"
        lines.append(text)
    return lines


def speed_lines(results: RunResults) -> list[str]:
    """The cores' own speed over the run: the same CPU task timed before each trial (harness.machine.speed_probe)."""
    parts = []
    for role, values in probe_values(results).items():
        spread = speed_spread(values)
        moved = "" if spread is None else f", {spread:.0f}% longer at its slowest"
        parts.append(f"{min(values):.2f}-{max(values):.2f} ms on {ROLE_WORDS.get(role, role)} cores{moved}")
    lines = [f"machine speed: a fixed CPU task took {'; '.join(parts)} (timed before each trial)"] if parts else []
    wakeups = [m.value for m in results.metrics if m.metric == WAKEUP_METRIC]
    if wakeups:
        lines.append(f"cross-core wake-up: one byte from the load generator's core to the server's and back took "
                     f"{min(wakeups):.0f}-{max(wakeups):.0f} µs (median of {WAKEUP_ROUND_TRIPS}, before each trial)")
    return lines
