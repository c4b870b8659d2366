"""How a run was obtained: machine, software versions, pinning and the git commit.

Stored once per run (as asv stores machine details apart from results).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from harness.targets import Target, framework_versions

HARNESS_PACKAGES = ["locust", "hdrhistogram", "psutil", "scipy", "pandas", "pydantic", "gevent", "geventhttpclient"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _command_output(command: list[str], cwd: Path | None = None) -> str | None:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None



@dataclass(frozen=True)
class RuntimeDescription:
    """A runtime's facts for the results' environment."""

    entries: dict[str, Any] = field(default_factory=dict)  # added to the environment as they are, e.g. {"docker": …}
    # The component versions that ran, by target, when they are not the host's (those inside images).
    target_versions: dict[str, dict[str, str]] = field(default_factory=dict)

@dataclass(frozen=True)
class GitState:
    commit: str | None
    dirty: bool | None  # None: git did not say


def git_state(root: Path) -> GitState:
    commit = _command_output(["git", "rev-parse", "HEAD"], root)
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"], root)
    return GitState(commit=commit, dirty=bool(dirty) if dirty is not None else None)


def package_versions(names: list[str]) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class HostEnvironment:
    """This machine and its software, as results.json's `environment` records them (same keys, same order)."""

    hostname: str
    os: str
    cpu_model: str
    cpu_count_logical: int | None
    cpu_count_physical: int | None
    cpus_usable: list[int]
    memory_total_gb: float
    python: str
    node: str | None
    harness_packages: dict[str, str]
    targets: dict[str, dict[str, str]]  # target -> its component versions, as installed on this machine
    git: GitState

    def record(self) -> dict[str, Any]:
        return asdict(self)


def capture_environment(root: Path, targets: list[Target]) -> HostEnvironment:
    return HostEnvironment(
        hostname=platform.node(),
        os=f"{platform.system()} {platform.release()}",
        cpu_model=cpu_model(),
        cpu_count_logical=psutil.cpu_count(logical=True),
        cpu_count_physical=psutil.cpu_count(logical=False),
        cpus_usable=sorted(os.sched_getaffinity(0)),
        memory_total_gb=round(psutil.virtual_memory().total / 1e9, 2),
        python=sys.version.split()[0],
        node=_command_output(["node", "--version"]),
        harness_packages=package_versions(HARNESS_PACKAGES),
        targets={t.name: framework_versions(t) for t in targets},
        git=git_state(root),
    )


@dataclass
class RunEnvironment:
    """results.json's `environment`, typed, and assembled in one place (`record`): the host and the runtime
    before the first trial, then each part as the run reaches it, from the module that knows it. Parts
    not reached are left out, so the record's keys are those stored, in the same order."""

    host: HostEnvironment
    runtime: str  # its name
    described: RuntimeDescription  # its own entries (e.g. docker), and the versions that ran inside it
    # where the load generator and the server run (harness.loadgen.external); the workers' coordinator keeps
    # counting refused messages into this same dict while the run goes
    topology: dict[str, Any] | None = None
    cpu_idle: dict[str, Any] | None = None  # the idle hold (harness.machine.idle_hold)
    protection: str | None = None  # the CPU protection groups' state (harness.machine.protect)
    database: dict[str, Any] | None = None  # the run's PostgreSQL (harness.database)
    protection_warnings: list[str] | None = None  # what releasing the protection groups ran into

    def add(self, **parts: Any) -> dict[str, Any]:
        """Set the parts that arrived (by their field names) and return the whole record."""
        for name, value in parts.items():
            if name not in RUN_PARTS:
                raise TypeError(f"no part {name!r} in a run's environment")
            setattr(self, name, value)
        return self.record()

    def record(self) -> dict[str, Any]:
        environment = {**self.host.record(), "runtime": self.runtime, **self.described.entries}
        if self.described.target_versions:  # the versions that ran are those inside the images, not the host's
            environment["host_targets"] = environment["targets"]
            environment["targets"] = self.described.target_versions
        parts = {name: getattr(self, name) for name in RUN_PARTS}
        return {**environment, **{name: value for name, value in parts.items() if value is not None}}


RUN_PARTS = ("topology", "cpu_idle", "protection", "database", "protection_warnings")


def run_environment(host: HostEnvironment, runtime: str, described: RuntimeDescription) -> RunEnvironment:
    """A run's environment before its first trial: the host, the runtime's name and its facts."""
    return RunEnvironment(host, runtime, described)
