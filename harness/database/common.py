"""What the process database and the container database share: names, settings, options, the password,
the port, and the wait for readiness."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.runtime.server import check_port_free, free_port, log_tail

CONTRACT = Path(__file__).resolve().parents[2] / "contract"
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
    protection: Any = None  # harness.machine.protect.Protection: the server's host runs its database, protected alike
    image: str | None = None  # docker: the PostgreSQL image (None: harness.database.docker.DEFAULT_IMAGE)


def settings_facts(psql: Any) -> dict[str, dict[str, str]]:
    """The server's non-default settings (those set by command line, file or environment), through `psql`."""
    rows = psql(
        "SELECT name, setting, coalesce(unit, ''), source FROM pg_settings "
        "WHERE source IN ('command line', 'configuration file', 'environment variable') ORDER BY name"
    )
    settings = {}
    for line in rows.splitlines():
        name, setting, unit, source = line.split("|")
        settings[name] = (
            {"value": setting, "unit": unit, "source": source} if unit else {"value": setting, "source": source}
        )
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


def wait_ready(
    database: Any,
    exited: Callable[[], bool],
    what: str,
    poll_s: float = 0.05,
    save_logs: Callable[[], None] = lambda: None,
) -> None:
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
    raise BenchError(
        f"{what} did not accept connections within {START_TIMEOUT_S:g} s; "
        f"its log ends: {log_tail(database.options.log_path)}"
    )
