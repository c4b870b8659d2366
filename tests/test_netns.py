"""Beyond one machine, for real on this machine's own test hosts (issue 16).

Network namespaces joined by a bridge (scripts/netns-hosts.sh, addresses from 198.18.0.0/15):
the server runs in one (its "host"), two `bench worker` processes in another, and `bench run`
in the root namespace drives a short run across them as the Locust master. The merged figures
must add up: both workers contributed, their counts sum to the recorded requests, the server's
figures are there, and results.json records the topology. Everything is removed afterwards, on
failure too (the namespaces go with every process in them).

Root only (namespaces); skipped with the reason elsewhere. `.ci/run` runs as root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "netns-hosts.sh"
BENCH = Path(sys.executable).with_name("bench")
MASTER_ADDR, SERVER_ADDR = "198.18.0.1", "198.18.0.2"
RUN_TIMEOUT_S = 150
SECRET = "netns-test-secret-0123456789abcdef"  # given ahead to both sides (harness.loadgen.trust.SECRET_ENV)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(240),
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root (.ci/run runs as root)"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2's `ip` is not installed"),
]


@pytest.fixture
def hosts() -> Iterator[str]:
    """The namespaces' prefix; they are removed, with every process in them, whatever happens."""
    prefix = f"bn{os.getpid() % 100000}"
    subprocess.run(["bash", str(SCRIPT), "down", prefix], check=False, timeout=30)
    try:
        subprocess.run(["bash", str(SCRIPT), "up", prefix], check=True, timeout=30, capture_output=True)
        yield prefix
    finally:
        subprocess.run(["bash", str(SCRIPT), "down", prefix], check=False, timeout=30)
    assert f"{prefix}-" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def _free_port_pair(host: str) -> int:
    """A port p with p and p+1 free on `host` (Locust's master and the workers' coordinator)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((host, 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind((host, port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port pair")


def _in_netns(name: str) -> list[str]:
    """A command prefix entering only the network namespace: `ip netns exec` also remounts /sys, which
    hides the cgroup file system (dockerd's, and the CPU protection of harness.machine.protect)."""
    return ["nsenter", f"--net=/run/netns/{name}"]


@pytest.fixture
def workers(hosts: str, tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """Two `bench worker` processes in the generator namespace, each one Locust process on its own CPU."""
    port = _free_port_pair(MASTER_ADDR)
    cpus = sorted(os.sched_getaffinity(0))
    started = []
    try:
        for number, name in enumerate(["gen-a", "gen-b"]):
            # nsenter: the network namespace only (`ip netns exec` remounts /sys, hiding the cgroups
            # the worker's CPU protection needs)
            command = [*_in_netns(f"{hosts}-gen"), str(BENCH), "worker",
                       "--master", f"{MASTER_ADDR}:{port}", "--name", name, "--idle-timeout", "60",
                       "--allow-host", SERVER_ADDR,
                       "--cpus", str(cpus[number % len(cpus)]), "--log-dir", str(tmp_path / name)]  # fmt: skip
            log = (tmp_path / f"{name}.log").open("wb")
            started.append(subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, env={**os.environ, "BENCH_WORKER_SECRET": SECRET}))
        yield port, started
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _bench_run(tmp_path: Path, args: list[str]) -> Path:
    command = [str(BENCH), "run", "--profile", "test", "--target", "fastapi", "--scenario", "concurrency",
               "--results-dir", str(tmp_path / "results"), "--name", "netns", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          env={**os.environ, "BENCH_WORKER_SECRET": SECRET})
    assert done.returncode == 0, done.stderr[-2000:]
    return tmp_path / "results" / "netns"


def _kept_window(run_dir: Path) -> dict:
    """The Locust window of the trial's kept attempt: a disturbed round is re-run (harness.machine.disturbance),
    in logs/<trial>-attemptN, and only the last attempt's figures are kept."""
    paths = list(run_dir.glob("logs/*/locust-*/locust-window.json"))
    assert paths, "no Locust run left its window file"

    def attempt(path: Path) -> int:
        _, _, number = path.parent.parent.name.rpartition("-attempt")
        return int(number) if number.isdigit() else 1

    return json.loads(max(paths, key=attempt).read_text())


def test_workers_in_one_namespace_server_in_another(hosts: str, workers, tmp_path: Path) -> None:
    port, _ = workers
    started = time.monotonic()
    run_dir = _bench_run(tmp_path, [
        "--loadgen", "external:2", "--master-bind", f"{MASTER_ADDR}:{port}",
        "--server-host", SERVER_ADDR, "--server-netns", f"{hosts}-srv",
    ])  # fmt: skip
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"], results.get("warnings")
    topology = results["environment"]["topology"]
    assert {h["name"] for h in topology["loadgen_hosts"]} == {"gen-a", "gen-b"}
    assert all(h["locust"] and h["cpu_model"] and h["cpus_given"] for h in topology["loadgen_hosts"])
    assert topology["server"] == {"address": SERVER_ADDR, "netns": f"{hosts}-srv", "runtime": "native"}

    window = _kept_window(run_dir)
    requests = [m["value"] for m in results["metrics"] if m["metric"] == "requests"]  # one per step, in order
    assert len(window["workers"]) == 2
    assert {w["loadgen"]["host"] for w in window["workers"]} == {"gen-a", "gen-b"}
    assert len(requests) == len(window["workers"][0]["steps"])
    for step, recorded in enumerate(requests):
        per_worker = [sum(r["ok"] + r["failed"] for r in w["steps"][step]["requests"].values())
                      for w in window["workers"]]
        assert all(count > 0 for count in per_worker), f"a worker sent nothing: {per_worker}"
        assert sum(per_worker) == recorded, (per_worker, recorded)  # the counts add up
    figures = {m["metric"] for m in results["metrics"]}
    assert {"server_cpu_pct", "server_rss_mb", "rps", "latency_p99_ms", "loadgen_workers_cpu_pct"} <= figures
    server_cpu = [m["value"] for m in results["metrics"] if m["metric"] == "server_cpu_pct"]
    assert all(v > 0 for v in server_cpu), "the server in its namespace was not sampled"
    print(f"netns run took {time.monotonic() - started:.0f} s")


# --- the server in a Docker engine on its own host ------------------------------------------------

ENGINE_URL = f"tcp://{SERVER_ADDR}:2375"
STANDIN = "bench-standin-python:bookworm"  # scripts/docker-standins.sh; no registry is reachable here
ENGINE_WAIT_S = 60


def _local_engine_image() -> str:
    """The fastapi image the harness would use on the stand-in base, built on the local engine if missing."""
    from harness.errors import BenchError
    from harness.runtime.docker_engine import Engine
    from harness.runtime.docker_images import Images
    from harness.targets import discover_targets

    os.environ.pop("DOCKER_HOST", None)
    try:
        images = Images(Engine())
        target = discover_targets(ROOT / "targets")["fastapi"]
        images.prepare(target, STANDIN)
    except BenchError as exc:
        if os.environ.get("BENCH_REQUIRE_DOCKER") == "1":
            raise
        pytest.skip(f"no local Docker engine or stand-in image to copy to the remote engine: {exc}")
    return images.spec(target, STANDIN).tag


def _stop_dockerd(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (dockerd stops its containers), then SIGKILL after a bound; the namespace's removal
    kills whatever is left in it, and its mounts were made in dockerd's own mount namespace."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def remote_engine(hosts: str) -> Iterator[str]:
    """A dockerd listening on the server namespace's address, its own root, holding the fastapi image."""
    import tempfile

    image = _local_engine_image()
    root = Path(tempfile.mkdtemp(prefix="bnd", dir="/tmp"))  # short: containerd's socket path lives under it
    command = [*_in_netns(f"{hosts}-srv"), "dockerd", f"--host={ENGINE_URL}",
               f"--data-root={root}/data", f"--exec-root={root}/exec", f"--pidfile={root}/docker.pid",
               "--iptables=false", "--ip6tables=false", "--bridge=none"]  # fmt: skip
    log = (root / "dockerd.log").open("wb")
    dockerd = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + ENGINE_WAIT_S
        while subprocess.run(["docker", "-H", ENGINE_URL, "version"], capture_output=True, timeout=10).returncode:
            assert dockerd.poll() is None and time.monotonic() < deadline, (root / "dockerd.log").read_text()[-2000:]
            time.sleep(0.5)
        save = subprocess.Popen(["docker", "save", STANDIN, image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", ENGINE_URL, "load", "-q"], stdin=save.stdout, check=True, timeout=120,
                       capture_output=True)
        assert save.wait(timeout=30) == 0
        yield ENGINE_URL
    finally:
        _stop_dockerd(dockerd)
        log.close()
        _unmount_under(root)  # e.g. dockerd's bind mount of its network namespace (exec-root/netns/default)
        shutil.rmtree(root)


def _unmount_under(root: Path) -> None:
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(f"{root}/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, timeout=10)


@pytest.mark.docker
@pytest.mark.timeout(1800)  # as every Docker test: the local engine may first build the image to copy
def test_server_in_a_remote_docker_engine(hosts: str, workers, remote_engine: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    port, _ = workers
    monkeypatch.setenv("DOCKER_HOST", remote_engine)
    run_dir = _bench_run(tmp_path, [
        "--runtime", "docker", "--base-image", f"fastapi={STANDIN}", "--server-host", SERVER_ADDR,
        "--loadgen", "external:2", "--master-bind", f"{MASTER_ADDR}:{port}",
    ])  # fmt: skip
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"], results.get("warnings")
    window = _kept_window(run_dir)
    assert {w["loadgen"]["host"] for w in window["workers"]} == {"gen-a", "gen-b"}
    trial = results["trials"][-1]["server"]
    assert trial["engine"] == remote_engine and trial["resources_from"] == "engine_stats"
    assert trial["host_pid"] is None  # another host's pid is never read as this one's
    server_cpu = [m["value"] for m in results["metrics"] if m["metric"] == "server_cpu_pct"]
    assert server_cpu and all(v > 0 for v in server_cpu), "no engine stats in the windows"
    assert subprocess.run(["docker", "-H", remote_engine, "ps", "-aq"], capture_output=True, timeout=30,
                          text=True).stdout.strip() == "", "a container was left on the remote engine"
