"""`bench report RUN RUN`: two stored runs (the fixture, and a copy as if from another machine in Docker)
side by side, with their environments and each claim's verdict per run; and sliced runs' ratios, whether
the runs agree within their intervals."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from test_sliced_claims import STEP, pair_values, sliced_run, slicing

from harness.claims import DEFAULT_CLAIMS, Figure, load_claims
from harness.commands import report as cli_report
from harness.commands.main import main
from harness.report.side_by_side import agreement, load_columns, ratios_across, run_agreement
from harness.results import atomic_write_text

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "small_run"


def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    """The fixture as stored, and a copy from a 16-core EPYC in Docker whose Express starts 3× slower."""
    native, docker = tmp_path / "native", tmp_path / "docker"
    shutil.copytree(FIXTURE, native)
    shutil.copytree(FIXTURE, docker)
    data = json.loads((docker / "results.json").read_text())
    data["run_id"] = "docker-epyc"
    data["environment"].update(cpu_model="AMD EPYC 7B13", cpu_count_logical=16, runtime="docker")
    data["config"]["runtime"] = "docker"
    for m in data["metrics"]:
        if m["target"] == "express" and m["metric"] == "rss_idle_mb":
            m["value"] *= 3  # Express's memory above its 40–80 MB range in this run only
    (docker / "results.json").write_text(json.dumps(data))
    return native, docker


def point_claims(tmp_path: Path) -> Path:
    """The shipped claims, judging the fixture's 2-trial figures on their point values."""
    path = tmp_path / "claims.toml"
    path.write_text(DEFAULT_CLAIMS.read_text().replace('single_trial = "inconclusive"', 'single_trial = "point"'))
    return path


def test_bench_report_with_two_runs_puts_them_side_by_side(tmp_path, capsys):
    native, docker = two_runs(tmp_path)
    parser = argparse.ArgumentParser()
    cli_report.add_commands(parser.add_subparsers(), lambda p: None, int)
    args = parser.parse_args(["report", str(native), str(docker), "--out", str(tmp_path / "out"),
                              "--claims", str(point_claims(tmp_path))])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "AMD EPYC 7B13" in out and "Intel(R) Xeon(R) Processor" in out and "docker-epyc" in out
    md = (tmp_path / "out" / "side-by-side.md").read_text()
    assert "| runtime | native | docker |" in md and "| cores | 2 logical" in md and "| 16 logical" in md
    rows = {line.split("|")[1].strip(): line for line in md.splitlines() if line.startswith("| ")}
    assert "on every run" in rows["F1"]  # behaviour does not depend on the machine
    assert "differs" in rows["P5"]  # Express's memory left its range on one run only
    assert (tmp_path / "out" / "side-by-side.html").read_text().count("<table>") == 3  # environments, claims, ratios
    assert not (native / "report.html").exists()  # side by side reads the runs, it writes nothing into them


def test_each_run_is_judged_on_its_own_figures(tmp_path):
    native, docker = two_runs(tmp_path)
    first, second = load_columns([native, docker], load_claims())
    by_id = [{v.claim.id: v for v in c.verdicts} for c in (first, second)]
    assert "64.7 MB" in by_id[0]["P5"].headline and "194 MB" in by_id[1]["P5"].headline
    assert agreement([by_id[0]["F1"], by_id[1]["F1"]]) == "supported on every run"
    unchecked = by_id[0]["E1"]  # a claim no run can check
    assert agreement([unchecked, unchecked]) == "not checkable on any run"
    assert agreement([by_id[0]["F1"], unchecked]) == "supported on the 1 of 2 runs that check it"


# ---- ratios from run to run ---------------------------------------------------------------------

def sliced_runs(tmp_path: Path, ratios: list[float], spread: float = 0.03) -> list[Path]:
    """One stored run per crud ratio, each of 32 pairs of slices (tests/test_sliced_claims.py's host)."""
    dirs = []
    for index, ratio in enumerate(ratios, start=1):
        a, b = pair_values(32, ratio, seed=index, spread=spread)
        results = sliced_run({("express", "crud", STEP, "rps"): a, ("fastapi", "crud", STEP, "rps"): b},
                             {"slicing": slicing()})
        results.run_id = f"run{index}"
        directory = tmp_path / results.run_id
        directory.mkdir()
        atomic_write_text(directory / "results.json", results.model_dump_json())
        dirs.append(directory)
    return dirs


def p2_across(tmp_path: Path, ratios: list[float], spread: float = 0.03):
    columns = load_columns(sliced_runs(tmp_path, ratios, spread), load_claims())
    return next(r for r in ratios_across(columns) if r.claim_id == "P2" and r.check.scenario == "crud")


def test_runs_whose_intervals_overlap_agree_and_say_how_close_their_medians_are(tmp_path):
    p2 = p2_across(tmp_path, [0.86, 0.865, 0.87])
    assert all(f is not None and f.count_text == "32 pairs" for f in p2.figures)
    values = [f.value for f in p2.figures]
    spread = (max(values) - min(values)) / min(values)
    assert run_agreement(p2.figures) == f"3 runs agree, medians within {spread:.1%}"
    assert p2.name == "P2 (postgres) crud rps"


def test_runs_whose_intervals_lie_apart_disagree_and_say_which(tmp_path):
    p2 = p2_across(tmp_path, [0.86, 0.86, 1.2])
    text = run_agreement(p2.figures)
    assert text.startswith("disagree: run 3's interval [") and "lies apart from run 1's [" in text
    assert "medians within" in text


def test_a_run_that_did_not_measure_a_ratio_is_left_out():
    figure = Figure("express/fastapi", "crud users=64 rps", 0.86, 0.84, 0.88, "×", 32)
    assert run_agreement([figure, None]) == "measured on run 1 only"
    point = Figure("express/fastapi", "crud users=64 rps", 0.9, None, None, "×", 1)
    assert run_agreement([figure, point]).startswith("cannot tell: run 2 has no interval")


def test_the_side_by_side_report_states_each_ratio_across_runs(tmp_path, capsys):
    dirs = sliced_runs(tmp_path, [0.86, 0.87])
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    cli_report.add_commands(parser.add_subparsers(), lambda p: None, int)
    args = parser.parse_args(["report", *map(str, dirs), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    assert "P2 (postgres) crud rps: 2 runs agree, medians within" in capsys.readouterr().out
    md = (tmp_path / "out" / "side-by-side.md").read_text()
    assert "## Ratios from run to run" in md
    row = next(line for line in md.splitlines() if line.startswith("| P2 | crud users=max rps |"))
    assert row.count("group-sequential over 4 looks, 32 pairs") == 2 and "2 runs agree" in row


def test_the_json_document_gives_each_ratio_per_run_and_the_agreement(tmp_path, capsys):
    dirs = sliced_runs(tmp_path, [0.86, 1.2])
    assert main(["report", *map(str, dirs), "--json", "--out", str(tmp_path / "out")]) == 0
    data = json.loads(capsys.readouterr().out)
    p2 = next(r for r in data["result"]["ratios"] if r["id"] == "P2" and r["scenario"] == "crud")
    assert [run["counts"] for run in p2["runs"]] == ["32 pairs", "32 pairs"]
    assert p2["runs"][0]["low"] < p2["runs"][0]["value"] < p2["runs"][0]["high"]
    assert p2["agreement"].startswith("disagree: run 2's interval")
