"""Who a load generator is: the harness version, a hash of the scenario files, and its host.

An external worker (`bench worker`) must run the same scenarios as the master: a worker on
another machine with an older checkout would otherwise measure another workload under the
same name. Both sides compute `Identity` the same way and the master refuses a mismatch.
"""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import harness
from harness.machine.environment import cpu_model

# The files a Locust process loads besides the scenario: they change what is measured too.
LOADGEN_DIR = Path(__file__).parent


def files_hash(scenarios_dir: Path) -> str:
    """sha256 over the scenario files and the load generator's own modules (names and bytes), sorted."""
    digest = hashlib.sha256()
    for path in sorted(scenarios_dir.glob("*.py")) + sorted(LOADGEN_DIR.glob("*.py")):
        digest.update(f"{path.parent.name}/{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class HostFacts:
    """One load-generator host as results.json records it (`environment.loadgen_hosts`)."""

    name: str  # `bench worker --name`, default the hostname: network namespaces share one hostname
    hostname: str
    cpu_model: str
    cores: int | None
    cpus_given: list[int]
    locust: str

    def record(self) -> dict[str, Any]:
        return asdict(self)


def host_facts(name: str | None, cpus: list[int] | None) -> HostFacts:
    return HostFacts(
        name=name or platform.node(), hostname=platform.node(), cpu_model=cpu_model(), cores=os.cpu_count(),
        cpus_given=sorted(cpus) if cpus else sorted(os.sched_getaffinity(0)), locust=metadata.version("locust"),
    )  # fmt: skip


@dataclass(frozen=True)
class Identity:
    harness: str
    files: str

    def mismatch(self, other: Identity) -> str | None:
        """Why `other` (a worker) cannot run this master's load, in words; None if it can."""
        if other.harness != self.harness:
            return f"harness version {other.harness} differs from the master's {self.harness}"
        if other.files != self.files:
            return f"scenario/load-generator files differ (hash {other.files}, master {self.files}): same checkout?"
        return None


def identity(scenarios_dir: Path) -> Identity:
    return Identity(harness=harness.__version__, files=files_hash(scenarios_dir))
