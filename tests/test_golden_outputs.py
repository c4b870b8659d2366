"""What the reading side makes of stored runs, pinned byte for byte: claims.csv, report.md, the terminal
summary and claims table, compare.md/.json and the history table, so that a refactoring of the reading side
cannot change a verdict, a reason or a formatted number unnoticed.

Inputs: tests/fixtures/small_run as stored (a real `--profile test` run, one trial per scenario) and a
derived run (five trials from it with fixed spreads, some trials flagged, one censored figure), compared
with a slower copy of itself. Expected outputs: tests/fixtures/golden/. After a deliberate change of an
output, regenerate them and review the diff: BENCH_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden_outputs.py
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from harness.commands.compare import run_compare, run_history
from harness.compare import compare_runs
from harness.exporters.compare_json import to_json as compare_json
from harness.present.tables import verdicts_table
from harness.report.build import write_report
from harness.results import Metric, atomic_write_text, load_results
from harness.summarize import summarize
from harness.terminal import print_report, print_summary

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMALL_RUN, GOLDEN = FIXTURES / "small_run", FIXTURES / "golden"
UPDATE = os.environ.get("BENCH_UPDATE_GOLDEN") == "1"
TRIAL_FACTORS = {1: 1.0, 2: 1.04, 3: 0.97, 4: 1.02, 5: 0.99}  # five trials from one: a CI each, and enough
# for the Mann-Whitney test of bench compare to reach p < 0.05
FLAGS = {("express", "concurrency", 2): ["loadgen_saturated:users=8", "little_law:users=8"],
         ("fastapi", "concurrency", 3): ["disturbed:users=2"], ("fastapi", "crud", 1): ["little_law:users=4"]}


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with BENCH_UPDATE_GOLDEN=1 once"
    assert text == path.read_text(), f"{name} differs from {path}"


def console() -> Console:
    return Console(record=True, width=220, color_system=None, force_terminal=False)


def derived_run(directory: Path, run_id: str, created_at: str, scale: dict[tuple[str, str], float]) -> Path:
    """tests/fixtures/small_run with five trials per figure (from its first), flags, a censored figure;
    `scale` multiplies (target, metric) in every trial, as a slower or faster build would."""
    shutil.copytree(SMALL_RUN, directory)
    results = load_results(SMALL_RUN)
    first = [m for m in results.metrics if m.trial == 1]
    results.metrics = [m.model_copy(update={"trial": trial, "value": _scaled(m, factor * scale.get(
        (m.target, m.metric), 1.0))}) for trial, factor in TRIAL_FACTORS.items() for m in first]
    results.metrics += [Metric(target=target, scenario="concurrency", trial=trial, step="",
                               metric="max_concurrency_slo_censored", value=float(target == "express" and trial < 3),
                               unit="bool") for target in ("express", "fastapi") for trial in TRIAL_FACTORS]
    template = {(t.target, t.scenario): t for t in results.trials if t.trial == 1}
    results.trials = [t.model_copy(update={"trial": trial, "order": order,
                                           "flags": FLAGS.get((t.target, t.scenario, trial), [])})
                      for order, (trial, t) in enumerate(((trial, t) for trial in TRIAL_FACTORS
                                                          for t in template.values()), start=1)]
    results.run_id, results.created_at = run_id, created_at
    summarize(results)
    atomic_write_text(directory / "results.json", results.model_dump_json(indent=1))
    return directory


def _scaled(m: Metric, factor: float) -> float:
    return m.value if m.unit == "bool" else m.value * factor


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("golden")
    shutil.copytree(SMALL_RUN, root / "stored")
    history = root / "history"
    history.mkdir()
    base = derived_run(history / "base", "base", "2026-11-28T10:00:00+00:00", {})
    new = derived_run(history / "new", "new", "2026-11-28T11:00:00+00:00",
                      {("express", "rps"): 0.8, ("express", "latency_p99_ms"): 1.3, ("fastapi", "rps"): 0.98})
    return {"stored": root / "stored", "base": base, "new": new, "history": history}


@pytest.mark.parametrize("run", ["stored", "base"])
def test_the_report_of_a_stored_run_is_unchanged(runs: dict[str, Path], run: str) -> None:
    written = write_report(runs[run])
    check_golden(f"{run}-claims.csv", (runs[run] / "claims.csv").read_text())
    check_golden(f"{run}-report.md", (runs[run] / "report.md").read_text())
    out = console()
    out.print(verdicts_table(written.verdicts, f"{written.run_id}: the article's claims"))
    check_golden(f"{run}-claims-terminal.txt", out.export_text())


@pytest.mark.parametrize("columns", [80, 160])
def test_what_make_bench_prints_after_its_progress_is_compact_with_the_verdicts_before_any_table(
        runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    """`bench run`'s summary, then `bench report`'s: plain words first, one line per claim, no table of every
    step (that is --full's), at most 80 lines on a terminal of COLUMNS=80 (no line longer, so none wraps)
    as of 160. The run is ./RUN_DIR, so that the lines naming it do not change with pytest's folders."""
    shutil.copytree(SMALL_RUN, tmp_path / "RUN_DIR")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", str(columns))
    out = Console(record=True, color_system=None, force_terminal=False)  # as wide as COLUMNS says
    assert out.width == columns
    print_summary(out, load_results(Path("RUN_DIR")), Path("RUN_DIR"))
    summary_lines = out.export_text(clear=False).count("\n")
    print_report(out, write_report(Path("RUN_DIR")), Path("RUN_DIR"))
    text = out.export_text()
    if columns == 80:
        check_golden("stored-make-bench-terminal.txt", text)
    assert "In plain words:" in text and text.index("In plain words:") < text.index("────")
    # a line per claim in the plain words and in the table: none wrapped (a wrapped line is two)
    plain = text[text.index("In plain words:"):text.index("────")].splitlines()
    claims = sum(line.startswith(("  P", "  F", "  E")) for line in plain)
    assert claims == 14 == len(plain) - 3  # beside them: "In plain words:", the table's title and header
    table = text[text.index("────"):text.index("In whole sentences")].splitlines()
    assert len(table) == 1 + 14
    assert summary_lines < 20 and text.count("\n") <= 80, text


@pytest.mark.parametrize("run", ["stored", "base"])
def test_the_terminal_summary_of_a_stored_run_is_unchanged(runs: dict[str, Path], run: str) -> None:
    out = console()
    print_summary(out, load_results(runs[run]), "RUN_DIR", full=True)
    check_golden(f"{run}-summary-terminal.txt", out.export_text())


def test_a_comparison_is_unchanged(runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the files as OUT/…, whatever the length of pytest's folder (lines wrap by it)
    out = console()
    code = run_compare(runs["base"], runs["new"], out=Path("OUT"), show_all=True, console=out)
    assert code == 1  # express's rps fell by 20%, beyond its ratio to fastapi's
    check_golden("compare.md", (tmp_path / "OUT" / "compare.md").read_text())
    check_golden("compare-terminal.txt", out.export_text())
    data = json.loads(compare_json(compare_runs(runs["base"], runs["new"])))
    data["base"]["path"] = data["new"]["path"] = "RUN"
    check_golden("compare.json", json.dumps(data, indent=1) + "\n")


def test_a_history_is_unchanged(runs: dict[str, Path], tmp_path: Path) -> None:
    out = console()
    assert run_history(runs["history"], metric="rps", scenario="concurrency", step="users=8", out=tmp_path,
                       console=out) == 0
    check_golden("history.md", (tmp_path / "history-concurrency-users8-rps.md").read_text())
    check_golden("history-terminal.txt", out.export_text().replace(str(tmp_path), "OUT"))
