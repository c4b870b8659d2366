"""The report's plots draw without a library warning (issue 32, item 12): `make bench` printed matplotlib's
"constrained_layout not applied because axes sizes collapsed to zero" for the concurrency figure, whose
legend carried the flagged-points label on one line, wider than its half-width panel. Every plot is drawn
here with warnings turned into errors, on a stored run whose load steps are all flagged (so every legend
carries that label) and on the run as stored; a panel squeezed to a sliver by its legend fails too, since
matplotlib does not always warn of it."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from harness.claims import judge_claims, load_claims
from harness.report.axes import FLAGGED_LABEL, save_png
from harness.report.data import RunData, Skip
from harness.report.plots import PLOTS
from harness.results import atomic_write_text, load_results
from harness.summarize import summarize

SMALL_RUN = Path(__file__).resolve().parent / "fixtures" / "small_run"
FLAGGED = ("loadgen_saturated", "generator_bound", "little_law")  # every blocking flag, at every step


def flagged_copy(directory: Path) -> Path:
    """tests/fixtures/small_run with every blocking flag raised at every step of every load trial."""
    shutil.copytree(SMALL_RUN, directory)
    results = load_results(directory)
    steps: dict[tuple[str, str, int], set[str]] = {}
    for m in results.metrics:
        if m.step.startswith("users="):
            steps.setdefault((m.target, m.scenario, m.trial), set()).add(m.step)
    for trial in results.trials:
        found = steps.get((trial.target, trial.scenario, trial.trial), set())
        trial.flags = [f"{flag}:{step}" for step in sorted(found) for flag in FLAGGED]
    summarize(results)
    atomic_write_text(directory / "results.json", results.model_dump_json(indent=1))
    return directory


@pytest.mark.parametrize("flagged", [False, True], ids=["as stored", "every step flagged"])
def test_every_plot_draws_without_a_warning(tmp_path, flagged):
    run_dir = flagged_copy(tmp_path / "run") if flagged else shutil.copytree(SMALL_RUN, tmp_path / "run")
    data = RunData.load(run_dir)
    data.verdicts = judge_claims(data.results, load_claims())
    drawn = []
    for spec in PLOTS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                fig = spec.draw(data)
            except Skip:
                continue
            try:
                save_png(fig, tmp_path / f"{spec.name}.png")  # the layout is made as the figure is drawn
                # a legend wider than its panel squeezes the panel to a sliver, with or without the warning
                narrow = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.axison
                          and min(ax.get_position().width, ax.get_position().height) < 0.2]
                assert not narrow, f"{spec.name}: panels squeezed by their decorations: {narrow}"
            finally:
                plt.close(fig)
        drawn.append(spec.name)
    assert len(drawn) >= 6  # the fixture has every scenario but realtime's


def test_the_flagged_label_fits_a_half_width_panel():
    # a two-panel figure's legend has about 5 inches; at 9 pt a line of 45 characters takes about 3.1
    assert max(len(line) for line in FLAGGED_LABEL.splitlines()) <= 45
