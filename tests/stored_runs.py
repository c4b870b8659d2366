"""Stored runs for the history tests, made from tests/fixtures/small_run (a real `--profile test` run): each
with five trials per figure (from the stored first, with fixed spreads), its own date, commit and machine,
and chosen figures scaled as a slower or faster build would make them."""

from __future__ import annotations

from pathlib import Path

from harness.results import atomic_write_text, load_results
from harness.summarize import summarize

SMALL_RUN = Path(__file__).resolve().parent / "fixtures" / "small_run"
TRIAL_FACTORS = {1: 1.0, 2: 1.04, 3: 0.97, 4: 1.02, 5: 0.99}


def stored_run(directory: Path, run_id: str, created_at: str, commit: str, *, hostname: str = "ci-1",
               scale: dict[tuple[str, str], float] | None = None, profile: str = "test",
               scenarios: set[str] | None = None) -> Path:
    """A run folder with results.json only; `scale` multiplies (target, metric) in every trial; `scenarios`
    keeps those only (fewer figures: a faster history)."""
    directory.mkdir(parents=True)
    results = load_results(SMALL_RUN)
    first = [m for m in results.metrics if m.trial == 1 and (scenarios is None or m.scenario in scenarios)]
    scale = scale or {}
    results.metrics = [m.model_copy(update={"trial": trial, "value": m.value if m.unit == "bool" else
                                            m.value * factor * scale.get((m.target, m.metric), 1.0)})
                       for trial, factor in TRIAL_FACTORS.items() for m in first]
    template = {(t.target, t.scenario): t for t in results.trials
                if t.trial == 1 and (scenarios is None or t.scenario in scenarios)}
    results.trials = [t.model_copy(update={"trial": trial, "order": order}) for order, (trial, t) in
                      enumerate(((trial, t) for trial in TRIAL_FACTORS for t in template.values()), start=1)]
    results.run_id, results.created_at = run_id, created_at
    results.environment = {**results.environment, "hostname": hostname, "git": {"commit": commit, "dirty": False}}
    results.config = {**results.config, "profile": profile}
    summarize(results)
    atomic_write_text(directory / "results.json", results.model_dump_json(indent=1))
    return directory


def five_runs(root: Path, scenarios: set[str] | None = None) -> Path:
    """results/ with five runs of the test profile: run 4 has Express 30% slower in rps (a regression the
    compare rule sees), run 5 is back and on another machine; plus one quick-profile run, left out."""
    results = root / "results"
    slower = {("express", "rps"): 0.7}
    for i, (scale, host) in enumerate([({}, "ci-1"), ({}, "ci-1"), ({}, "ci-1"), (slower, "ci-1"), ({}, "ci-2")],
                                      start=1):
        stored_run(results / f"run{i}", f"run{i}", f"2026-11-0{i}T10:00:00+00:00", f"{i:x}" * 40, hostname=host,
                   scale=scale, scenarios=scenarios)
    stored_run(results / "other", "other", "2026-10-01T10:00:00+00:00", "f" * 40, profile="quick",
               scenarios=scenarios)
    return results
