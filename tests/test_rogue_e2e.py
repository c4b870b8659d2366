"""A rogue peer beside a real distributed run, on this machine's namespace hosts (scripts/netns-hosts.sh).

`bench run --loadgen external:1` in the root namespace (198.18.0.1) prints its workers' secret; a real
`bench worker` in the load namespace (198.18.0.3) joins with it, the server runs in its own namespace
(198.18.0.2). Beside the worker, in the same namespace, tests/rogue_peer.py sends the coordinator over
30 malformed, unsigned or wrongly signed hellos and polls (wrong types, huge lengths, a gzip bomb), then
keeps joining Locust's master as a fake worker: client_ready, reports of 987,654,321 requests unsigned,
signed with a wrong key or carrying a decompression bomb, authentication as an unregistered worker, a
message over the size cap. The run must go on, count what it refused (environment.topology.peer_refusals)
and keep no figure of the rogue; the secret must not be written anywhere in the run's folder.

Root only (namespaces); skipped with the reason elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rogue_peer import FAKE_OK
from test_netns import BENCH, MASTER_ADDR, ROOT, SERVER_ADDR, _free_port_pair, _in_netns, _kept_window, hosts

__all__ = ["hosts"]  # the namespaces' fixture, shared with tests/test_netns.py

RUN_TIMEOUT_S = 200
SECRET_WAIT_S = 60

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root (.ci/run runs as root)"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2's `ip` is not installed"),
]


def _printed_secret(stderr: Path, run: subprocess.Popen[bytes]) -> tuple[str, str]:
    """(the secret, the worker command) from `bench run`'s line, once it is printed."""
    deadline = time.monotonic() + SECRET_WAIT_S
    while time.monotonic() < deadline:
        found = re.search(r"workers join with: BENCH_WORKER_SECRET=(\S+) (bench worker .*)", stderr.read_text())
        if found:
            return found.group(1), found.group(2)
        assert run.poll() is None, stderr.read_text()[-2000:]
        time.sleep(0.2)
    raise AssertionError(f"no secret printed: {stderr.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_a_rogue_peer_neither_breaks_nor_feeds_a_run(hosts: str, tmp_path: Path) -> None:
    port = _free_port_pair(MASTER_ADDR)
    results_dir = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if k != "BENCH_WORKER_SECRET"}
    command = [str(BENCH), "run", "--profile", "test", "--target", "fastapi", "--scenario", "concurrency",
               "--results-dir", str(results_dir), "--name", "trust", "--loadgen", "external:1",
               "--master-bind", f"{MASTER_ADDR}:{port}", "--server-host", SERVER_ADDR,
               "--server-netns", f"{hosts}-srv"]  # fmt: skip
    stderr = tmp_path / "run.err"
    with stderr.open("wb") as err, (tmp_path / "run.out").open("wb") as out:
        run = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, env=env, start_new_session=True)
    started: list[subprocess.Popen[bytes]] = [run]
    try:
        secret, worker_command = _printed_secret(stderr, run)
        assert worker_command == f"bench worker --master {MASTER_ADDR}:{port} --allow-host {SERVER_ADDR}"
        summary = tmp_path / "rogue.json"
        with summary.open("wb") as out, (tmp_path / "rogue.err").open("wb") as err:
            rogue = [*_in_netns(f"{hosts}-gen"), sys.executable, str(ROOT / "tests" / "rogue_peer.py"),
                     MASTER_ADDR, str(port), "90", secret]  # fmt: skip
            started.append(subprocess.Popen(rogue, cwd=ROOT, stdout=out, stderr=err, start_new_session=True))
        time.sleep(3)  # its hellos and polls first, while the run waits for its worker
        cpu = sorted(os.sched_getaffinity(0))[-1]
        worker = [*_in_netns(f"{hosts}-gen"), str(BENCH), "worker", *worker_command.split()[2:], "--name", "gen-a",
                  "--idle-timeout", "60", "--cpus", str(cpu), "--log-dir", str(tmp_path / "gen-a")]  # fmt: skip
        with (tmp_path / "gen-a.log").open("wb") as log:
            started.append(subprocess.Popen(worker, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            env={**env, "BENCH_WORKER_SECRET": secret}, start_new_session=True))
        assert run.wait(timeout=RUN_TIMEOUT_S) == 0, stderr.read_text()[-3000:]
    finally:
        for process in reversed(started):
            _stop(process)

    # The rogue was refused at every turn.
    answered = json.loads((tmp_path / "rogue.json").read_text().splitlines()[0])["coordinator"]
    assert len(answered) >= 30 and "round 3" in (tmp_path / "rogue.err").read_text(), answered
    assert all(status in {400, 401, 404, 411, 413, 414, 415, 431, 501, None} for _, status in answered), answered
    # The run went on, and counted what it refused.
    run_dir = results_dir / "trust"
    text = (run_dir / "results.json").read_text()
    results = json.loads(text)
    assert results["complete"], results.get("warnings")
    topology = results["environment"]["topology"]
    assert [h["name"] for h in topology["loadgen_hosts"]] == ["gen-a"]
    refusals = topology["peer_refusals"]
    assert sum(refusals["coordinator"].values()) >= 30, refusals
    assert refusals["coordinator"].get("unauthenticated", 0) >= 4, refusals
    locust = refusals["locust"]
    assert locust.get("message_unauthenticated", 0) > 0 and locust.get("report_unauthenticated", 0) > 0, refusals
    assert locust.get("auth_unregistered", 0) > 0, refusals
    # No figure of the rogue's: only gen-a reported, and the recorded requests are its counts.
    window = _kept_window(run_dir)
    assert [w["loadgen"]["host"] for w in window["workers"]] == ["gen-a"]
    requests = [m["value"] for m in results["metrics"] if m["metric"] == "requests"]
    assert requests and len(requests) == len(window["workers"][0]["steps"])
    for step, recorded in enumerate(requests):
        assert sum(r["ok"] + r["failed"] for r in window["workers"][0]["steps"][step]["requests"].values()) == recorded
    assert str(FAKE_OK) not in text and "rogue/1-abcdef" not in text and '"rogue"' not in text  # its id, its host
    # The secret was printed once and written nowhere.
    assert stderr.read_text().count(secret) == 1
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_a_worker_not_allowed_the_servers_host_stops_the_run_in_one_line(hosts: str, tmp_path: Path) -> None:
    """Its --allow-host defaults to the master's host: the run aims at the server's, so the worker refuses and
    the master ends the run in one line, naming the worker and why, instead of waiting for its report."""
    port = _free_port_pair(MASTER_ADDR)
    env = {k: v for k, v in os.environ.items() if k != "BENCH_WORKER_SECRET"}
    command = [str(BENCH), "run", "--profile", "test", "--target", "fastapi", "--scenario", "concurrency",
               "--results-dir", str(tmp_path / "results"), "--name", "refused", "--loadgen", "external:1",
               "--master-bind", f"{MASTER_ADDR}:{port}", "--server-host", SERVER_ADDR,
               "--server-netns", f"{hosts}-srv"]  # fmt: skip
    stderr = tmp_path / "run.err"
    with stderr.open("wb") as err, (tmp_path / "run.out").open("wb") as out:
        run = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, env=env, start_new_session=True)
    started: list[subprocess.Popen[bytes]] = [run]
    try:
        secret, _ = _printed_secret(stderr, run)
        worker = [*_in_netns(f"{hosts}-gen"), str(BENCH), "worker", "--master", f"{MASTER_ADDR}:{port}",
                  "--name", "gen-a", "--idle-timeout", "30", "--log-dir", str(tmp_path / "gen-a")]  # fmt: skip
        with (tmp_path / "gen-a.log").open("wb") as log:
            started.append(subprocess.Popen(worker, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            env={**env, "BENCH_WORKER_SECRET": secret}, start_new_session=True))
        assert run.wait(timeout=RUN_TIMEOUT_S) == 2
    finally:
        for process in reversed(started):
            _stop(process)
    last = stderr.read_text().strip().splitlines()[-1]
    assert re.fullmatch(r"bench: error: .*external worker gen-a/\S+ refused the Locust run: the load's host is not "
                        r"one the worker may load \(bench worker --allow-host\).*", last), last
    assert "Traceback" not in stderr.read_text()
    assert "refused run" in (tmp_path / "gen-a.log").read_text()
    assert not list((tmp_path / "gen-a").glob("*.log"))  # no Locust process was started
