"""`--json` and `--quiet` (docs/formats.md, "JSON on stdout"): each command's stdout is one JSON document that
matches docs/schemas/stdout.schema.json, and --quiet prints nothing on stdout while still writing the files and
returning the command's exit code. On stored runs (tests/fixtures/small_run and runs derived from it); `ab` with
its measuring replaced by a constructed result, as tests/test_ab.py does, so no server is started here."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from stored_runs import SMALL_RUN, five_runs, stored_run
from test_ab import BASE, gate

from harness.ab import run as ab_run
from harness.commands.main import main
from harness.commands.output import JSON_COMMANDS
from harness.compare.ab import AbResult

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "schemas" / "stdout.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def document(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> dict:
    """Run `bench ARGV`; its stdout parsed, after checking the exit code and the schema."""
    assert main(argv) == code, capsys.readouterr().err
    out = capsys.readouterr().out
    data = json.loads(out)  # one document: json.loads refuses anything after it
    errors = sorted(VALIDATOR.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert data["command"] == argv[0] and data["exit_code"] == code
    return data


def test_the_schema_is_a_valid_draft_2020_12_schema_naming_every_json_command():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert set(SCHEMA["$defs"]) == set(JSON_COMMANDS)


def test_the_schema_refuses_a_wrong_document():
    """So that the checks below can fail: a result of the wrong shape for its command is an error."""
    wrong = {"bench_json": 1, "command": "history", "exit_code": 0, "files": [], "result": {"rows": "x"}}
    assert list(VALIDATOR.iter_errors(wrong))


def test_run_list(capsys):
    data = document(capsys, ["run", "--list", "--json", "--profile", "test"])
    names = [s["name"] for s in data["result"]["scenarios"]]
    assert "throughput" in names and data["result"]["profile"] == "test"
    throughput = next(s for s in data["result"]["scenarios"] if s["name"] == "throughput")
    assert throughput["parameters"] and "test" in throughput["profiles"]


def test_run_json_without_list_is_refused(capsys):
    assert main(["run", "--json", "--profile", "test", "--scenario", "throughput"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--list" in captured.err


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(SMALL_RUN, tmp_path / "run")
    return tmp_path / "run"


def test_report(capsys, run_dir):
    data = document(capsys, ["report", str(run_dir), "--json"])
    (run,) = data["result"]["runs"]
    assert run["run_id"] == "test1" and run["claims"]
    assert str(run_dir / "report.html") in data["files"]


def test_report_of_two_runs(capsys, run_dir, tmp_path):
    other = stored_run(tmp_path / "other", "other", "2026-11-02T10:00:00+00:00", "b" * 40)
    data = document(capsys, ["report", str(run_dir), str(other), "--json", "--out", str(tmp_path / "side")])
    assert [r["run_id"] for r in data["result"]["runs"]] == ["test1", "other"]


def test_compare_with_a_regression_exits_1_with_its_document(capsys, tmp_path):
    base = stored_run(tmp_path / "base", "base", "2026-11-01T10:00:00+00:00", "a" * 40)
    new = stored_run(tmp_path / "new", "new", "2026-11-02T10:00:00+00:00", "b" * 40,
                     scale={("express", "rps"): 0.7})
    data = document(capsys, ["compare", str(base), str(new), "--json", "--metric", "rps"], code=1)
    assert data["result"]["regressions"] > 0
    assert any(r["verdict"] == "regression" and r["target"] == "express" for r in data["result"]["rows"])
    assert str(new / "compare.json") in data["files"]


def test_history_page_and_one_figure(capsys, tmp_path):
    results = five_runs(tmp_path, scenarios={"throughput", "cold_start"})
    page = document(capsys, ["history", str(results), "--json", "--out", str(tmp_path / "out")])
    rows = page["result"]["rows"]
    assert {r["run_id"] for r in rows} == {f"run{i}" for i in range(1, 6)}
    assert any(r["verdict"] == "regression" and r["run_id"] == "run4" and r["metric"] == "rps" for r in rows)
    assert page["result"]["history_version"] == 1 and page["result"]["skipped"]  # the quick-profile run
    one = document(capsys, ["history", str(results), "--json", "--metric", "rps", "--step", "users=4",
                            "--out", str(tmp_path / "one")])
    assert {(r["scenario"], r["step"], r["metric"]) for r in one["result"]["rows"]} == {("throughput", "users=4",
                                                                                          "rps")}


def test_ab(capsys, monkeypatch, tmp_path):
    def measured(options, progress=None):
        result = gate([v * 0.85 for v in BASE])
        return AbResult(**{**result.__dict__, "run_dir": str(tmp_path)})

    monkeypatch.setattr(ab_run, "run_ab", measured)
    data = document(capsys, ["ab", "main", "WORKTREE", "--json", "--out", str(tmp_path / "out")], code=1)
    assert [c["verdict"] for c in data["result"]["changes"]] == ["regression"]


@pytest.mark.parametrize("command", ["run", "report", "compare", "history", "completion"])
def test_quiet_prints_nothing_on_stdout(command, capsys, tmp_path, run_dir):
    base = stored_run(tmp_path / "results" / "base", "base", "2026-11-01T10:00:00+00:00", "a" * 40)
    new = stored_run(tmp_path / "results" / "new", "new", "2026-11-02T10:00:00+00:00", "b" * 40)
    argv = {"run": ["run", "--list"], "report": ["report", str(run_dir)],
            "compare": ["compare", str(base), str(new), "--metric", "rps"],
            "history": ["history", str(tmp_path / "results"), "--metric", "rps", "--step", "users=4"],
            "completion": ["completion", "bash"]}[command]
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    if command == "report":
        assert (run_dir / "report.html").is_file()  # the files are still written
    if command == "history":
        assert (tmp_path / "results" / "history-throughput-users4-rps.md").is_file()
