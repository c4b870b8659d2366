"""PostgreSQL for the scenarios that declare `database = "postgres"`: started once per run, reset per trial.

The hooks a run and a trial call (`check_available`, `for_run`, `for_trial`, `step_figures`), choosing by
the run's runtime: a process of this machine (harness.database.process) or, in the Docker runtime, a
container (harness.database.docker); both share harness.database.common. Where the binaries come from:
harness.database.binaries; where the data folder goes: harness.database.place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.database.binaries import bin_dir, check_reachable
from harness.database.common import DatabaseOptions, new_password
from harness.database.process import Database, running_database
from harness.errors import BenchError

__all__ = [  # the package's names used elsewhere
    "NO_DATABASE", "Database", "DatabaseOptions", "TrialDatabase", "bin_dir", "check_available", "check_reachable",
    "for_run", "for_trial", "new_password", "running_database", "step_figures",
]


def check_available(config: Any, scenarios: list[Any]) -> None:
    """Before any trial: a run with a database scenario needs PostgreSQL's binaries, or in Docker its image."""
    if not any(s.database for s in scenarios):
        return
    if config.runtime == "docker":  # a container: its image is needed, not binaries here
        from harness.database import docker as database_docker

        database_docker.check_available(config.db_image)
        return
    bin_dir(config.db)
    if config.db_dir is not None:
        check_reachable(config.db_dir)  # the user's folder: one line before any trial, never moved silently


@contextmanager
def for_run(
    config: Any,
    scenarios: list[Any],
    server_cpus: list[int],
    log_dir: Path,
    protection: Any = None,
) -> Iterator[Database | None]:
    """One PostgreSQL for the run's database scenarios (None when none has one); its `facts` are the
    environment's `database` (harness.machine.environment).

    In the Docker runtime it is a harness.database.docker.ContainerDatabase, which has Database's interface.
    """
    if not any(s.database for s in scenarios):
        yield None
        return
    from harness.machine.cpus import parse_cpu_list

    options = DatabaseOptions(
        source=config.db, cpus=parse_cpu_list(config.db_cpus) if config.db_cpus else server_cpus, port=config.db_port,
        pool_size=config.db_pool_size, workers=config.workers, log_path=log_dir / "database.log", root=config.db_dir,
        protection=protection, image=config.db_image,
    )  # fmt: skip
    with _running(config.runtime)(options) as database:
        yield database


def _running(runtime: str) -> Any:
    """The database's lifecycle for a runtime: a container in Docker's, a process otherwise."""
    if runtime == "docker":
        from harness.database.docker import running_container_database

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
        yield TrialDatabase(
            env=database.server_env(), roles={"database": database.pids}, cpus={"database": database.options.cpus or []}
        )
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
    figures = [
        ("database_cpu_pct", cpu_pct, "%"),
        ("database_rss_mb", sum(r.rss_mb for r in readings) / len(readings), "MB"),
    ]
    # RSS counts the shared buffers once per backend that touched them; PSS shares them out.
    pss = [r.pss_mb for r in readings if r.pss_mb is not None]
    if pss:
        figures.append(("database_pss_mb", sum(pss) / len(pss), "MB"))
    if cpu_pct + server_cpu_pct > 0:  # where the server host's CPU went: the database's part
        figures.append(("database_cpu_share_pct", 100.0 * cpu_pct / (cpu_pct + server_cpu_pct), "%"))
    return figures
