"""End to end: the real apps, real Locust runs, tiny durations (the `test` profile)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from interrupt import sigint_as_in_a_terminal

from harness.config import RunConfig
from harness.run import run_benchmark

# The module's first test also runs the module fixture's whole benchmark runs (96-204 s seen on a busy
# 2-core machine), over pyproject's 300 s default limit with little margin.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parent.parent
BENCH = [sys.executable, "-m", "harness"]

REQUIRED = {
    "throughput": {"rps", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms", "error_rate",
                   "server_cpu_pct", "loadgen_cpu_pct", "server_cpu_us_per_req", "loadgen_cpu_us_per_req"},
    "rate": {"offered_rps", "achieved_rps", "late", "dropped", "latency_p99_ms", "server_cpu_us_per_req",
             "max_rate_slo", "max_rate_slo_censored"},
    "cold_start": {"cold_start_ms", "listen_ms", "rss_idle_mb", "uss_idle_mb"},
    "crud": {"rps", "latency_p99_ms", "error_rate"},
    "concurrency": {"rps", "latency_p50_ms", "latency_p99_ms", "error_rate", "server_cpu_pct", "server_rss_mb",
                    "max_concurrency_slo"},
    "connections": {"rps", "error_rate", "server_rss_mb", "connections_held", "memory_per_connection_kb"},
    "memory": {"rss_peak_mb", "rss_slope_mb_per_min", "rss_cv", "rss_after_load_mb"},
    "cpu": {"rps", "latency_p99_ms"},
    "io": {"rps", "latency_p99_ms", "rps_ideal", "io_efficiency"},
}


@pytest.fixture(scope="module")
def full_test_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("results")
    config = RunConfig(profile="test", results_dir=results, targets_dir=ROOT / "targets",
                       scenarios_dir=ROOT / "scenarios", run_name="e2e")
    return run_benchmark(config)


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_every_scenario_gives_its_metrics_for_both_targets(full_test_run):
    rows = read_metrics(full_test_run)
    for scenario, metrics in REQUIRED.items():
        for target in ("fastapi", "express"):
            found = {r["metric"] for r in rows if r["scenario"] == scenario and r["target"] == target}
            assert metrics <= found, (scenario, target, metrics - found)
    rps = [float(r["value"]) for r in rows if r["metric"] == "rps" and r["scenario"] == "throughput"]
    assert all(value > 0 for value in rps)
    errors = [float(r["value"]) for r in rows if r["metric"] == "error_rate" and "endpoint" not in r["step"]
              and r["scenario"] != "connections"]
    assert max(errors) == 0.0


def test_crud_has_per_endpoint_rows(full_test_run):
    steps = {r["step"] for r in read_metrics(full_test_run) if r["scenario"] == "crud"}
    assert {"users=4,endpoint=POST /users", "users=4,endpoint=GET /users/{id}"} <= steps


def test_results_record_how_they_were_obtained(full_test_run):
    results = json.loads((full_test_run / "results.json").read_text())
    assert results["schema_version"] == 1 and results["complete"] is True
    env = results["environment"]
    for key in ("cpu_model", "cpu_count_logical", "python", "node", "git", "runtime"):
        assert env[key] not in (None, ""), key
    assert env["harness_packages"]["locust"] != "not installed"
    assert {"fastapi", "uvicorn", "pydantic"} <= set(env["targets"]["fastapi"])
    assert {"express", "zod", "node"} <= set(env["targets"]["express"])
    config = results["config"]
    assert config["profile"] == "test" and config["workers"] == 1
    assert not set(config["server_cpus"]) & set(config["loadgen_cpus"])
    assert config["scenario_params"]["throughput"]["duration_s"] > 0
    orders = [t["target"] for t in results["trials"] if t["scenario"] == "cold_start"]
    assert orders[:2] != orders[2:4]  # alternated A B, B A
    assert {s["metric"] for s in results["summaries"]} >= {"rps", "cold_start_ms"}


def test_latency_histograms_are_stored_per_step(full_test_run):
    from harness.results import load_histograms

    records = load_histograms(full_test_run)
    keys = {(h.target, h.scenario, h.endpoint) for h in records}
    assert ("fastapi", "throughput", "Aggregated") in keys and ("express", "crud", "POST /users") in keys


def test_samples_cover_server_and_load_generator(full_test_run):
    with (full_test_run / "samples.csv").open() as fh:
        roles = {row["role"] for row in csv.DictReader(fh)}
    assert roles == {"server", "loadgen", "database"}  # database: the PostgreSQL scenarios (crud, db)


def test_several_workers_run_as_several_processes(tmp_path):
    config = RunConfig(profile="test", workers=2, scenarios=["throughput"], results_dir=tmp_path,
                       targets_dir=ROOT / "targets", scenarios_dir=ROOT / "scenarios", run_name="w2")
    results = json.loads((run_benchmark(config) / "results.json").read_text())
    for trial in results["trials"]:
        assert trial["server"]["processes"] >= 3, trial["target"]  # a supervisor plus two workers
    assert results["config"]["workers"] == 2


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _cmdline(process: psutil.Process) -> str:
    """A process's command line, or "" for one that ended (or became a zombie) meanwhile."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _trials_written(results_file: Path) -> int:
    try:
        return len(json.loads(results_file.read_text())["trials"])
    except (OSError, ValueError, KeyError):
        return 0


def _load_running(pid: int) -> bool:
    """Locust and a server both alive under the harness. Locust alone is not yet the load: it is started
    ahead of the server and waits at its gate, and is stopped at once if that server fails to start."""
    lines = [_cmdline(p) for p in _descendants(pid)]
    return any("locust" in line for line in lines) and any(line and "locust" not in line for line in lines)


def test_ctrl_c_keeps_results_and_leaves_no_process(tmp_path):
    """Ctrl-C during the second trial's load: the first trial stays saved, nothing is left running.

    The test waits on states, not on times: the first trial in results.json (its Locust processes
    are stopped and reaped before it is saved), then Locust and the server running again: the second
    trial's load.
    """
    command = [*BENCH, "run", "--profile", "test", "--scenario", "memory", "--results-dir", str(tmp_path),
               "--name", "interrupted"]
    bench = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=sigint_as_in_a_terminal)
    results_file = tmp_path / "interrupted" / "results.json"
    deadline = time.monotonic() + 180
    try:
        while _trials_written(results_file) == 0:
            assert bench.poll() is None and time.monotonic() < deadline, "the first trial was not saved"
            time.sleep(0.05)
        while not _load_running(bench.pid):  # the second trial's load has begun
            assert bench.poll() is None and time.monotonic() < deadline, \
                f"the second trial's load did not start: {bench.stderr.read() if bench.poll() is not None else ''}"
            time.sleep(0.05)
        children = _descendants(bench.pid)
        bench.send_signal(signal.SIGINT)
        _, err = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:  # a failed wait: leave nothing running
            for process in [*_descendants(bench.pid), psutil.Process(bench.pid)]:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            bench.communicate()
    assert bench.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    results = json.loads(results_file.read_text())
    assert results["complete"] is False and len(results["trials"]) == 1
    assert any(m["trial"] == 1 and m["metric"] == "rss_peak_mb" for m in results["metrics"])
    assert len(children) >= 2, [_cmdline(p) for p in children]  # the server and Locust at least
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_serve_runs_a_target_until_interrupted(tmp_path):
    from harness.runtime.http_client import get
    from harness.runtime.server import free_port

    port = free_port()
    serve = subprocess.Popen([*BENCH, "serve", "express", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ}, preexec_fn=sigint_as_in_a_terminal)
    line = serve.stdout.readline()
    assert f"http://127.0.0.1:{port}" in line
    answer = get("127.0.0.1", port, "/json")
    assert (answer.status, answer.body) == (200, b'{"message":"Hello, World!"}')
    children = _descendants(serve.pid)
    serve.send_signal(signal.SIGINT)
    serve.communicate(timeout=30)
    assert serve.returncode == 130
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


def test_behaviour_checks_are_recorded_for_the_claims(full_test_run):
    checks = json.loads((full_test_run / "results.json").read_text())["checks"]
    for target in ("fastapi", "express"):
        assert checks[target]["invalid_email"]["status"] == 422
        assert checks[target]["invalid_email"]["names_the_field"] is True
    assert checks["fastapi"]["docs"]["status"] == 200 and checks["fastapi"]["docs"]["looks_right"]
    assert checks["fastapi"]["redoc"]["status"] == 200
    assert checks["express"]["docs"]["status"] == 404


def test_locust_port_taken_between_pick_and_bind_is_retried(tmp_path, targets, monkeypatch):
    import socket

    from harness.loadgen import driver
    from harness.runtime.native import start_native
    from harness.runtime.server import free_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1], free_port()])
        monkeypatch.setattr(driver, "free_port", lambda: next(ports))
        with start_native(targets["fastapi"], port=free_port(), log_dir=tmp_path) as server:
            # two workers: a master, whose port is the one picked (one worker runs without a master)
            spec = driver.LoadSpec(ROOT / "scenarios" / "throughput.py", server.base_url,
                                   [driver.StepSpec(2, 2, 0.2, 0.8)], workers=2)
            (result,) = driver.LocustProcesses(spec, tmp_path / "locust").run()
    assert result.endpoints[driver.AGGREGATE].ok > 0
    assert "Address already in use" in (tmp_path / "locust" / "locust.log").read_text()
