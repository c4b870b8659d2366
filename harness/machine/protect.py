"""Protect the benchmark's processes from CPU neighbours: one cgroup per role, highest CPU weight.

A busy process on the server's core takes half of it: the scheduler shares a core fairly
between runnable entities, and `nice -n -20` does not help because autogroup scheduling
weighs sessions, not processes; a cgroup's CPU weight does (docs/measurements.md, "Neighbours",
has the loss with and without it). So each role ("server", "loadgen") gets a cgroup
`bench-<run id>-<role>` with the highest weight the kernel takes:

  cgroup v1: the `cpu` controller's cpu.shares, at most 262144 (MAX_SHARES, kernel/sched/sched.h)
  cgroup v2: cpu.weight, at most 10000 (Documentation/admin-guide/cgroup-v2.rst), once `+cpu`
             is in the parent's cgroup.subtree_control

A process moved there takes every child it forks later with it. The groups are removed at
the end (remaining processes moved back to the parent first, since a cgroup with members
cannot be removed), also on Ctrl-C; empty leftovers of killed runs are swept at the start.
Without permission (not root, no delegation, read-only /sys/fs/cgroup) the run goes on
unprotected and the status says why. The cgroup root and the file operations are
parameters, so the tests run on a temporary tree laid out like either version.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from harness.machine.cgroup import PROC, memberships

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_SHARES = 262144  # the kernel's MAX_SHARES; Docker's cpu_shares takes the same scale
V2_WEIGHT = 10000  # cgroup v2's maximum cpu.weight
PREFIX = "bench-"
V1_CPU_DIRS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")  # where distributions mount the v1 cpu controller
V2_DIRS = (".", "unified")  # a pure v2 mount, or the v2 part of a hybrid layout
REMOVE_TRIES = 20  # members that were just killed leave the group within milliseconds
REMOVE_PAUSE_S = 0.05


class Refused(Exception):
    """Protection is not possible here; the message says why, for the results."""


class CgroupFs:
    """The file operations on a cgroup tree; tests substitute a fake kernel."""

    def read(self, path: Path) -> str:
        return path.read_text()

    def write(self, path: Path, text: str) -> None:
        # One write() per value: cgroup files take one value (one PID) per write.
        with path.open("w") as handle:
            handle.write(text)

    def mkdir(self, path: Path) -> None:
        path.mkdir(exist_ok=True)

    def rmdir(self, path: Path) -> None:
        path.rmdir()  # a cgroup directory is removed with its control files, if it has no members


@dataclass(frozen=True)
class Hierarchy:
    """Where the `bench-*` groups go: the v1 cpu controller's root, or the v2 root."""

    version: int
    path: Path

    @property
    def weight_file(self) -> str:
        return "cpu.shares" if self.version == 1 else "cpu.weight"

    @property
    def weight(self) -> int:
        return V1_SHARES if self.version == 1 else V2_WEIGHT

    def describe(self) -> str:
        return f"cgroup v{self.version} {self.weight_file}={self.weight}"


def find_hierarchy(root: Path, fs: CgroupFs) -> Hierarchy:
    """The cpu controller's hierarchy under `root`; v1 first, as a hybrid layout binds cpu there."""
    for name in V1_CPU_DIRS:
        if (root / name / "cpu.shares").exists():
            return Hierarchy(1, root / name)
    for name in V2_DIRS:
        controllers = root / name / "cgroup.controllers"
        if controllers.exists() and "cpu" in fs.read(controllers).split():
            return Hierarchy(2, root / name)
    raise Refused(f"no cgroup cpu controller under {root}")


def enable_v2_cpu(hierarchy: Hierarchy, fs: CgroupFs) -> None:
    """v2 distributes CPU to children only once `+cpu` is in the parent's subtree_control."""
    control = hierarchy.path / "cgroup.subtree_control"
    try:
        if "cpu" not in fs.read(control).split():
            fs.write(control, "+cpu")
    except OSError as exc:
        raise Refused(f"cannot enable the cpu controller in {control}: {exc.strerror}") from None


def group_name(run_id: str, role: str) -> str:
    """`bench-<run id>-<role>`, with anything but [A-Za-z0-9_.-] replaced, so leftovers are recognisable."""
    return f"{PREFIX}{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}-{role}"


@dataclass
class Group:
    hierarchy: Hierarchy
    path: Path
    fs: CgroupFs

    def create(self) -> None:
        """Make the group (again, if a concurrent sweep removed it while empty) and set its weight."""
        self.fs.mkdir(self.path)
        self.fs.write(self.path / self.hierarchy.weight_file, str(self.hierarchy.weight))

    def adopt(self, pid: int) -> None:
        """Move one process (all its threads) into the group; its later children follow."""
        if not self.path.is_dir():
            self.create()
        self.fs.write(self.path / "cgroup.procs", str(pid))

    def members(self) -> list[int]:
        try:
            return [int(line) for line in self.fs.read(self.path / "cgroup.procs").split()]
        except OSError:
            return []

    def remove(self, homes: dict[int, Path]) -> str | None:
        """Move the remaining members out (to their recorded home or the parent), then rmdir.

        Returns a warning if the group could not be removed, None when it is gone.
        """
        for _ in range(REMOVE_TRIES):
            for pid in self.members():
                home = homes.get(pid, self.path.parent)
                try:
                    self.fs.write(home / "cgroup.procs", str(pid))
                except OSError:  # it exited meanwhile, or its home is gone: the parent takes it
                    with suppress(OSError):
                        self.fs.write(self.path.parent / "cgroup.procs", str(pid))
            try:
                self.fs.rmdir(self.path)
                return None
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    return f"cannot remove cgroup {self.path}: {exc.strerror}"
            time.sleep(REMOVE_PAUSE_S)
        return f"cannot remove cgroup {self.path}: processes {self.members()} stay in it"


def sweep(hierarchy: Hierarchy, fs: CgroupFs, keep: set[str] = frozenset()) -> list[str]:
    """Remove the empty `bench-*` groups of runs that are gone; return their names.

    A group with members belongs to a live run (or to its orphaned processes) and stays:
    rmdir refuses it, so this cannot disturb a concurrent run's populated group.
    """
    removed = []
    for path in sorted(hierarchy.path.glob(f"{PREFIX}*")):
        if path.is_dir() and path.name not in keep:
            try:
                fs.rmdir(path)
                removed.append(path.name)
            except OSError:
                pass
    return removed


def home_group(pid: int, hierarchy: Hierarchy, proc: Path = PROC) -> Path | None:
    """The group a process is in now, in this hierarchy, to move it back there at the end."""
    for group in memberships(pid, proc):
        ours = "cpu" in group.controllers if hierarchy.version == 1 else not group.controllers
        if ours:
            path = hierarchy.path / group.path.lstrip("/")
            return path if path.is_dir() else None
    return None


@dataclass
class Protection:
    """The run's groups by role; `status` is what results.json and the terminal say."""

    status: str
    groups: dict[str, Group] = field(default_factory=dict)
    homes: dict[int, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.groups)

    def adopt(self, role: str, pid: int) -> None:
        """Move a process into its role's group; a failure is a warning, never a failed run."""
        group = self.groups.get(role)
        if group is None:
            return
        home = home_group(pid, group.hierarchy)
        try:
            group.adopt(pid)
        except OSError as exc:
            self.warnings.append(f"process {pid} ({role}) runs unprotected: cannot join {group.path}: {exc.strerror}")
            return
        if home is not None:
            self.homes[pid] = home

    def release(self) -> None:
        for group in self.groups.values():
            warning = group.remove(self.homes)
            if warning:
                self.warnings.append(warning)
        self.groups = {}


def set_up(run_id: str, roles: tuple[str, ...], root: Path, fs: CgroupFs) -> Protection:
    """Find the hierarchy, sweep dead runs' groups, create this run's; or say why not."""
    created: list[Group] = []
    try:
        hierarchy = find_hierarchy(root, fs)
        if hierarchy.version == 2:
            enable_v2_cpu(hierarchy, fs)
        names = [group_name(run_id, role) for role in roles]
        sweep(hierarchy, fs, keep=set(names))
        for name in names:
            group = Group(hierarchy, hierarchy.path / name, fs)
            try:
                group.create()
            except OSError as exc:
                raise Refused(f"cannot create {group.path}: {exc.strerror}{_hint()}") from None
            finally:
                created.append(group)
    except Refused as exc:
        protection = Protection(status=f"unprotected: {exc}", groups={g.path.name: g for g in created})
        protection.release()  # a half-made set of groups is removed again
        return protection
    return Protection(status=f"protected: {hierarchy.describe()}", groups=dict(zip(roles, created, strict=True)))


def _hint() -> str:
    return "" if os.geteuid() == 0 else " (not root, and no cgroup delegated to this user)"


@contextmanager
def protected(run_id: str, roles: tuple[str, ...] = ("server", "loadgen"), root: Path = CGROUP_ROOT,
              fs: CgroupFs | None = None) -> Iterator[Protection]:
    """This run's protection, removed on exit whatever happens.

    Servers join it through their launch options (`LaunchOptions.protection`), so a server
    started outside a run (tests, `bench serve`) is never moved."""
    protection = set_up(run_id, roles, root, fs or CgroupFs())
    try:
        yield protection
    finally:
        protection.release()
