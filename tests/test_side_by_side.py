"""`bench report RUN RUN`: two stored runs (the fixture, and a copy as if from another machine in Docker)
side by side, with their environments and each claim's verdict per run."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from harness.claims import DEFAULT_CLAIMS, load_claims
from harness.commands import report as cli_report
from harness.report.side_by_side import agreement, load_columns

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
    assert (tmp_path / "out" / "side-by-side.html").read_text().count("<table>") == 2
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
