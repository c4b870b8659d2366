"""Held connections: both servers close idle keep-alive connections after the same, recorded
timeout, a scenario's users never think so long that the servers close their connections between
requests, and a request stalled at a window's end counts as not answered."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.errors import BenchError
from harness.kinds.load import KEEPALIVE_ENV, server_env
from harness.loadgen.driver import AGGREGATE, LoadSpec, LocustProcesses, StepSpec
from harness.run import run_benchmark
from harness.runtime import running
from harness.runtime.native import NativeRuntime
from harness.runtime.options import LaunchOptions
from harness.runtime.server import free_port
from harness.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = ROOT / "scenarios" / "connections.py"


@pytest.mark.parametrize("profile", sorted(load_scenario(CONNECTIONS).profiles))
def test_connections_users_think_less_than_the_keepalive_timeout(profile):
    params = load_scenario(CONNECTIONS).params(profile)
    longest_think_s = params.think_s * (1 + params.think_jitter)
    assert params.think_jitter > 0  # the users spread their requests (see IdleUser.wait_time)
    assert longest_think_s < params.keepalive_timeout_s


def write_scenario(tmp_path: Path, profile: dict) -> Path:
    path = tmp_path / "idle.py"
    path.write_text(f'SCENARIO = {{"kind": "load", "profiles": {{"full": {profile!r}}}}}\n')
    return path


def test_a_think_time_reaching_the_keepalive_timeout_is_refused_in_one_line(tmp_path):
    # The original full profile: 5 s ± 20% against both servers' default 5 s.
    profile = {"users": [500], "think_s": 5.0, "think_jitter": 0.2, "keepalive_timeout_s": 5.0, "warmup_s": 1,
               "duration_s": 1, "trials": 1}
    with pytest.raises(BenchError) as err:
        load_scenario(write_scenario(tmp_path, profile))
    message = str(err.value)
    assert "\n" not in message and "keepalive_timeout_s" in message and "6 s" in message
    load_scenario(write_scenario(tmp_path, {**profile, "keepalive_timeout_s": 6.5}))  # above the longest: fine


def test_the_keepalive_timeout_reaches_the_server_and_an_explicit_server_env_wins():
    params = load_scenario(CONNECTIONS).params("full")
    assert server_env(params, {})[KEEPALIVE_ENV] == f"{params.keepalive_timeout_s:g}"
    assert server_env(params, {"OTHER": "1"})["OTHER"] == "1"
    assert server_env(params, {KEEPALIVE_ENV: "30"})[KEEPALIVE_ENV] == "30"
    with pytest.raises(BenchError, match="think"):
        server_env(params, {KEEPALIVE_ENV: "1"})  # shorter than the users' think time


REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


def ask(sock: socket.socket) -> bytes:
    """One request on an open keep-alive connection, its whole response read (headers and body
    may come in separate writes); b"" if the server has closed the connection."""
    try:
        sock.sendall(REQUEST)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < length:
            body += sock.recv(65536)
        return data
    except (BrokenPipeError, ConnectionResetError):
        return b""


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """True once the server closes the idle connection (the read sees end of file) within `within_s`."""
    sock.settimeout(within_s)
    try:
        return sock.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["fastapi", "express"])
def test_both_servers_close_idle_connections_after_the_keepalive_timeout(name, targets, tmp_path):
    timeout_s = 1.0
    options = LaunchOptions(port=free_port(), log_path=tmp_path / "server.log", extra_env={KEEPALIVE_ENV: "1"})
    with running(NativeRuntime(), targets[name], options) as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            assert ask(sock).startswith(b"HTTP/1.1 200")
            time.sleep(timeout_s / 4)  # idle well below the timeout: the connection is kept
            assert ask(sock).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            assert closed_by_server(sock, within_s=timeout_s + 3)  # idle past it: the server closes it
            waited_s = time.monotonic() - started
        # Not closed at once either: it waited about the timeout (Node checks timeouts about once a second).
        assert timeout_s * 0.8 <= waited_s <= timeout_s + 2.5


@pytest.mark.e2e
def test_connections_run_records_keepalive_and_the_share_answered(tmp_path):
    config = RunConfig(profile="test", results_dir=tmp_path, targets_dir=ROOT / "targets",
                       scenarios_dir=ROOT / "scenarios", scenarios=["connections"], run_name="held")
    results = json.loads((run_benchmark(config) / "results.json").read_text())
    params = results["config"]["scenario_params"]["connections"]
    for trial in results["trials"]:
        assert trial["server"]["keepalive_timeout_s"] == params["keepalive_timeout_s"]
    steps = [m for m in results["metrics"] if m["metric"] == "answered_ratio"]
    assert len(steps) == 2 * len(params["users"])  # every step of both targets
    assert all(0.99 <= m["value"] <= 1.0 for m in steps)  # a light load on loopback: every request answered
    assert {m["metric"] for m in results["metrics"]} >= {"pending_requests", "connections_held"}


@pytest.mark.e2e
def test_requests_to_a_server_that_never_answers_are_pending_at_the_window_end(tmp_path):
    # A listening socket that never reads nor answers: every request stalls (the users' timeout is 10 s).
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        users = 5
        spec = LoadSpec(scenario_file=CONNECTIONS, host_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
                        steps=[StepSpec(users, users, warmup_s=1.5, duration_s=1.0)],
                        params={"think_s": 0.5, "think_jitter": 0.2, "timeout_s": 10})
        [result] = LocustProcesses(spec, tmp_path).run()
    aggregate = result.endpoints[AGGREGATE]
    assert (aggregate.ok, aggregate.failed) == (0, 0)  # Locust's own events see nothing at all
    assert result.pending == users  # each user's first request, sent in the warm-up, still waiting
