"""Bad input gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

from harness.commands.main import main

FIXTURES = Path(__file__).parent / "fixtures"
MANIFEST = """
name = "{name}"
display_name = "{name}"
language = "python"
requires = {requires}
[native]
command = {command}
env = {{ HOST = "{{host}}", PORT = "{{port}}" }}
"""


def make_target(root: Path, name: str, command: list[str], requires: list[str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "target.toml").write_text(
        MANIFEST.format(name=name, command=_toml_list(command), requires=_toml_list(requires or []))
    )
    return root


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    return code, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("bench: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_unknown_profile_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--profile", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_bad_workers_value(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--workers", "0"])
    assert "expected a positive integer" in capsys.readouterr().err


def test_unknown_scenario(capsys, tmp_path):
    code, err = run_cli(capsys, "run", "--scenario", "nope", "--results-dir", str(tmp_path))
    assert code == 2 and "unknown scenario 'nope'" in error_line(err)


def test_bad_scenario_file(capsys, tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "broken.py").write_text("SCENARIO = {'kind': 'load'\n")
    code, err = run_cli(capsys, "run", "--scenarios-dir", str(scenarios), "--results-dir", str(tmp_path))
    assert code == 2 and "bad scenario file" in error_line(err)


def test_missing_tool_is_named(capsys, tmp_path):
    root = make_target(tmp_path / "targets", "needy", ["true"], requires=["no-such-node-xyz"])
    code, err = run_cli(capsys, "run", "--targets-dir", str(root), "--scenario", "cold_start", "--profile", "test",
                        "--results-dir", str(tmp_path / "r"))
    assert code == 2 and "needs 'no-such-node-xyz'" in error_line(err)


def test_target_crashing_at_start_shows_its_log(capsys, tmp_path):
    command = [sys.executable, "-c", "import sys; print('boom: cannot import app'); sys.exit(3)"]
    root = make_target(tmp_path / "targets", "crashy", command)
    code, err = run_cli(capsys, "run", "--targets-dir", str(root), "--scenario", "cold_start", "--profile", "test",
                        "--results-dir", str(tmp_path / "r"))
    line = error_line(err)
    assert code == 2 and "exited with code 3" in line and "boom: cannot import app" in line


def test_target_answering_wrongly_is_refused_before_load(capsys, tmp_path):
    root = make_target(tmp_path / "targets", "wrong", [sys.executable, str(FIXTURES / "wrong_server.py")])
    code, err = run_cli(capsys, "run", "--targets-dir", str(root), "--scenario", "throughput", "--profile", "test",
                        "--results-dir", str(tmp_path / "r"))
    line = error_line(err)
    assert code == 2 and "answered the contract wrongly: GET /json" in line


def test_port_in_use(capsys, tmp_path):
    root = make_target(tmp_path / "targets", "any", ["true"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, err = run_cli(capsys, "serve", "any", "--targets-dir", str(root), "--port", str(port))
    assert code == 2 and f"port {port} on 127.0.0.1 is in use" in error_line(err)


def test_overlapping_cpu_sets(capsys, tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two usable cores")
    cpu = str(min(os.sched_getaffinity(0)))
    code, err = run_cli(capsys, "run", "--server-cpus", cpu, "--loadgen-cpus", cpu, "--results-dir", str(tmp_path))
    assert code == 2 and "overlap" in error_line(err)


def test_stateful_scenario_with_workers_is_refused(capsys, tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    shutil.copy(Path(__file__).parent.parent / "scenarios" / "cold_start.py", scenarios / "writer.py")
    original = (scenarios / "writer.py").read_text()
    text = original.replace('"kind": "cold_start",', '"kind": "cold_start", "stateful": True,')
    (scenarios / "writer.py").write_text(text)
    code, err = run_cli(capsys, "run", "--scenarios-dir", str(scenarios), "--scenario", "writer", "--workers", "2",
                        "--results-dir", str(tmp_path / "r"))
    assert code == 2 and "--workers 1" in error_line(err)


def _time_wait_port() -> int:
    """A port with a socket in TIME_WAIT and nothing listening: the server side closed first,
    as a server does after a load's connections end (and, as Uvicorn and Node, with SO_REUSEADDR)."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the active close: this end, local port `port`, enters TIME_WAIT
        client.recv(1)  # the client sees the FIN
        client.close()
    return port


def test_a_port_in_time_wait_is_free():
    from harness.errors import BenchError
    from harness.runtime.server import check_port_free

    port = _time_wait_port()
    with socket.socket() as probe, pytest.raises(OSError):  # a plain bind, as before the fix, is refused
        probe.bind(("127.0.0.1", port))
    check_port_free("127.0.0.1", port)  # the servers (SO_REUSEADDR) would bind it: so must the check
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with pytest.raises(BenchError, match="in use"):
            check_port_free("127.0.0.1", port)


def test_unexpected_error_is_one_line_and_not_the_regression_code(capsys, monkeypatch):
    import harness.commands.report

    def broken(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.delenv("BENCH_DEBUG", raising=False)
    monkeypatch.setattr(harness.commands.report, "cmd_report", broken)
    code, err = run_cli(capsys, "report", "anywhere")
    assert code == 70 and code != 1
    assert err.splitlines() == [
        "bench: internal error: RuntimeError: boom second line (run with BENCH_DEBUG=1 for the traceback)"
    ]


def test_bench_debug_shows_the_traceback(capsys, monkeypatch):
    import harness.commands.report

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setenv("BENCH_DEBUG", "1")
    monkeypatch.setattr(harness.commands.report, "cmd_report", broken)
    code, err = run_cli(capsys, "report", "anywhere")
    assert code == 70 and "Traceback" in err and "RuntimeError: boom" in err


def test_bad_command_line_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "fastapi", "--port", "99999"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "bench serve: error: argument --port: expected a port number between 1 and 65535, got '99999' "
        "(see `bench serve --help`)"
    ]
