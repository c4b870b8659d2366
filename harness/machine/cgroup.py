"""Reading cgroups from the host: which groups a process is in, and a group's memory use.

harness.machine.protect writes cgroups (the run's protection groups); this module only reads them.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Membership:
    """One line of /proc/<pid>/cgroup: "<hierarchy id>:<controllers>:<path>"."""

    hierarchy: str
    controllers: tuple[str, ...]  # empty for the cgroup v2 hierarchy ("0::/path")
    path: str

    @property
    def is_v2(self) -> bool:
        return self.hierarchy == "0" and not self.controllers


def memberships(pid: int, proc: Path = PROC) -> list[Membership]:
    """The groups a process is in, one per hierarchy; [] when the process is gone or unreadable."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        found.append(Membership(hierarchy, tuple(c for c in controllers.split(",") if c), path))
    return found


def _mount_points() -> list[tuple[str, str, str]]:
    """(mount point, filesystem type, super options) of every cgroup mount."""
    mounts = []
    with suppress(OSError):
        for line in (PROC / "self" / "mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, extra = left.split(), right.split()
            if len(extra) >= 3 and extra[0] in ("cgroup", "cgroup2"):
                mounts.append((fields[4], extra[0], extra[2]))
    return mounts


def memory_path(pid: int) -> str | None:
    """The file holding the memory use, in bytes, of the cgroup a process is in (a container's), from the host.

    cgroup v2: `<cgroup>/memory.current`; cgroup v1 (or a hybrid layout, where the memory
    controller stays on v1): `<memory cgroup>/memory.usage_in_bytes`. Both count the page cache
    the group's processes caused as well as their anonymous memory; None if not found.
    """
    groups = memberships(pid)
    if not groups:
        return None
    mounts = _mount_points()
    for group in (g for g in groups if g.is_v2):  # v2 first
        for point, fstype, _ in mounts:
            candidate = Path(point + group.path) / "memory.current"
            if fstype == "cgroup2" and candidate.exists():
                return str(candidate)
    for group in (g for g in groups if "memory" in g.controllers):  # v1: "N:memory:/path"
        for point, fstype, options in mounts:
            candidate = Path(point + group.path) / "memory.usage_in_bytes"
            if fstype == "cgroup" and "memory" in options.split(",") and candidate.exists():
                return str(candidate)
    return None


def memory_bytes(path: str | None) -> float | None:
    """A group's memory as the cgroup counts it (the file `memory_path` found); None without one."""
    if not path:
        return None
    try:
        return float(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None
