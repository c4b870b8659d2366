"""A sweep of bad inputs to every command: each gives a non-zero exit and exactly one line on
stderr, never a traceback, and none starts a server.

Each case runs through `harness.commands.main.main` in-process, from a scratch folder where `targets`
and `scenarios` link to the repository's, so the defaults resolve as in a checkout and any
run directory lands in the scratch folder.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.commands.main import main

ROOT = Path(__file__).resolve().parent.parent
SMALL_RUN = Path(__file__).resolve().parent / "fixtures" / "small_run"


def _run_with(name: str, change: Callable[[dict], object]) -> Callable[[Path, ExitStack], None]:
    """A setup step: a copy of the small stored run under `name`, its results.json changed."""

    def make(tmp: Path, stack: ExitStack) -> None:
        shutil.copytree(SMALL_RUN, tmp / name)
        data = json.loads((tmp / name / "results.json").read_text())
        replaced = change(data)
        (tmp / name / "results.json").write_text(json.dumps(data if replaced is None else replaced))

    return make


def _text_file(relative: str, text: str) -> Callable[[Path, ExitStack], None]:
    def make(tmp: Path, stack: ExitStack) -> None:
        (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp / relative).write_text(text)

    return make


def _busy_port(tmp: Path, stack: ExitStack) -> None:
    """A socket listening on 127.0.0.1; its port is written where the case's args read it."""
    sock = stack.enter_context(socket.socket())
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    (tmp / "busy_port").write_text(str(sock.getsockname()[1]))


def _history_of_bad_runs(tmp: Path, stack: ExitStack) -> None:
    (tmp / "hist").mkdir()
    _run_with("hist/bad", lambda d: d.update(trials="x"))(tmp, stack)


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda data: data.update({key: value})


@dataclass
class Case:
    args: list[str]
    setup: list[Callable[[Path, ExitStack], None]] = field(default_factory=list)
    says: str = ""  # a fragment the one line must contain


CASES: dict[str, Case] = {
    # the command line itself
    "no-command": Case([], says="required"),
    "unknown-command": Case(["frobnicate"], says="invalid choice"),
    "unknown-flag": Case(["run", "--no-such-flag"], says="unrecognized arguments"),
    # setup
    "setup-unknown-target": Case(["setup", "--target", "nope"], says="nope"),
    "setup-missing-targets-dir": Case(["setup", "--targets-dir", "no/such/dir"], says="no/such/dir"),
    # serve
    "serve-no-target": Case(["serve"], says="target"),
    "serve-unknown-target": Case(["serve", "nope"], says="nope"),
    "serve-port-too-large": Case(["serve", "fastapi", "--port", "99999"], says="1 and 65535"),
    "serve-port-zero": Case(["serve", "fastapi", "--port", "0"], says="1 and 65535"),
    "serve-port-negative": Case(["serve", "fastapi", "--port", "-5"], says="1 and 65535"),
    "serve-port-not-a-number": Case(["serve", "fastapi", "--port", "http"], says="1 and 65535"),
    "serve-port-busy": Case(["serve", "fastapi", "--port", "{busy_port}"], [_busy_port], says="in use"),
    "serve-zero-workers": Case(["serve", "fastapi", "--workers", "0"], says="positive integer"),
    "serve-bad-cpus": Case(["serve", "fastapi", "--cpus", "zero"], says="bad CPU list"),
    "serve-reversed-cpus": Case(["serve", "fastapi", "--cpus", "3-1"], says="bad CPU list"),
    "serve-unavailable-cpu": Case(["serve", "fastapi", "--cpus", "4095"], says="4095"),
    "serve-missing-targets-dir": Case(["serve", "fastapi", "--targets-dir", "no/such/dir"], says="no/such/dir"),
    # run
    "run-unknown-profile": Case(["run", "--profile", "nope"], says="invalid choice"),
    "run-unknown-scenario": Case(["run", "--scenario", "nope"], says="unknown scenario"),
    "run-unknown-target": Case(["run", "--target", "nope"], says="nope"),
    "run-unknown-runtime": Case(["run", "--runtime", "nope", "--scenario", "cold_start"], says="unknown runtime"),
    "run-zero-workers": Case(["run", "--workers", "0"], says="positive integer"),
    "run-bad-loadgen-workers": Case(["run", "--loadgen-workers", "many"], says="positive integer"),
    "run-zero-sample-hz": Case(["run", "--sample-hz", "0"], says="sample_hz"),
    "run-bad-sample-hz": Case(["run", "--sample-hz", "fast"], says="sample-hz"),
    "run-bad-order": Case(["run", "--order", "sideways"], says="invalid choice"),
    "run-bad-seed": Case(["run", "--seed", "x"], says="seed"),
    "run-zero-memory-limit": Case(["run", "--memory-limit-mb", "0"], says="positive integer"),
    "run-bad-server-env": Case(["run", "--server-env", "NOEQUALS"], says="KEY=VALUE"),
    "run-bad-base-image": Case(["run", "--base-image", "=img"], says="KEY=VALUE"),
    "run-bad-cpus": Case(["run", "--server-cpus", "a-b"], says="bad CPU list"),
    "run-unavailable-cpu": Case(["run", "--server-cpus", "4095", "--loadgen-cpus", "4094"], says="4095"),
    "run-name-escapes": Case(["run", "--name", "../../etc/x"], says="plain name"),
    "run-name-dot-dot": Case(["run", "--name", ".."], says="plain name"),
    "run-name-absolute": Case(["run", "--name", "/tmp/x"], says="plain name"),
    "run-name-empty": Case(["run", "--name", ""], says="plain name"),
    "run-missing-scenarios-dir": Case(["run", "--scenarios-dir", "no/such/dir"], says="no/such/dir"),
    "run-missing-targets-dir": Case(["run", "--targets-dir", "no/such/dir"], says="no/such/dir"),
    "run-results-dir-under-a-file": Case(
        ["run", "--profile", "test", "--scenario", "cold_start", "--results-dir", "afile/sub"],
        [_text_file("afile", "not a folder")], says="afile/sub"),
    "run-name-already-used": Case(
        ["run", "--profile", "test", "--scenario", "cold_start", "--results-dir", "r", "--name", "old"],
        [_run_with("r/old", lambda d: None)], says="already holds a run"),
    # report
    "report-no-run-dir": Case(["report"], says="RUN_DIR"),
    "report-missing-dir": Case(["report", "no/such/run"], says="no/such/run"),
    "report-empty-dir": Case(["report", "empty"], [_text_file("empty/.keep", "")], says="no results.json"),
    "report-corrupt-json": Case(["report", "run"], [_text_file("run/results.json", "{not json")], says="JSON"),
    "report-json-not-an-object": Case(["report", "run"], [_text_file("run/results.json", "[1, 2]")], says="run"),
    "report-wrong-types": Case(["report", "run"], [_run_with("run", _set("trials", "x"))], says="trials"),
    "report-wrong-nested-type": Case(
        ["report", "run"], [_run_with("run", lambda d: d["metrics"][0].update(value="fast"))], says="metrics"),
    "report-newer-version": Case(["report", "run"], [_run_with("run", _set("schema_version", 99))], says="format 99"),
    "report-missing-claims": Case(["report", "run", "--claims", "no/such.toml"], [_run_with("run", lambda d: None)],
                                  says="no/such.toml"),
    # compare
    "compare-one-arg": Case(["compare", "a"], says="new_run"),
    "compare-missing-runs": Case(["compare", "no/base", "no/new"], says="no/base"),
    "compare-wrong-types": Case(["compare", "base", "new"],
                                [_run_with("base", _set("trials", "x")), _run_with("new", lambda d: None)],
                                says="trials"),
    "compare-newer-version": Case(["compare", "base", "new"],
                                  [_run_with("base", lambda d: None), _run_with("new", _set("schema_version", 2))],
                                  says="format 2"),
    "compare-bad-threshold": Case(["compare", "a", "b", "--threshold", "five"], says="percentage"),
    "compare-bad-alpha": Case(["compare", "a", "b", "--alpha", "2"], says="between 0 and 1"),
    "compare-out-under-a-file": Case(["compare", "base", "new", "--out", "afile/sub"],
                                     [_run_with("base", lambda d: None), _run_with("new", lambda d: None),
                                      _text_file("afile", "")], says="afile/sub"),
    # history
    "history-missing-dir": Case(["history", "no/such/results"], says="no/such/results"),
    "history-only-bad-runs": Case(["history", "hist"], [_history_of_bad_runs], says="no stored run"),
    "history-zero-last": Case(["history", "hist", "--last", "0"], says="positive integer"),
}


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "targets").symlink_to(ROOT / "targets")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENCH_DEBUG", raising=False)
    yield tmp_path


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the case if it gets as far as starting a server: bad input must be refused before."""
    from harness.loadgen import driver
    from harness.runtime import native

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bad input started a server or a load")

    monkeypatch.setattr(native, "spawn", refuse)
    monkeypatch.setattr(driver, "spawn", refuse)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_line(name: str, scratch: Path, no_server: None, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    case = CASES[name]
    with ExitStack() as stack:
        for step in case.setup:
            step(scratch, stack)
        busy = (scratch / "busy_port").read_text() if (scratch / "busy_port").exists() else ""
        args = [arg.replace("{busy_port}", busy) for arg in case.args]
        try:
            code = main(args)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert code not in (0, None), err
    assert case.says in lines[0], lines[0]
    assert "internal error" not in lines[0], "bad input must be named as such, not reported as a bug"


def test_the_sweep_covers_every_command() -> None:
    commands = {case.args[0] for case in CASES.values() if case.args}
    assert commands >= {"setup", "serve", "run", "report", "compare", "history"}
    assert len(CASES) >= 30


def test_run_name_is_checked_by_the_library_too(scratch: Path) -> None:
    """A caller of the library (not the CLI) cannot write outside the results folder either."""
    from harness.config import RunConfig
    from harness.errors import BenchError
    from harness.run import prepare_run

    config = RunConfig(profile="test", scenarios=["cold_start"], results_dir=scratch / "r", run_name="../escaped")
    with pytest.raises(BenchError, match="plain name"):
        prepare_run(config)
    assert not (scratch / "escaped").exists()


def test_cpu_check_uses_this_machine(scratch: Path) -> None:
    assert os.sched_getaffinity(0)  # the 'unavailable CPU' cases assume CPU 4095 is not usable here
    assert 4095 not in os.sched_getaffinity(0)
