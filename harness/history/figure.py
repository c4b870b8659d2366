"""`bench history`: one metric across the runs stored in a results folder, oldest first.

Each run gives, per target, the median of the metric across its trials with its order-statistic CI
(harness.stats.estimate), and its change against the previous run of the same profile judged
exactly as `bench compare` judges it (harness.compare.judge: asv's rule, checked against the
ratio to the reference target when both runs have one). A run whose change was a regression is
marked in the table and on the plot. Reads stored results only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.compare import Trials, judge
from harness.errors import BenchError
from harness.metrics import RPS, Direction, direction
from harness.numbers import interval, number
from harness.results import RunResults, RunView, load_results
from harness.stats import estimate


@dataclass(frozen=True)
class HistoryPoint:
    """One target in one run."""

    run_id: str
    created_at: str
    git_commit: str | None
    target: str
    n: int
    median: float
    ci_low: float | None
    ci_high: float | None
    change_pct: float | None  # against the previous run that has this target; None for the first
    verdict: str  # as bench compare (incl. "unconfirmed"); "" for the first run


@dataclass
class History:
    scenario: str
    step: str
    metric: str
    unit: str
    direction: Direction
    profile: str | None
    points: list[HistoryPoint] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # runs left out, with why

    @property
    def targets(self) -> list[str]:
        return sorted({p.target for p in self.points})

    @property
    def runs(self) -> list[str]:
        return list(dict.fromkeys(p.run_id for p in self.points))


def stored_runs(results_dir: Path) -> tuple[list[RunResults], list[str]]:
    """Every readable run under results_dir, oldest first, and a note for each folder left out."""
    if not results_dir.is_dir():
        raise BenchError(f"no results folder at {results_dir}")
    runs, skipped = [], []
    for folder in sorted(p for p in results_dir.iterdir() if (p / "results.json").is_file()):
        try:
            runs.append(load_results(folder))
        except BenchError as exc:
            skipped.append(f"{folder.name}: {exc}")
    if not runs:
        raise BenchError(f"no stored run in {results_dir} (a run is a folder with a results.json)")
    return sorted(runs, key=lambda r: r.created_at), skipped


def history(results_dir: Path, metric: str = RPS, scenario: str = "throughput", step: str | None = None,
            targets: list[str] | None = None, profile: str | None = None, threshold_pct: float = 5.0,
            alpha: float = 0.05, last: int | None = None, absolute: bool = False) -> History:
    """The series of one scenario × step × metric; profile defaults to the newest run's that has it."""
    runs, skipped = stored_runs(results_dir)
    having = [view for view in map(RunView, runs) if _has(view, scenario, metric)]
    if not having:
        raise BenchError(f"no stored run in {results_dir} has {metric!r} in scenario {scenario!r}")
    profile = profile or having[-1].results.config.get("profile")
    skipped += [f"{r.results.run_id}: profile {r.results.config.get('profile')!r}, not {profile!r}" for r in having
                if r.results.config.get("profile") != profile]
    chosen = [r for r in having if r.results.config.get("profile") == profile][-last if last else None:]
    if not chosen:
        raise BenchError(f"no stored run of profile {profile!r} has {metric!r} in scenario {scenario!r}")
    step = _pick_step(chosen, scenario, step, metric)
    result = History(scenario=scenario, step=step, metric=metric, unit=_unit(chosen, scenario, step, metric),
                     direction=direction(metric), profile=profile, skipped=skipped)
    result.points = _points(chosen, (scenario, step, metric), targets, threshold_pct, alpha, absolute)
    return result


def _has(view: RunView, scenario: str, metric: str) -> bool:
    return any((k.scenario, k.metric) == (scenario, metric) for k in view.figure_keys(endpoints=False))


def _pick_step(runs: list[RunView], scenario: str, step: str | None, metric: str) -> str:
    steps = sorted({k.step for r in runs for k in r.figure_keys(endpoints=False)
                    if (k.scenario, k.metric) == (scenario, metric)})
    if step is not None:
        if step not in steps:
            raise BenchError(f"no step {step!r} of {metric!r} in scenario {scenario!r}; there are: {', '.join(steps)}")
        return step
    if len(steps) > 1:
        raise BenchError(f"{metric!r} in scenario {scenario!r} has several steps; pick one with --step: "
                         f"{', '.join(steps)}")
    return steps[0]


def _unit(runs: list[RunView], scenario: str, step: str, metric: str) -> str:
    return next((unit for r in runs for key, unit in r.units.items() if key[1:] == (scenario, step, metric)), "")


def _series(view: RunView, scenario: str, step: str, metric: str) -> Trials:
    """The run's trials of one scenario × step × metric, keyed as harness.compare keys them."""
    return {key: view.by_trial(key) for key in view.figure_keys() if key[1:] == (scenario, step, metric)}


def _points(runs: list[RunView], series: tuple[str, str, str], targets: list[str] | None, threshold_pct: float,
            alpha: float, absolute: bool) -> list[HistoryPoint]:
    points = []
    previous: Trials = {}  # the latest trials seen of each target's key
    for run in runs:
        current = {key: values for key, values in _series(run, *series).items() if not targets or key[0] in targets}
        common = sorted(set(previous) & set(current))
        rows, _ = judge(previous, current, common, threshold_pct, alpha, absolute=absolute)
        found = {row.target: row for row in rows}
        commit = (run.results.environment.get("git") or {}).get("commit")
        for key, by_trial in sorted(current.items()):
            est, row = estimate(list(by_trial.values())), found.get(key[0])
            points.append(HistoryPoint(run_id=run.results.run_id, created_at=run.results.created_at, git_commit=commit,
                                       target=key[0], n=est.n, median=est.median, ci_low=est.ci_low,
                                       ci_high=est.ci_high, change_pct=row.change_pct if row else None,
                                       verdict=row.verdict if row else ""))
        previous.update(current)
    return points


# ---- words and cells (the files: harness.exporters.history) --------------------------------------------


def title(h: History) -> str:
    where = f"{h.scenario}{' ' + h.step if h.step else ''}"
    better = {"higher": "higher is better", "lower": "lower is better", "none": "no direction"}[h.direction]
    return f"{h.metric} ({h.unit}) in {where}, profile {h.profile}: median, order-statistic CI per run ({better})"


MARKS = {"regression": " REGRESSION", "improvement": " (improvement)", "unconfirmed": " (unconfirmed)"}


def fmt_point(p: HistoryPoint) -> str:
    change = "" if p.change_pct is None else f" {p.change_pct:+.1f}%"
    return f"{number(p.median)}{interval(p.ci_low, p.ci_high)}{change}{MARKS.get(p.verdict, '')}"


def table_rows(h: History) -> list[list[str]]:
    """One row per run: run, date, commit, then one cell per target."""
    rows = []
    for run_id in h.runs:
        points = {p.target: p for p in h.points if p.run_id == run_id}
        first = next(iter(points.values()))
        rows.append([run_id, first.created_at[:16].replace("T", " "), (first.git_commit or "?")[:10],
                     *[fmt_point(points[t]) if t in points else "—" for t in h.targets]])
    return rows
