"""psutil samplers: a background thread reading the server's and load generator's processes.

CPU% and RSS are cheap (one /proc read each) and sampled at the full rate; USS/PSS need
/proc/<pid>/smaps_rollup and are sampled every `full_memory_every` ticks. The thread measures
its own CPU time so the results can state the sampler's cost.

Given each role's CPUs, every tick also snapshots /proc/stat and the benchmark's cumulative
CPU times (harness.disturbance), so a window's foreign CPU can be computed afterwards, once
the load generator has said when the window was.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from harness.disturbance import (
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


@dataclass
class Reading:
    t_s: float  # time.time(), so readings line up with the load generator's window
    cpu_pct: float  # percent of one core, summed over the role's processes
    rss_mb: float
    uss_mb: float | None = None
    pss_mb: float | None = None
    per_process_cpu_pct: dict[int, float] = field(default_factory=dict)
    per_process_cpu_s: dict[int, float] = field(default_factory=dict)  # cumulative utime+stime


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
        self.snapshots: list[Snapshot] = []
        self._harness = psutil.Process()
        self._harness_cpus = frozenset(os.sched_getaffinity(0))
        self.interval_s = 1.0 / rate_hz
        self.full_memory_every = full_memory_every
        self.readings: dict[str, list[Reading]] = {name: [] for name in roles}
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
            for name, role in self.roles.items():
                self.readings[name].append(role.read(now, full))
            if self.cpus:
                self.snapshots.append(self._snapshot(now))
            tick += 1
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.perf_counter()))
        self.thread_cpu_s = time.thread_time() - start_cpu
        self.wall_s = time.perf_counter() - start_wall

    def _snapshot(self, now: float) -> Snapshot:
        """This tick's /proc/stat and the CPU seconds of every benchmark process, the harness included."""
        groups = {name: ProcessGroup(frozenset(self.cpus.get(name, ())), self.readings[name][-1].per_process_cpu_s)
                  for name in self.roles}
        times = self._harness.cpu_times()
        groups["harness"] = ProcessGroup(self._harness_cpus, {self._harness.pid: times.user + times.system})
        times = {name: read_schedstat(self.readings[name][-1].per_process_cpu_s) for name in self.cpus}
        return Snapshot(t_s=now, cpus=read_proc_stat(), groups=groups,
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
        cannot explain (harness.disturbance.unexplained_wait_pct), percent of the window."""
        span = window_snapshots(self.snapshots, start_s, end_s)
        return {} if span is None else unexplained_wait_pct(*span, self.cpus)

    @property
    def cost_pct(self) -> float:
        """The sampler thread's own CPU use, in percent of one core."""
        return 100.0 * self.thread_cpu_s / self.wall_s if self.wall_s else 0.0

    def window(self, role: str, start_s: float, end_s: float) -> list[Reading]:
        """Readings of one role inside [start_s, end_s) (time.time() seconds)."""
        return [r for r in self.readings[role] if start_s <= r.t_s < end_s]
