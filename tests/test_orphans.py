"""No server or Locust process outlives a harness killed with SIGKILL.

Guard 1 (parent-death signal) is tested by killing a real `bench serve` with workers; guard 2
(the next start stops what a dead harness left) with a server that ignores SIGTERM, which guard 1
cannot stop. See harness/runtime/procs.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.commands.main import main
from harness.runtime import procs
from harness.runtime.http_client import get
from harness.runtime.server import free_port

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0  # a busy 2-core machine; polled, so a fast one does not wait
GONE_TIMEOUT_S = 15.0  # SIGTERM and the servers' graceful stop of their workers

STUBBORN_SERVER = """
import http.server, json, os, signal, subprocess, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # what the parent-death signal (SIGTERM) cannot stop
worker = subprocess.Popen([sys.executable, "-c",
                           "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Health).serve_forever()
"""
STUBBORN_MANIFEST = f"""
name = "stubborn"
display_name = "stubborn"
language = "python"
requires = []
[native]
command = ["{sys.executable}", "server.py"]
env = {{ HOST = "{{host}}", PORT = "{{port}}" }}
"""


def _answers(port: int) -> bool:
    try:
        return get("127.0.0.1", port, "/health", timeout_s=1.0).status == 200
    except OSError:
        return False


def _start_serve(args: list[str], cwd: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`bench serve` in a subprocess; returns once its server answers on the port."""
    port = free_port()
    harness = subprocess.Popen([sys.executable, "-m", "harness", "serve", *args, "--port", str(port)], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(port):
        if harness.poll() is not None or time.monotonic() > deadline:
            harness.kill()
            pytest.fail(f"bench serve did not start: {harness.communicate()[1].decode()[-500:]}")
        time.sleep(0.05)
    return harness, port


@pytest.fixture
def leftovers() -> Iterator[list[psutil.Process]]:
    """Processes a test expects to be gone; whatever is left is killed, so no test leaves any behind."""
    tracked: list[psutil.Process] = []
    yield tracked
    for process in tracked:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _kill_harness(harness: subprocess.Popen[bytes], tracked: list[psutil.Process]) -> list[psutil.Process]:
    """SIGKILL the harness (no clean-up of its own runs); return its descendants, as they were."""
    tree = psutil.Process(harness.pid).children(recursive=True)
    tracked.extend(tree)
    assert tree, "the harness has no child process"
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    return tree


@pytest.mark.e2e
@pytest.mark.parametrize("target", ["fastapi", "express"])
def test_killed_harness_takes_its_server_and_workers_with_it(target, tmp_path, leftovers):
    harness, port = _start_serve([target, "--targets-dir", str(ROOT / "targets"), "--workers", "2"], tmp_path)
    tree = _kill_harness(harness, leftovers)
    assert len(tree) >= 3, f"expected a supervisor and 2 workers, got {[p.cmdline() for p in tree]}"
    _, alive = psutil.wait_procs(tree, timeout=GONE_TIMEOUT_S)
    assert not alive, f"still running after the harness died: {[p.pid for p in alive]}"
    assert not _answers(port)


@pytest.mark.e2e
def test_next_start_stops_what_a_killed_harness_left(tmp_path, leftovers, capsys):
    target_dir = tmp_path / "targets" / "stubborn"
    target_dir.mkdir(parents=True)
    (target_dir / "target.toml").write_text(STUBBORN_MANIFEST)
    (target_dir / "server.py").write_text(STUBBORN_SERVER)
    harness, port = _start_serve(["stubborn", "--targets-dir", str(tmp_path / "targets")], tmp_path)
    tree = _kill_harness(harness, leftovers)
    assert {p.pid for p in tree} <= {p.pid for p in procs.orphans()}, "the left processes are not found as orphans"

    # the next run, even one that then fails on its input, stops them first
    code = main(["run", "--scenario", "no-such-scenario", "--targets-dir", str(ROOT / "targets"),
                 "--scenarios-dir", str(ROOT / "scenarios"), "--results-dir", str(tmp_path / "r")])
    assert code == 2 and "unknown scenario" in capsys.readouterr().err
    _, alive = psutil.wait_procs(tree, timeout=GONE_TIMEOUT_S)
    assert not alive, f"still running after the next start: {[p.cmdline() for p in alive]}"
    assert not _answers(port)


def _sleeper(label: str | None) -> psutil.Process:
    env = dict(os.environ)
    env.pop(procs.OWNER_ENV, None)
    if label is not None:
        env[procs.OWNER_ENV] = label
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env=env)
    return psutil.Process(child.pid)


def test_only_processes_of_a_dead_owner_are_orphans(leftovers):
    mine = procs.owner_label()
    recycled = f"{os.getpid()}:{psutil.Process().create_time() - 100:.2f}"  # this pid, another process's start
    dead = psutil.Process(subprocess.Popen([sys.executable, "-c", "pass"]).pid)
    dead_label = procs._label(dead.pid)
    dead.wait()
    processes = {name: _sleeper(label) for name, label in
                 [("live owner", mine), ("recycled pid", recycled), ("dead owner", dead_label), ("no label", None)]}
    leftovers.extend(processes.values())
    found = {p.pid for p in procs.orphans()}
    assert {name for name, p in processes.items() if p.pid in found} == {"recycled pid", "dead owner"}


def test_spawned_children_carry_the_label_and_the_parent_death_signal(tmp_path):
    probe = ("import ctypes, os; sig = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0);"
             " print(sig.value, os.environ['BENCH_OWNER'])")  # 2: PR_GET_PDEATHSIG
    out = tmp_path / "out"
    with out.open("wb") as sink:
        child = procs.spawn([sys.executable, "-c", probe], stdout=sink)
    child.wait()
    signum, label = out.read_text().split()
    assert label == procs.owner_label()
    if procs.with_parent_death_signal(["x"]) == ["x"]:
        pytest.skip("setpriv --pdeathsig is not available here")
    assert int(signum) == signal.SIGTERM
