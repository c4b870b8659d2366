"""The Docker runtime against a real engine: image builds, containers, clean-up, a whole run.

These tests need a Docker engine. Without one they skip, saying so, unless
BENCH_REQUIRE_DOCKER=1 (CI sets it): then they fail. `scripts/start-dockerd.sh` starts an
engine here (as root). The images are built on the stand-in base images of
`scripts/docker-standins.sh` (this environment reaches no image registry), which the tests
build when missing; BENCH_DOCKER_BASES=public builds on the Dockerfiles' public defaults instead.
A few tests at the end need no engine (image hashing, the one-line error).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from interrupt import sigint_as_in_a_terminal

from harness.commands.main import main
from harness.contract_check import check_contract
from harness.database import DatabaseOptions
from harness.database import docker as database_docker
from harness.errors import BenchError
from harness.machine.cgroup import memory_bytes
from harness.runtime import running
from harness.runtime.docker import DockerRuntime
from harness.runtime.docker_engine import LABEL, OWNER_LABEL, Engine, engine_url
from harness.runtime.docker_images import ImageSpec, context_files
from harness.runtime.options import LaunchOptions, RuntimeSettings
from harness.runtime.server import free_port
from harness.targets import Target, discover_targets, load_target, select_targets

ROOT = Path(__file__).resolve().parent.parent
STANDINS = ROOT / "scripts" / "docker-standins.sh"
TARGET_NAMES = ["fastapi", "express"]
REQUIRE = os.environ.get("BENCH_REQUIRE_DOCKER") == "1"
START_TIMEOUT_S = 60.0
ENGINE = Engine()  # the tests' own look at the engine, apart from the runtime under test


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"BENCH_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def docker_runtime() -> DockerRuntime:
    """One runtime for the module, as `bench run` keeps one for a run (it holds the images it built)."""
    return DockerRuntime()


@pytest.fixture(scope="module")
def engine(docker_runtime: DockerRuntime) -> None:
    if not docker_runtime.engine.answers():
        _unavailable(f"no Docker engine answers at {engine_url()} (scripts/start-dockerd.sh starts one, as root)")


@pytest.fixture(scope="module")
def standins(engine: None) -> dict[str, str]:
    """target (or `postgres`) -> image: the stand-ins, built by the fixture script when missing (cached)."""
    if os.environ.get("BENCH_DOCKER_BASES") == "public":
        return {}
    result = subprocess.run(["bash", str(STANDINS)], capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        _unavailable(f"the stand-in base images could not be built ({STANDINS.name}): {tail}")
    pairs = dict(line.split("=", 1) for line in result.stdout.split() if "=" in line)
    assert set(pairs) == {*TARGET_NAMES, "postgres"}, result.stdout
    return pairs


@pytest.fixture(scope="module")
def base_images(standins: dict[str, str]) -> dict[str, str]:
    """target -> base image."""
    return {name: image for name, image in standins.items() if name in TARGET_NAMES}


@pytest.fixture(scope="module")
def db_image(standins: dict[str, str]) -> str | None:
    """PostgreSQL's image: the stand-in, or None (the public default) with BENCH_DOCKER_BASES=public."""
    image = standins.get("postgres")
    database_docker.check_available(image)
    return image


@pytest.fixture(scope="module")
def targets() -> dict[str, Target]:
    """The targets a plain `bench run` takes: the baselines have no image."""
    return {t.name: t for t in select_targets(discover_targets(ROOT / "targets"), None)}


@pytest.fixture(scope="module")
def images(docker_runtime: DockerRuntime, targets: dict[str, Target], base_images: dict[str, str]
           ) -> dict[str, ImageSpec]:
    """Both images, built (or reused) the way `bench run` does it: in check_available."""
    docker_runtime.check_available(list(targets.values()), RuntimeSettings(base_images=base_images))
    return {name: docker_runtime.images.hash(targets[name], base_images.get(name)) for name in TARGET_NAMES}


def labelled_containers(owner: str | None = None) -> list[object]:
    label = LABEL if owner is None else f"{OWNER_LABEL}={owner}"
    # ignore_removed: the run under test may remove a container between docker-py's list and its inspect
    return ENGINE.client().containers.list(all=True, filters={"label": label}, ignore_removed=True)


def container_exists(container_id: str) -> bool:
    return any(c.id == container_id for c in ENGINE.client().containers.list(all=True, ignore_removed=True))


def options(tmp_path: Path, base_images: dict[str, str], name: str, **extra: Any) -> LaunchOptions:
    log_path = tmp_path / f"{name}.log"
    return LaunchOptions(port=free_port(), log_path=log_path, base_image=base_images.get(name), **extra)


# --- with an engine ---------------------------------------------------------------------------


@pytest.mark.docker
def test_both_images_build_and_are_described(docker_runtime, images, targets, base_images):
    settings = RuntimeSettings(base_images=base_images)
    facts = docker_runtime.describe_environment(list(targets.values()), settings).entries
    described = facts["docker"]["images"]
    assert facts["docker"]["engine_version"]
    for name, spec in images.items():
        assert spec.tag.startswith(f"bench-{name}:") and len(spec.tag.split(":")[1]) == 12
        assert described[name]["tag"] == spec.tag
        assert described[name]["size_bytes"] > 10_000_000
        assert described[name]["base_image"] == (base_images.get(name) or spec.base_image_name)
    assert {"python", "fastapi", "uvicorn", "pydantic"} <= set(described["fastapi"]["versions"])
    assert {"node", "express", "zod"} <= set(described["express"]["versions"])
    # Same inputs, same tag: a second check reuses the images.
    docker_runtime.check_available(list(targets.values()), settings)
    assert docker_runtime.images.builds[images["fastapi"].tag] == {"built": False}


@pytest.mark.docker
@pytest.mark.parametrize("name", TARGET_NAMES)
def test_container_answers_the_contract_and_stop_removes_it(name, docker_runtime, images, targets, base_images,
                                                            tmp_path):
    cpus = sorted(os.sched_getaffinity(0))[:1]
    server = docker_runtime.launch(targets[name], options(tmp_path, base_images, name, cpus=cpus, memory_limit_mb=256))
    try:
        start = server.wait_ready(START_TIMEOUT_S)
        assert 0 < start.listen_ms <= start.ready_ms
        check_contract(name, server.host, server.port)
        details = server.record()
        assert details["runtime"] == "docker" and details["image"] == images[name].tag
        assert details["cpuset_cpus"] == str(cpus[0]) and details["mem_limit"] == "256m"
        inspected = docker_runtime.engine.client().containers.get(details["container_id"]).attrs["HostConfig"]
        assert inspected["NetworkMode"] == "host" and inspected["Memory"] == 256 * 1024 * 1024
        assert inspected["CpusetCpus"] == str(cpus[0])
        pids = server.pids()
        assert pids and all(psutil.pid_exists(pid) for pid in pids)  # host PIDs, samplable with psutil
        assert any(p in " ".join(psutil.Process(pids[0]).cmdline()) for p in ("serve.py", "server.js"))
        assert server.exit_code() is None
        assert server.cgroup_memory_path == details["cgroup_memory_path"]
        cgroup_bytes = memory_bytes(server.cgroup_memory_path)
        assert cgroup_bytes is not None and 1_000_000 < cgroup_bytes < 256 * 1024 * 1024
    finally:
        server.stop()
    assert not container_exists(details["container_id"])
    server.stop()  # twice is fine
    assert server.pids() == []


@pytest.mark.docker
def test_a_crash_at_start_is_reported_with_the_container_log(docker_runtime, images, targets, base_images, tmp_path):
    opts = options(tmp_path, base_images, "fastapi", extra_env={"WORKERS": "not-a-number"})
    server = docker_runtime.launch(targets["fastapi"], opts)
    try:
        with pytest.raises(BenchError, match=r"exited with code 1 during start-up.*invalid literal for int"):
            server.wait_ready(START_TIMEOUT_S)
    finally:
        server.stop()
    assert not container_exists(server.record()["container_id"])
    assert "ValueError" in opts.log_path.read_text()


@pytest.mark.docker
def test_a_build_failure_is_one_line_with_the_last_build_line(docker_runtime, engine, targets):
    spec = docker_runtime.images.hash(targets["fastapi"], "bench-no-such-base:never")
    with pytest.raises(BenchError) as caught:
        docker_runtime.images.ensure(spec)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("building the fastapi image on bench-no-such-base:never failed: ")
    assert "pass --base-image fastapi=IMAGE" in message


@pytest.mark.docker
def test_keyboard_interrupt_inside_a_run_removes_the_container(docker_runtime, images, targets, base_images,
                                                               tmp_path):
    container_id = None
    opts = options(tmp_path, base_images, "express")
    with pytest.raises(KeyboardInterrupt), running(docker_runtime, targets["express"], opts) as server:
        container_id = server.record()["container_id"]
        raise KeyboardInterrupt
    assert container_id and not container_exists(container_id)


CHILD = """
import os, signal, sys
from pathlib import Path
from harness.runtime.docker import DockerRuntime
from harness.runtime.options import LaunchOptions
from harness.runtime.server import free_port
from harness.targets import load_target
base = sys.argv[2] or None
server = DockerRuntime().launch(load_target(Path(sys.argv[1])), LaunchOptions(port=free_port(),
                                log_path=Path(sys.argv[3]), base_image=base))
server.wait_ready(60)
print(server.record()["container_id"], flush=True)
if sys.argv[4] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _child(target_dir: Path, base_image: str | None, log: Path, how: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(target_dir), base_image or "", str(log), how],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = result.stdout.split()
    assert lines, result.stderr[-2000:]
    return lines[-1]


@pytest.mark.docker
def test_a_harness_that_exits_without_stopping_leaves_no_container(images, base_images, tmp_path):
    """The atexit hook removes what the process started and did not stop."""
    container_id = _child(ROOT / "targets" / "fastapi_app", base_images.get("fastapi"), tmp_path / "a.log", "exit")
    assert not container_exists(container_id)


@pytest.mark.docker
def test_containers_of_a_killed_harness_are_removed_by_the_next_one(docker_runtime, images, base_images, tmp_path):
    """SIGKILL skips atexit; the next check_available removes the stray (its owner is gone)."""
    container_id = _child(ROOT / "targets" / "express_app", base_images.get("express"), tmp_path / "k.log", "kill")
    assert container_exists(container_id)
    removed = docker_runtime.sweep_strays()
    assert not container_exists(container_id), removed


def _run_args(base_images: dict[str, str], results: Path, *more: str) -> list[str]:
    args = ["run", "--runtime", "docker", "--profile", "test", "--results-dir", str(results),
            "--targets-dir", str(ROOT / "targets"), "--scenarios-dir", str(ROOT / "scenarios"), *more]  # fmt: skip
    for name, image in base_images.items():
        args += ["--base-image", f"{name}={image}"]
    return args


def _locust_running(pid: int) -> bool:
    """Whether a Locust process runs among `pid`'s descendants (Locust runs on the host)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return False
    return any(_is_locust(child) for child in children)


def _is_locust(process: psutil.Process) -> bool:
    try:
        return "locust" in " ".join(process.cmdline())
    except psutil.Error:  # ended meanwhile
        return False


@pytest.mark.docker
def test_ctrl_c_during_a_docker_run_leaves_no_container(images, base_images, tmp_path):
    args = _run_args(base_images, tmp_path, "--scenario", "throughput", "--target", "fastapi", "--name", "ctrl-c")
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", *args], cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=err_file, preexec_fn=sigint_as_in_a_terminal,
        )  # fmt: skip
    owner = f"{os.uname().nodename}:{process.pid}"
    try:
        deadline = time.monotonic() + 180
        # Into the load: Locust running beside the trial's container. Waiting on the container alone
        # could interrupt the behaviour check, which starts a container of its own before any trial.
        while not (_locust_running(process.pid) and labelled_containers(owner)):
            assert process.poll() is None, err_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the run started no load"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
        process.wait(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    err = err_path.read_text()
    assert process.returncode == 130, err[-2000:]
    assert "interrupted" in err
    assert labelled_containers(owner) == []


@pytest.mark.docker
def test_bench_run_in_docker_end_to_end(images, base_images, tmp_path, capsys):
    args = _run_args(base_images, tmp_path, "--scenario", "cold_start", "--scenario", "throughput",
                     "--memory-limit-mb", "512", "--name", "docker-e2e")  # fmt: skip
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    results = json.loads((tmp_path / "docker-e2e" / "results.json").read_text())
    assert results["complete"] is True
    env = results["environment"]
    assert env["runtime"] == "docker"
    described = env["docker"]["images"]
    assert env["docker"]["memory_limit_mb"] == 512
    for name in TARGET_NAMES:
        assert described[name]["tag"] == images[name].tag
        assert described[name]["size_bytes"] > 0 and described[name]["versions"]
    metrics = results["metrics"]

    def values(target: str, scenario: str, metric: str) -> list[float]:
        return [m["value"] for m in metrics if (m["target"], m["scenario"], m["metric"]) == (target, scenario, metric)]

    for name in TARGET_NAMES:
        rps = values(name, "throughput", "rps")
        assert rps and all(v > 0 for v in rps), name
        cold = values(name, "cold_start", "cold_start_ms")
        assert cold and all(0 < v < START_TIMEOUT_S * 1000 for v in cold), name
        assert all(v == 0 for v in values(name, "throughput", "error_rate")), name
    servers = [t["server"] for t in results["trials"]]
    assert all(s["runtime"] == "docker" and s["mem_limit"] == "512m" and s["image"] for s in servers)
    assert labelled_containers(f"{os.uname().nodename}:{os.getpid()}") == []


def _db_options(tmp_path: Path, image: str | None, **extra: Any) -> DatabaseOptions:
    return DatabaseOptions(image=image, log_path=tmp_path / "database.log", **extra)


@pytest.mark.docker
def test_database_container_answers_is_reset_and_is_removed_at_stop(db_image, tmp_path):
    cpus = sorted(os.sched_getaffinity(0))[:1]
    with database_docker.running_container_database(_db_options(tmp_path, db_image, cpus=cpus)) as db:
        container_id = db.facts["container_id"]
        attrs = ENGINE.client().containers.get(container_id).attrs
        assert attrs["HostConfig"]["NetworkMode"] == "host" and attrs["HostConfig"]["CpusetCpus"] == str(cpus[0])
        assert attrs["Config"]["Labels"][LABEL] == "1"
        assert attrs["Config"]["Labels"][OWNER_LABEL] == f"{os.uname().nodename}:{os.getpid()}"
        assert db.facts["source"] == "docker" and db.facts["image"] == (db_image or database_docker.DEFAULT_IMAGE)
        assert db.facts["version"].split(".")[0].isdigit()
        assert db.facts["settings"]["synchronous_commit"] == {"value": "off", "source": "command line"}
        assert db.facts["settings"]["listen_addresses"]["value"] == "127.0.0.1"
        pids = db.pids()  # host PIDs of the postmaster and its backends, samplable with psutil
        assert len(pids) > 1 and all("postgres" in psutil.Process(pid).name() for pid in pids)
        checksum = db.psql("SELECT sum(id * randomnumber) FROM world")
        db.psql("INSERT INTO users (name, email) VALUES ('a', 'a@example.com')")
        db.psql("UPDATE world SET randomnumber = 1")
        db.reset()
        assert db.psql("SELECT count(*) FROM users").strip() == "0"
        assert db.psql("SELECT sum(id * randomnumber) FROM world") == checksum  # the same seeded rows
        db.psql("INSERT INTO users (name, email) VALUES ('b', 'b@example.com')")
        assert db.psql("SELECT id FROM users").strip() == "1"  # ids from 1 again
        db.check_alive("in the test")
    assert not container_exists(container_id)
    assert "database system is ready to accept connections" in (tmp_path / "database.log").read_text()


@pytest.mark.docker
def test_ctrl_c_removes_the_database_container(db_image, tmp_path):
    container_id = None
    with pytest.raises(KeyboardInterrupt), \
            database_docker.running_container_database(_db_options(tmp_path, db_image)) as db:
        container_id = db.facts["container_id"]
        raise KeyboardInterrupt
    assert container_id and not container_exists(container_id)


@pytest.mark.docker
def test_a_database_that_dies_fails_the_next_check_in_one_line(db_image, tmp_path):
    with database_docker.running_container_database(_db_options(tmp_path, db_image)) as db:
        ENGINE.client().containers.get(db.facts["container_id"]).kill()
        with pytest.raises(BenchError, match=r"^the PostgreSQL container exited before the trial \(code \d+\)"):
            db.check_alive("before the trial")
    assert not container_exists(db.facts["container_id"])


CHILD_DB = """
import os, signal, sys
from pathlib import Path
from harness.database import DatabaseOptions
from harness.database.docker import running_container_database
options = DatabaseOptions(image=sys.argv[1] or None, log_path=Path(sys.argv[2]))
with running_container_database(options) as db:
    print(db.facts["container_id"], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.docker
def test_the_database_container_of_a_killed_harness_is_removed_by_the_next_check(db_image, tmp_path):
    result = subprocess.run([sys.executable, "-c", CHILD_DB, db_image or "", str(tmp_path / "db.log")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    container_id = result.stdout.split()[-1]
    assert container_exists(container_id)  # SIGKILL ran no clean-up
    database_docker.check_available(db_image)  # as the next run does, before any trial
    assert not container_exists(container_id)


@pytest.mark.docker
def test_a_database_image_that_cannot_be_had_is_one_line(images, base_images, tmp_path, capsys):
    args = _run_args(base_images, tmp_path, "--scenario", "crud", "--db-image", "bench-no-such-postgres:never")
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "bench: error: the PostgreSQL image bench-no-such-postgres:never is not on this machine and cannot be pulled: ")
    assert lines[0].endswith("; pass --db-image IMAGE (scripts/docker-standins.sh builds a stand-in)")


@pytest.mark.docker
def test_bench_run_crud_in_docker_has_its_database_in_a_container(images, base_images, db_image, tmp_path, capsys):
    args = _run_args(base_images, tmp_path, "--scenario", "crud", "--name", "docker-crud")
    args += ["--db-image", db_image] if db_image else []
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    results = json.loads((tmp_path / "docker-crud" / "results.json").read_text())
    assert results["complete"] is True
    database = results["environment"]["database"]
    assert database["source"] == "docker" and database["image"] == (db_image or database_docker.DEFAULT_IMAGE)
    assert database["network_mode"] == "host" and database["settings"]["synchronous_commit"]["value"] == "off"
    assert database["cpus"] == results["config"]["server_cpus"]  # the server's host runs its database
    trials = [t for t in results["trials"] if t["scenario"] == "crud"]
    assert {t["target"] for t in trials} == set(TARGET_NAMES)
    assert all(t["server"]["store"] == "postgres" and t["server"]["runtime"] == "docker" for t in trials)
    # The container's processes were sampled as the database (its CPU may read 0 on a busy machine).
    for name in TARGET_NAMES:
        db_rss = [m["value"] for m in results["metrics"] if (m["target"], m["metric"]) == (name, "database_rss_mb")]
        assert db_rss and all(v > 1 for v in db_rss), name
    assert labelled_containers(f"{os.uname().nodename}:{os.getpid()}") == []


# --- without an engine ------------------------------------------------------------------------


def test_no_engine_is_one_clear_line(tmp_path):
    env = {**os.environ, "DOCKER_HOST": "unix:///tmp/nonexistent.sock"}
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--runtime", "docker", "--profile", "test",
         "--results-dir", str(tmp_path), "--targets-dir", str(ROOT / "targets"),
         "--scenarios-dir", str(ROOT / "scenarios")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "bench: error: no Docker engine answers at unix:///tmp/nonexistent.sock: start one "
        "(e.g. `systemctl start docker`, or `dockerd`) or use --runtime native"
    ], result.stderr


DOCKERFILE = textwrap.dedent("""\
    ARG BASE_IMAGE=example/base:1
    FROM ${BASE_IMAGE}
    COPY . /app
""")


@pytest.fixture
def tiny_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/nonexistent.sock")  # hashing needs no engine
    folder = tmp_path / "tiny"
    folder.mkdir()
    manifest = 'name = "tiny"\ndisplay_name = "t"\nlanguage = "x"\n[native]\ncommand = ["x"]\n'
    (folder / "target.toml").write_text(manifest)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / ".dockerignore").write_text("node_modules\n.venv\n")
    (folder / "app.txt").write_text("v1")
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / "dep.js").write_text("1")
    return folder


def test_image_tag_follows_the_build_inputs_only(tiny_target):
    target = load_target(tiny_target)
    images = DockerRuntime().images
    tag = images.hash(target, None).tag
    assert tag.startswith("bench-tiny:") and len(tag) == len("bench-tiny:") + 12
    assert images.hash(target, None).base_image_name == "example/base:1"
    (tiny_target / "node_modules" / "dep.js").write_text("2")  # excluded by .dockerignore
    assert images.hash(target, None).tag == tag
    assert images.hash(target, "other/base:2").tag != tag  # the base-image argument counts
    (tiny_target / "app.txt").write_text("v2")  # in the build context
    changed = images.hash(target, None).tag
    assert changed != tag
    assert images.spec(target, None).tag == changed == images.spec(target, None).tag  # hashed once, then kept
    (tiny_target / "Dockerfile").write_text(DOCKERFILE + "ENV X=1\n")
    assert images.hash(target, None).tag not in (tag, changed)
    assert images.spec(target, None).tag == changed  # until `prepare` hashes again, before a run's trials


def test_context_files_are_what_the_sdk_sends(tiny_target):
    files = context_files(tiny_target, "Dockerfile")
    assert files == [".dockerignore", "Dockerfile", "app.txt", "target.toml"]
