"""The report, rendered from a small stored run (tests/fixtures/small_run: a real `--profile test` run)."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from harness.claims import VERDICTS, load_claims
from harness.commands import report as cli_report
from harness.errors import BenchError
from harness.report import build_report
from harness.report.build import Written
from harness.report.document import command_line

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "small_run"
ALL_IDS = [c.id for c in load_claims().claims]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def copy_run(tmp_path: Path, name: str = "run") -> Path:
    run_dir = tmp_path / name
    shutil.copytree(FIXTURE, run_dir)
    return run_dir


class NetworkUsed(AssertionError):
    pass


def refuse(*args, **kwargs):
    raise NetworkUsed("the report tried to use the network")


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[None]:
    """The report reads stored files only: any attempt to open a connection fails the test.

    Module-scoped, so that the shared build below (also module-scoped) runs under it too.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in ("connect", "connect_ex"):
            patch.setattr(socket.socket, name, refuse)
        patch.setattr(socket, "create_connection", refuse)
        yield


def network_refused() -> bool:
    """Whether the ban is in force here: a connection attempt (to the loopback discard port) is refused."""
    try:
        with socket.create_connection(("127.0.0.1", 9), timeout=0.2):
            return False
    except NetworkUsed:
        return True
    except OSError:  # it really tried
        return False


class Rendered(NamedTuple):
    run_dir: Path
    paths: list[Path]
    banned_during_build: bool


@pytest.fixture(scope="module")
def rendered(no_network: None, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    run_dir = copy_run(tmp_path_factory.mktemp("report"))
    banned = network_refused()
    return Rendered(run_dir, build_report(run_dir), banned)


def test_the_shared_build_ran_under_the_network_ban(rendered):
    assert rendered.banned_during_build
    assert network_refused()  # and each test does too


def test_the_fixture_is_small():
    assert sum(p.stat().st_size for p in FIXTURE.iterdir()) < 500_000


def test_every_file_is_written_into_the_run_directory(rendered):
    run_dir, paths, _ = rendered
    names = {p.relative_to(run_dir).as_posix() for p in paths}
    assert {"claims.csv", "report.md", "report.html"} <= names
    plots = sorted(p for p in paths if p.suffix == ".png")
    assert {p.stem for p in plots} == {"claims_overview", "ratio_forest", "concurrency", "connections",
                                       "latency_percentiles", "cold_start", "idle_memory", "memory_over_time",
                                       "throughput_by_workload"}
    for path in plots:
        assert path.parent == run_dir / "plots" and path.read_bytes().startswith(PNG_MAGIC)
        assert path.stat().st_size > 10_000  # something was drawn


def test_claims_csv_has_every_claim_with_a_verdict_and_a_reason(rendered):
    run_dir, _, _ = rendered
    with (run_dir / "claims.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "claim", "scenario", "metric", "measured", "expected", "verdict", "reason",
                             "parts", "headline", "would_decide", "machine"]
    assert [r["id"] for r in rows] == ALL_IDS
    for row in rows:
        assert row["verdict"] in VERDICTS and row["reason"].strip(), row
        assert row["headline"].startswith("The article says: "), row  # every claim has a plain sentence
        if row["verdict"] == "inconclusive":
            assert row["would_decide"].strip(), row  # and an undecided one names what would decide it
    by_id = {r["id"]: r for r in rows}
    # the fixture: one trial of crud, FastAPI 1,173 req/s and Express 773 req/s: one round decides nothing
    assert by_id["P2"]["verdict"] == "inconclusive" and "no CI: not judged" in by_id["P2"]["reason"]
    assert "express/fastapi 0.659× (1 round, no CI)" in by_id["P2"]["measured"]
    # both targets idle below 80 MB, in both readings of MB, but in 2 trials only: no CI
    assert by_id["P5"]["verdict"] == "inconclusive" and "MB = 2^20 B" in by_id["P5"]["measured"]
    assert by_id["F1"]["verdict"] == "supported" and by_id["E1"]["verdict"] == "not checkable"
    assert by_id["P4"]["parts"].count(": ") == 3 and by_id["P5"]["parts"].count(": ") == 3  # a verdict per part


def test_report_html_is_self_contained_with_embedded_images(rendered):
    run_dir, paths, _ = rendered
    html = (run_dir / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len([p for p in paths if p.suffix == ".png"])
    assert "http://" not in html and "https://" not in html and "<script" not in html and "<link" not in html
    for section in ("Claims", "Environment", "Method", "Each claim", "Warnings", "Reproduce"):
        assert f">{section}</h2>" in html
    assert '<td class="doubt">inconclusive</td>' in html and '<td class="ok">supported</td>' in html


def test_report_md_links_the_plots_and_says_how_to_reproduce(rendered):
    run_dir, _, _ = rendered
    md = (run_dir / "report.md").read_text()
    for link in [line.split("](", 1)[1].rstrip(")") for line in md.splitlines() if line.startswith("![")]:
        assert (run_dir / link).is_file(), link
    assert "## Reproduce" in md and "--profile test" in md and "git checkout " in md
    assert "### P1: " in md and "### E3: not checkable" in md


def test_a_missing_scenario_skips_its_plot_with_a_note(tmp_path):
    run_dir = copy_run(tmp_path)
    data = json.loads((run_dir / "results.json").read_text())
    for key in ("metrics", "summaries", "trials"):
        data[key] = [row for row in data[key] if row["scenario"] != "memory"]
    (run_dir / "results.json").write_text(json.dumps(data))
    (run_dir / "samples.csv").unlink()
    paths = build_report(run_dir)
    assert not (run_dir / "plots" / "memory_over_time.png").exists()
    assert run_dir / "plots" / "cold_start.png" in paths
    md = (run_dir / "report.md").read_text()
    assert "Figure memory_over_time not drawn: scenario memory is not in this run." in md
    assert "### P6: not checkable" in md and "scenario memory was not run for" in md


def test_a_run_with_only_cold_start_still_reports_every_claim(tmp_path):
    run_dir = copy_run(tmp_path)
    data = json.loads((run_dir / "results.json").read_text())
    for key in ("metrics", "summaries", "trials"):
        data[key] = [row for row in data[key] if row["scenario"] == "cold_start"]
    data["checks"] = {}
    (run_dir / "results.json").write_text(json.dumps(data))
    paths = build_report(run_dir)
    assert {p.stem for p in paths if p.suffix == ".png"} == {"claims_overview", "cold_start", "idle_memory"}
    with (run_dir / "claims.csv").open() as f:
        verdicts = {r["id"]: r["verdict"] for r in csv.DictReader(f)}
    assert verdicts["P1"] == verdicts["F1"] == "not checkable" and len(verdicts) == len(ALL_IDS)


def test_a_directory_without_results_is_one_line_error(tmp_path):
    with pytest.raises(BenchError, match=r"no results\.json"):
        build_report(tmp_path)


def test_the_command_line_repeats_the_configuration():
    config = json.loads((FIXTURE / "results.json").read_text())["config"]
    line = command_line(config)
    assert line.startswith(".venv/bin/bench run \\\n    --profile test")
    assert "--server-cpus 0" in line and "--loadgen-cpus 1" in line and "--order alternate" in line
    assert "--seed" not in line  # alternate order does not use the seed
    assert "--seed 7" in command_line({**config, "order": "random", "seed": 7})


def test_bench_report_maps_its_arguments_and_prints_the_table(tmp_path, capsys, monkeypatch):
    """The CLI only maps arguments onto write_report (the library call) and prints what it returns."""
    calls = []

    def fake_write_report(run_dir, claims_path):
        calls.append((run_dir, claims_path))
        results = json.loads((FIXTURE / "results.json").read_text())
        from harness.claims import judge_claims
        from harness.results import RunResults

        verdicts = judge_claims(RunResults.model_validate(results), load_claims(claims_path))
        return Written("small", [run_dir / "report.html"], verdicts)

    monkeypatch.setattr("harness.report.build.write_report", fake_write_report)
    parser = argparse.ArgumentParser()
    cli_report.add_commands(parser.add_subparsers(), lambda p: None, int)
    claims = tmp_path / "claims.toml"
    claims.write_text('[policy]\nsingle_trial = "point"\n'  # two trials: judged on the point value
                      '[[claims]]\nid = "Z1"\nclaim = "a writer\'s claim"\n[[claims.checks]]\ntype = "range"\n'
                      'target = "fastapi"\nscenario = "cold_start"\nmetric = "rss_idle_mb"\nmax = 100\n')
    args = parser.parse_args(["report", "some/run", "--claims", str(claims)])
    assert args.func(args) == 0
    assert calls == [(Path("some/run"), claims)]
    out = capsys.readouterr().out
    assert "Z1" in out and "supported" in out and "into some/run:\n  report.html" in out  # the folder, then its files
    args = parser.parse_args(["report", "other"])
    args.func(args)
    assert calls[-1] == (Path("other"), None)


def test_stored_histograms_are_merged_across_trials(tmp_path):
    import shutil

    from hdrh.histogram import HdrHistogram

    from harness.report.data import RunData
    from harness.results import HistogramRecord

    run = tmp_path / "run"
    shutil.copytree(Path(__file__).parent / "fixtures" / "small_run", run)
    lines = []
    for trial, value in ((1, 100), (2, 90_000)):
        hist = HdrHistogram(1, 100_000_000, 3)
        hist.record_value(value)
        lines.append(HistogramRecord(target="fastapi", scenario="throughput", trial=trial, step="users=4",
                                     endpoint="Aggregated", hdr=hist.encode().decode()).model_dump_json())
    (run / "histograms.jsonl").write_text("\n".join(lines) + "\n")
    merged = RunData.load(run).merged_histogram("fastapi", "throughput", "users=4")
    assert merged.get_total_count() == 2 and 89_000 < merged.get_max_value() < 91_000
    assert RunData.load(run).merged_histogram("express", "throughput", "users=4") is None
