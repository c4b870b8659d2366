"""Locks between runs on one machine: the CPUs a run pins, and `bench ab`'s revision folders.

Each lock is flock(2) on a file, taken without waiting: a second run that wants what another holds is
refused in one line naming the holder. The kernel releases a flock when the last descriptor of its open
file closes, so a run killed with SIGKILL frees its locks with its death (its descriptors are not
inherited: Python opens them close-on-exec, and the servers and Locust are started by exec).

CPU locks live in the system's temporary directory, one file per CPU (`bench-cpu-<n>.lock`), shared by
every user and clone on the machine: two clones running at once on the same cores would spoil each
other's figures as surely as two runs of one clone. With BENCH_CPU_LOCK=wait in its environment a run
waits for the CPUs instead (saying so in one line), for scripts and test suites that start runs at once.

A lock file is opened without following a symlink planted in its place, and never created over one. Its
holder removes it on release, while still holding it; whoever locks a file checks that it is still the
one at its path (else it retries), so a lock taken on a file just removed never counts.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import BenchError

CPU_LOCK_PREFIX = "bench-cpu-"
CPU_LOCK_ENV = "BENCH_CPU_LOCK"  # "wait": wait for CPUs another run holds; anything else: refuse


@dataclass
class Held:
    """Locks held until `release()` (or this process's end); each a lock file and its descriptor."""

    files: list[tuple[Path, int]] = field(default_factory=list)

    def release(self) -> None:
        while self.files:
            path, fd = self.files.pop()
            with suppress(OSError):  # another user's file in a sticky folder stays: harmless
                if _same_file(path, fd):
                    path.unlink()
            with suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


def cpu_lock_path(cpu: int, root: Path | None = None) -> Path:
    return (root or Path(tempfile.gettempdir())) / f"{CPU_LOCK_PREFIX}{cpu}.lock"


def lock_cpus(cpus: list[int] | set[int], root: Path | None = None, wait: bool | None = None) -> Held:
    """Hold every CPU in `cpus` for this run (in increasing order, so that waiting runs cannot deadlock);
    BenchError (one line) if another run holds one, or with `wait` (default: BENCH_CPU_LOCK=wait) a line
    on stderr and a wait until it is free."""
    wait = os.environ.get(CPU_LOCK_ENV) == "wait" if wait is None else wait
    held = Held()
    try:
        for cpu in sorted(set(cpus)):
            holder = _try_lock(cpu_lock_path(cpu, root), held)
            if holder is not None and wait:
                print(f"bench: waiting for CPU {cpu}, pinned by another bench run ({holder})", file=sys.stderr,
                      flush=True)
                holder = _try_lock(cpu_lock_path(cpu, root), held, wait=True)
            if holder is not None:
                raise BenchError(f"CPU {cpu} is pinned by another bench run ({holder}): wait for it to end, or "
                                 f"give this run other cores (--server-cpus, --loadgen-cpus, --db-cpus; "
                                 f"{CPU_LOCK_ENV}=wait waits)")
    except BaseException:
        held.release()
        raise
    return held


def lock_folder(folder: Path, what: str, wait: bool = False) -> Held:
    """Hold `folder` (through `<folder>.lock` beside it); BenchError if another process holds it, or with
    `wait`, once it is free."""
    held = Held()
    folder.parent.mkdir(parents=True, exist_ok=True)
    holder = _try_lock(folder.with_name(f"{folder.name}.lock"), held, wait)
    if holder is not None:
        raise BenchError(f"{folder} is in use by another {what} ({holder}): wait for it to end")
    return held


def _try_lock(path: Path, held: Held, wait: bool = False) -> str | None:
    """Lock `path` into `held`; None when locked, else who holds it (as its file says, if it can be read)."""
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd) if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else None
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise BenchError(f"cannot lock {path}: {exc.strerror}") from None
            return holder or "a process that did not say which"
        if _same_file(path, fd):
            break
        os.close(fd)  # its holder removed it as we opened it: lock the file now at the path
    held.files.append((path, fd))
    with suppress(OSError):  # who holds it, for the next run's refusal (a file of another user stays as is)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
    return None


def _same_file(path: Path, fd: int) -> bool:
    """Whether `path` still names the file open as `fd` (not removed, nor replaced)."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _open(path: Path) -> int:
    """The lock file, opened without following a symlink; created (readable by all) when missing."""
    for _ in range(3):
        for flags in (os.O_RDWR, os.O_RDONLY):  # another user's lock file: lockable, read-only
            try:
                return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                break
            except PermissionError:
                continue
            except OSError as exc:
                raise BenchError(f"cannot open the lock file {path}: {exc.strerror} (a symlink planted there?)"
                                 ) from None
        else:
            raise BenchError(f"cannot open the lock file {path}: permission denied")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            continue  # another run created it meanwhile: open theirs
        except OSError as exc:
            raise BenchError(f"cannot create the lock file {path}: {exc.strerror}") from None
        with suppress(OSError):
            os.fchmod(fd, 0o644)  # whatever the umask: other users' runs must be able to open it
        return fd
    raise BenchError(f"cannot open the lock file {path}")


def _holder(fd: int) -> str | None:
    with suppress(OSError):
        said = os.pread(fd, 100, 0).decode(errors="replace").strip()
        return said or None
    return None
