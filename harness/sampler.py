"""psutil samplers: a background thread reading the server's and load generator's processes.

CPU% and RSS are cheap (one /proc read each) and sampled at the full rate; USS/PSS need
/proc/<pid>/smaps_rollup and are sampled every `full_memory_every` ticks. The thread measures
its own CPU time so the results can state the sampler's cost.

Given each role's CPUs, every tick also snapshots /proc/stat (those CPUs' lines) and the benchmark's
cumulative CPU times (harness.machine.disturbance), so a window's foreign CPU can be computed afterwards, once
the load generator has said when the window was.

Memory is bounded by configuration, not by a trial's length: readings are kept compact (ReadingLog,
about 100 bytes a role and tick), and both series are capped (MAX_READINGS, MAX_SNAPSHOTS): past the
cap every other entry is dropped and the series goes on at half the rate, so it still spans the whole
trial. Readings are whole in every shipped profile at 10 Hz. Snapshots (a few kB each) are whole for
trials up to 102 s at 10 Hz; a longer one (`full`'s concurrency, realtime and memory trials) keeps every
2nd or 4th, so a window's foreign CPU and wait are read from at most 0.3 s inside its edges, in windows
of 15 s and more.
"""

from __future__ import annotations

import math
import os
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, overload

import psutil

from harness.machine.disturbance import (
    ProcessGroup,
    Snapshot,
    foreign_cpu_pct,
    read_proc_stat,
    read_schedstat,
    unexplained_wait_pct,
    window_snapshots,
    window_wait_pct,
)

MB = 1_000_000  # the results use MB = 10^6 bytes; MiB appear only where named so
PID_REFRESH_S = 1.0  # how often a role's process tree is re-read (workers may fork late); a walk costs ~1 ms
# Readings a role keeps (1.8 hours at 10 Hz, about 6 MB) and snapshots kept (102 s at 10 Hz: a snapshot
# holds per-process dicts, about 4 kB on 2 CPUs); see the module's docstring for what happens past them.
MAX_READINGS = 65_536
MAX_SNAPSHOTS = 1_024
T = TypeVar("T")


@dataclass
class Reading:
    t_s: float  # time.time(), so readings line up with the load generator's window
    cpu_pct: float  # percent of one core, summed over the role's processes
    rss_mb: float
    uss_mb: float | None = None
    pss_mb: float | None = None
    per_process_cpu_pct: dict[int, float] = field(default_factory=dict)
    per_process_cpu_s: dict[int, float] = field(default_factory=dict)  # cumulative utime+stime


class ThinnedList(list[T]):
    """A list of at most `cap` entries of an evenly spaced series: once full, every other entry is
    dropped and from then on only every `stride`-th one offered is kept. A series up to `cap` is whole.
    Dropping is one `del` of a slice, atomic for a reader in another thread."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = max(2, cap - cap % 2)
        self.stride = 1
        self.offered = 0

    def append(self, item: T) -> None:
        n, self.offered = self.offered, self.offered + 1
        if n % self.stride:
            return
        if len(self) >= self.cap:
            del self[1::2]  # keeps entries n' with n' % (2 * stride) == 0
            self.stride *= 2
            if n % self.stride:
                return
        super().append(item)


class _DictColumn:
    """One pid -> value dict per entry, compact: its keys as a tuple shared with the previous entry's
    when equal (a role's processes rarely change), its values in one array of doubles."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, ...]] = []
        self.starts = array("q")
        self.values = array("d")

    def append(self, values: dict[int, float]) -> None:
        keys = tuple(values)
        if self.keys and self.keys[-1] == keys:
            keys = self.keys[-1]
        self.keys.append(keys)
        self.starts.append(len(self.values))
        self.values.extend(values.values())

    def get(self, index: int) -> dict[int, float]:
        keys, start = self.keys[index], self.starts[index]
        return dict(zip(keys, self.values[start:start + len(keys)], strict=True))

    def every_other(self) -> _DictColumn:
        """Entries 0, 2, 4, ... (no dict made on the way)."""
        kept = _DictColumn()
        for index in range(0, len(self.keys), 2):
            keys, start = self.keys[index], self.starts[index]
            kept.keys.append(keys)
            kept.starts.append(len(kept.values))
            kept.values.extend(self.values[start:start + len(keys)])
        return kept


class ReadingLog(Sequence[Reading]):
    """One role's readings, compact (columns of doubles: about 100 bytes a reading against about 800 as
    objects) and at most `cap` of them, thinned as ThinnedList is. Readings come back as Reading objects,
    made when asked; appending and reading may happen in different threads."""

    def __init__(self, cap: int = MAX_READINGS) -> None:
        self.cap = max(2, cap - cap % 2)
        self.stride = 1
        self.offered = 0
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._columns = {name: array("d") for name in ("t_s", "cpu_pct", "rss_mb", "uss_mb", "pss_mb")}
        self._cpu_pct = _DictColumn()
        self._cpu_s = _DictColumn()

    def append(self, reading: Reading) -> None:
        with self._lock:
            n, self.offered = self.offered, self.offered + 1
            if n % self.stride:
                return
            if len(self._columns["t_s"]) >= self.cap:
                self._columns = {name: column[::2] for name, column in self._columns.items()}
                self._cpu_pct, self._cpu_s = self._cpu_pct.every_other(), self._cpu_s.every_other()
                self.stride *= 2
                if n % self.stride:
                    return
            self._add(reading)

    def _add(self, r: Reading) -> None:
        for name, value in (("t_s", r.t_s), ("cpu_pct", r.cpu_pct), ("rss_mb", r.rss_mb),
                            ("uss_mb", math.nan if r.uss_mb is None else r.uss_mb),
                            ("pss_mb", math.nan if r.pss_mb is None else r.pss_mb)):
            self._columns[name].append(value)
        self._cpu_pct.append(r.per_process_cpu_pct)
        self._cpu_s.append(r.per_process_cpu_s)  # the time column grows first, the dicts last: see __len__

    def _get(self, index: int) -> Reading:
        c = self._columns
        uss, pss = c["uss_mb"][index], c["pss_mb"][index]
        return Reading(t_s=c["t_s"][index], cpu_pct=c["cpu_pct"][index], rss_mb=c["rss_mb"][index],
                       uss_mb=None if math.isnan(uss) else uss, pss_mb=None if math.isnan(pss) else pss,
                       per_process_cpu_pct=self._cpu_pct.get(index), per_process_cpu_s=self._cpu_s.get(index))

    def __len__(self) -> int:
        return len(self._cpu_s.keys)

    @overload
    def __getitem__(self, index: int) -> Reading: ...
    @overload
    def __getitem__(self, index: slice) -> list[Reading]: ...
    def __getitem__(self, index: int | slice) -> Reading | list[Reading]:
        with self._lock:
            size = len(self)
            if isinstance(index, slice):
                return [self._get(i) for i in range(*index.indices(size))]
            if not -size <= index < size:
                raise IndexError("reading index out of range")
            return self._get(index % size)

    def __iter__(self) -> Iterator[Reading]:
        return iter(self[:])

    def window(self, start_s: float, end_s: float) -> list[Reading]:
        """The readings inside [start_s, end_s)."""
        return list(self.iter_window(start_s, end_s))

    def iter_window(self, start_s: float, end_s: float) -> Iterator[Reading]:
        """The readings inside [start_s, end_s), made one at a time: times only grow, so two bisections
        find them (the log is not appended to once its sampler has stopped)."""
        with self._lock:
            times = self._columns["t_s"]
            first, end = bisect_left(times, start_s, hi=len(self)), bisect_left(times, end_s, hi=len(self))
        for index in range(first, end):
            with self._lock:
                yield self._get(index)


def tree_memory(pids: list[int]) -> tuple[float, float]:
    """Summed RSS and USS in bytes over a process tree (USS: memory no other process shares)."""
    rss = uss = 0
    for pid in pids:
        try:
            info = psutil.Process(pid).memory_full_info()
        except psutil.Error:
            continue
        rss, uss = rss + info.rss, uss + info.uss
    return float(rss), float(uss)


class _Role:
    """The processes of one role, as psutil objects kept across ticks (cpu_percent needs that)."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.processes: dict[int, psutil.Process] = {}
        self.refreshed_at = 0.0

    def refresh(self, now: float) -> None:
        if now - self.refreshed_at < PID_REFRESH_S and self.processes:
            return
        self.refreshed_at = now
        current = set(self.pids())
        for pid in list(self.processes):
            if pid not in current:
                del self.processes[pid]
        for pid in current - set(self.processes):
            try:
                process = psutil.Process(pid)
                process.cpu_percent(None)  # first call primes the counter and returns 0
                self.processes[pid] = process
            except psutil.Error:
                pass

    def read(self, now: float, full_memory: bool) -> Reading:
        self.refresh(now)
        cpu: dict[int, float] = {}
        cpu_s: dict[int, float] = {}
        rss = uss = pss = 0
        for pid, process in list(self.processes.items()):
            try:
                with process.oneshot():
                    cpu[pid] = process.cpu_percent(None)
                    times = process.cpu_times()  # read once with cpu_percent's, inside oneshot
                    cpu_s[pid] = times.user + times.system
                    if full_memory:
                        info = process.memory_full_info()
                        rss, uss, pss = rss + info.rss, uss + info.uss, pss + getattr(info, "pss", 0)
                    else:
                        rss += process.memory_info().rss
            except psutil.Error:
                continue
        return Reading(
            t_s=now,
            cpu_pct=sum(cpu.values()),
            rss_mb=rss / MB,
            uss_mb=uss / MB if full_memory else None,
            pss_mb=pss / MB if full_memory else None,
            per_process_cpu_pct=cpu,
            per_process_cpu_s=cpu_s,
        )


class Sampler:
    """Samples named roles at `rate_hz` until stopped; use as a context manager."""

    def __init__(self, roles: dict[str, Callable[[], list[int]]], rate_hz: float = 10.0, full_memory_every: int = 10,
                 cpus: dict[str, list[int]] | None = None):
        self.roles = {name: _Role(pids) for name, pids in roles.items()}
        self.cpus = cpus or {}  # role -> its pinned CPUs; without them no foreign CPU is computed
        self._read_cpus = frozenset(cpu for role_cpus in self.cpus.values() for cpu in role_cpus)
        self._role_cpus = {name: frozenset(self.cpus.get(name, ())) for name in roles}  # shared by every snapshot
        self.snapshots: ThinnedList[Snapshot] = ThinnedList(MAX_SNAPSHOTS)
        self._harness = psutil.Process()
        self._harness_cpus = frozenset(os.sched_getaffinity(0))
        self.interval_s = 1.0 / rate_hz
        self.full_memory_every = full_memory_every
        # A role's ReadingLog; a plain list where a caller puts readings of its own (a remote engine's).
        self.readings: dict[str, Sequence[Reading]] = {name: ReadingLog() for name in roles}
        self.thread_cpu_s = 0.0
        self.wall_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        start_wall, start_cpu = time.perf_counter(), time.thread_time()
        tick = 0
        next_at = start_wall
        while not self._stop.is_set():
            now = time.time()
            full = tick % self.full_memory_every == 0
            latest = {name: role.read(now, full) for name, role in self.roles.items()}
            for name, reading in latest.items():
                self.readings[name].append(reading)  # type: ignore[attr-defined]
            if self.cpus:
                self.snapshots.append(self._snapshot(now, latest))
            tick += 1
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.perf_counter()))
        self.thread_cpu_s = time.thread_time() - start_cpu
        self.wall_s = time.perf_counter() - start_wall

    def _snapshot(self, now: float, latest: dict[str, Reading]) -> Snapshot:
        """This tick's /proc/stat (the roles' CPUs: the only ones a window's figures read) and the CPU
        seconds of every benchmark process, the harness included."""
        groups = {name: ProcessGroup(self._role_cpus[name], latest[name].per_process_cpu_s) for name in self.roles}
        times = self._harness.cpu_times()
        groups["harness"] = ProcessGroup(self._harness_cpus, {self._harness.pid: times.user + times.system})
        times = {name: read_schedstat(latest[name].per_process_cpu_s) for name in self.cpus if name in latest}
        cpus = {cpu: ticks for cpu, ticks in read_proc_stat().items() if cpu in self._read_cpus}
        return Snapshot(t_s=now, cpus=cpus, groups=groups,
                        wait_ns={name: {tid: wait for tid, (_, wait) in t.items()} for name, t in times.items()},
                        run_ns={name: {tid: run for tid, (run, _) in t.items()} for name, t in times.items()})

    def foreign_cpu_pct(self, start_s: float, end_s: float) -> dict[str, float]:
        """Per role with known CPUs: percent of them used by others in [start_s, end_s)."""
        span = window_snapshots(self.snapshots, start_s, end_s)
        if span is None:
            return {}
        figures = {role: foreign_cpu_pct(*span, cpus) for role, cpus in self.cpus.items()}
        return {role: pct for role, pct in figures.items() if pct is not None}

    def cpu_wait_pct(self, start_s: float, end_s: float) -> dict[str, float]:
        """Per role with known CPUs: its threads' run-queue wait in [start_s, end_s), percent of the window."""
        span = window_snapshots(self.snapshots, start_s, end_s)
        return {} if span is None else window_wait_pct(*span)

    def unexplained_wait_pct(self, start_s: float, end_s: float) -> dict[str, float]:
        """Per role with known CPUs: the part of its threads' wait that the benchmark's own processes
        cannot explain (harness.machine.disturbance.unexplained_wait_pct), percent of the window."""
        span = window_snapshots(self.snapshots, start_s, end_s)
        return {} if span is None else unexplained_wait_pct(*span, self.cpus)

    @property
    def cost_pct(self) -> float:
        """The sampler thread's own CPU use, in percent of one core."""
        return 100.0 * self.thread_cpu_s / self.wall_s if self.wall_s else 0.0

    def window(self, role: str, start_s: float, end_s: float) -> list[Reading]:
        """Readings of one role inside [start_s, end_s) (time.time() seconds)."""
        return list(self.iter_window(role, start_s, end_s))

    def iter_window(self, role: str, start_s: float, end_s: float) -> Iterator[Reading]:
        """`window`, one reading at a time."""
        readings = self.readings[role]
        if isinstance(readings, ReadingLog):
            return readings.iter_window(start_s, end_s)
        return (r for r in readings if start_s <= r.t_s < end_s)
