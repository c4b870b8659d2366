"""The baseline targets (raw `node:http`, bare ASGI on Uvicorn): the contract's four paths they
serve, their place out of default runs, the contract check limited to what they declare.

The shared endpoint tests are tests/test_contract.py's own, run here against the baselines
(its `client` fixture takes this module's `server`), so one set of expected answers holds
for the two apps and the two baselines alike.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import test_contract as contract
from interrupt import sigint_as_in_a_terminal

from harness.contract_check import check_contract
from harness.errors import BenchError
from harness.runtime import http_client
from harness.runtime.native import start_native
from harness.runtime.server import Server, free_port
from harness.targets import Target, discover_targets, load_target, select_targets

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ["node_raw", "asgi_raw"]
SERVED = ["/health", "/json", "/cpu", "/io"]


@pytest.fixture(scope="module", params=BASELINES)
def server(request: pytest.FixtureRequest, targets: dict[str, Target], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    log_dir = tmp_path_factory.mktemp(f"logs-{request.param}")
    with start_native(targets[request.param], port=free_port(), log_dir=log_dir) as running_server:
        yield running_server


client = contract.client
e2e = pytest.mark.e2e
# The contract's tests of the paths a baseline serves, unchanged (they are e2e already).
test_health = e2e(contract.test_health)
test_json = e2e(contract.test_json)
test_no_framework_headers = e2e(contract.test_no_framework_headers)
test_cpu_counts_primes_below_n = e2e(contract.test_cpu_counts_primes_below_n)
test_cpu_default_n = e2e(contract.test_cpu_default_n)
test_integer_parameters_accept_what_pydantic_accepts = e2e(
    contract.test_integer_parameters_accept_what_pydantic_accepts
)
test_integer_parameters_refuse_what_pydantic_refuses = e2e(
    contract.test_integer_parameters_refuse_what_pydantic_refuses
)
test_io_waits_the_given_milliseconds = e2e(contract.test_io_waits_the_given_milliseconds)
test_io_does_not_block_the_event_loop = e2e(contract.test_io_does_not_block_the_event_loop)
test_io_bounds = e2e(contract.test_io_bounds)
test_head_is_405_as_fastapi_answers_it = e2e(contract.test_head_is_405_as_fastapi_answers_it)


@e2e
def test_a_repeated_cpu_parameter_takes_its_last_value(client):
    contract.assert_json(client.get("/cpu?n=x&n=10"), 200, {"n": 10, "result": 4})


@e2e
@pytest.mark.parametrize(("method", "path"), [("POST", "/json"), ("PUT", "/health"), ("POST", "/cpu"),
                                              ("OPTIONS", "/io")])
def test_wrong_methods_are_405(client, method, path):
    contract.assert_json(client.request(method, path), 405, contract.METHOD_NOT_ALLOWED)


@e2e
@pytest.mark.parametrize("path", ["/nope", "/users", "/users/1", "/JSON", "/health/"])
def test_every_other_path_is_404(client, path):
    contract.assert_json(client.get(path), 404, contract.NOT_FOUND)


@e2e
def test_the_contract_check_asks_only_the_declared_paths(server, targets):
    target = targets[server.name]
    assert target.endpoints == SERVED
    checked = check_contract(target.name, server.host, server.port, endpoints=target.endpoints)
    assert checked == {"cpu_result_n1000": {"n": 1000, "result": 168}, "round_trip_checked": False}
    with pytest.raises(BenchError, match="POST /users gave 404"):
        check_contract(target.name, server.host, server.port)  # the full check: the baseline has no /users


# ---- selection ----------------------------------------------------------------------------


def test_baselines_are_declared_as_such(targets):
    for name in BASELINES:
        assert targets[name].role == "baseline"
    assert targets["fastapi"].role == targets["express"].role == "contender"
    assert targets["fastapi"].endpoints is None  # the whole contract


def test_a_default_selection_leaves_the_baselines_out(targets):
    default = [t.name for t in select_targets(targets, None)]
    assert "fastapi" in default and "express" in default
    assert not set(default) & set(BASELINES)
    assert [t.name for t in select_targets(targets, ["node_raw"])] == ["node_raw"]
    assert set(BASELINES) <= {t.name for t in select_targets(targets, [], include_baselines=True)}


def test_role_is_checked(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "target.toml").write_text(
        'name = "a"\ndisplay_name = "A"\nlanguage = "x"\nrole = "referee"\n[native]\ncommand = ["true"]\n'
    )
    with pytest.raises(BenchError, match="bad target manifest"):
        load_target(tmp_path / "a")


# ---- bench serve ----------------------------------------------------------------------------


@e2e
@pytest.mark.parametrize("name", BASELINES)
def test_bench_serve_runs_a_baseline_until_interrupted(name):
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "harness", "serve", name, "--port", str(port)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
                             preexec_fn=sigint_as_in_a_terminal)
    try:
        line = serve.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line, serve.stderr.read() if serve.poll() is not None else line
        answer = http_client.get("127.0.0.1", port, "/json")
        assert (answer.status, answer.body) == (200, b'{"message":"Hello, World!"}')
        children = psutil.Process(serve.pid).children(recursive=True)
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=30)
    assert serve.returncode == 130
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


def test_discovery_finds_the_baselines():
    assert set(BASELINES) <= set(discover_targets(ROOT / "targets"))


# ---- the generator benchmark (scripts/loadgen-overhead.py) against node_raw -----------------


def _strays() -> list[str]:
    """Processes left from this checkout: Locust loading its files, or a server run from node_raw."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if ("locust" in cmdline and str(ROOT) in cmdline) or proc.info["cwd"] == str(ROOT / "targets" / "node_raw"):
            found.append(cmdline)
    return found


@e2e
def test_the_loadgen_overhead_script_measures_every_variant_and_leaves_no_process():
    assert not _strays()
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "loadgen-overhead.py"), "--duration-s", "1",
                             "--users", "4", "--open-rate", "200"], cwd=ROOT, capture_output=True, text=True,
                            timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    if result.returncode == 1:  # a window too busy to measure in: said in one line, still nothing left behind
        assert result.stderr.strip().endswith("measured no load in its window; try a longer --duration-s")
        assert not _strays()
        return
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["plain", "harness", "open"]
    assert all("(0 failed)" in line for line in lines[:3])
    assert lines[3].startswith("plugin overhead: ") and lines[4].startswith("open-model user at ")
    assert not _strays()
