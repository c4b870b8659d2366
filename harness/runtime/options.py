"""Settings shared by every runtime for starting one server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LaunchOptions:
    port: int
    log_path: Path
    host: str = "127.0.0.1"
    workers: int = 1
    cpus: list[int] | None = None  # None: not pinned
    extra_env: dict[str, str] = field(default_factory=dict)
    memory_limit_mb: int | None = None  # honoured by runtimes that can enforce it (docker)
    base_image: str | None = None  # docker: the base-image build argument (None: the Dockerfile's default)
