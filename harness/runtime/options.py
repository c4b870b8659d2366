"""What a runtime is told: where one server goes (LaunchOptions) and the run's settings (RuntimeSettings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from harness.config import RunConfig


class Protection(Protocol):
    """A run's CPU protection (harness.machine.protect.Protection): a started server joins the "server" group."""

    def adopt(self, role: str, pid: int) -> None: ...


@dataclass(frozen=True)
class LaunchOptions:
    """One server's placement: its port and log, worker processes, CPU set, memory limit, base image."""

    port: int
    log_path: Path
    host: str = "127.0.0.1"
    netns: str | None = None  # native: the network namespace the server runs in (`ip netns exec`)
    workers: int = 1
    cpus: list[int] | None = None  # None: not pinned
    extra_env: dict[str, str] = field(default_factory=dict)
    memory_limit_mb: int | None = None  # honoured by runtimes that can enforce it (docker)
    base_image: str | None = None  # docker: the base-image build argument (None: the Dockerfile's default)
    protection: Protection | None = None  # None: no run protects its processes (tests, `bench serve`)


@dataclass(frozen=True)
class RuntimeSettings:
    """The run's settings a runtime checks and describes before any trial."""

    base_images: dict[str, str] = field(default_factory=dict)  # docker: target name -> base image
    memory_limit_mb: int | None = None
    targets_dir: Path | None = None  # where every target lives: a base image may name one left out of the run

    @classmethod
    def from_config(cls, config: RunConfig) -> RuntimeSettings:
        return cls(base_images=dict(config.base_images), memory_limit_mb=config.memory_limit_mb,
                   targets_dir=config.targets_dir)
