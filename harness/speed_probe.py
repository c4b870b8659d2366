"""How fast the benchmark's cores are right now: a fixed piece of CPU work, timed on each core.

A virtual machine's host can slow its guest with no sign inside it. On the 2-core VM this harness
was built on, plain Locust's CPU time per request (scripts/loadgen-overhead.py) went from 142 to
100 µs within an hour on 2026-11-29, with no other process running and steal time at 0 in
/proc/stat; a run's absolute figures moved with it (Express's throughput 5,974 → 8,750 req/s
between two quick runs 15 minutes apart), while ratios within a round did not. Foreign-CPU and
run-queue-wait readings (harness.disturbance) cannot see this, since nothing on the machine
takes the CPU: the work itself runs slower.

So before every trial, with no server or Locust running (PostgreSQL, kept for the whole run, idles
on the server's CPUs), the harness times the same work on each of the server's and the load
generator's CPUs where they are this machine's (not a remote Docker engine's, not other hosts' Locust
workers), in this thread's own CPU time (time.thread_time, so time spent waiting for the CPU does
not count; what a slower host does to each instruction does), the fastest of PROBE_REPEATS. The
run records it per trial as `<role>_speed_probe_ms`, and says how far it moved over the run. It is
a reading, not a correction: no figure is scaled by it.

The second reading, `wakeup_round_trip_us`, is how long one byte takes from a thread on the load
generator's first CPU to a thread on the server's first CPU and back (a socketpair; the median of
WAKEUP_ROUND_TRIPS, with a pause after each so the far core goes idle, as between requests). Every
request of a load test makes that crossing, and on a virtual machine it depends on whether the far
core halted: on the 2-core VM this was built on, 108-115 µs with idle cores halting, 16-17 µs with
them held polling (harness.idle_hold), readings of 200 round trips on 2026-11-29.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# About 1.7 ms of interpreter work on a 2.6 GHz Xeon core, the fastest of 9: 30 back-to-back probes on
# the quiet 2-core VM spread by 4-5% (the fastest of 3 runs of 3.5 ms: up to 11%). About 15 ms a CPU.
PROBE_LOOPS = 50_000
PROBE_REPEATS = 9
METRIC_SUFFIX = "_speed_probe_ms"
WAKEUP_METRIC = "wakeup_round_trip_us"
# The watch during the load (SpeedWatch): a tenth of the probe's work, about 0.2 ms, every 0.1 s on each
# role's CPUs (0.2% of a core). Its reference is the fastest of WATCH_REPEATS with nothing running.
WATCH_LOOPS = 5_000
WATCH_REPEATS = 9
WATCH_INTERVAL_S = 0.1
WATCH_MIN_READINGS = 3  # a window with fewer readings gets no slowdown figure
WATCH_REFERENCE_SUFFIX = "_watch_reference_ms"  # per trial: the reference its windows' slowdown is against
SLOWDOWN_SUFFIX = "_slowdown_pct"  # "<role>_slowdown_pct": how much slower the watch ran in a window
WAKEUP_ROUND_TRIPS = 100  # with the pauses, 30-45 ms a trial (about 3 s of a 90-trial run)
WAKEUP_PAUSE_S = 0.0002  # after each round trip: long enough for the far core to go idle


def _work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i
    return total


@contextmanager
def _pinned(cpu: int) -> Iterator[bool]:
    """This thread on `cpu` for the block (True), or left where it was where it may not run there
    (False); its own CPU set is restored after."""
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})  # pid 0: this thread only (Linux)
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        os.sched_setaffinity(0, before)


def probe_ms(cpu: int, loops: int = PROBE_LOOPS, repeats: int = PROBE_REPEATS) -> float | None:
    """This thread's CPU time, in ms, for the fixed work on `cpu` (the fastest of `repeats`); None where
    the thread may not run there (a CPU set that excludes it). The thread's own CPU set is restored."""
    with _pinned(cpu) as pinned:
        if not pinned:
            return None
        best_ns = None
        for _ in range(repeats):
            start_ns = time.thread_time_ns()
            _work(loops)
            elapsed_ns = time.thread_time_ns() - start_ns
            best_ns = elapsed_ns if best_ns is None else min(best_ns, elapsed_ns)
        return best_ns / 1e6 if best_ns else None


def role_probes(cpus_by_role: dict[str, list[int]], loops: int = PROBE_LOOPS,
                repeats: int = PROBE_REPEATS) -> dict[str, float]:
    """Per role with CPUs: the slowest of its CPUs' probes (a role is as slow as its slowest core)."""
    probes: dict[str, float] = {}
    for role, cpus in cpus_by_role.items():
        readings = [ms for ms in (probe_ms(cpu, loops, repeats) for cpu in cpus) if ms is not None]
        if readings:
            probes[role] = max(readings)
    return probes


def watch_reference_ms(cpus_by_role: dict[str, list[int]]) -> dict[str, float]:
    """Per role: the watch's work, timed the fastest of WATCH_REPEATS on each CPU with nothing running."""
    return role_probes(cpus_by_role, WATCH_LOOPS, WATCH_REPEATS)


class SpeedWatch:
    """Times the watch's work on each given CPU every `interval_s` while a load runs, one pinned thread
    a CPU, so a window can say how fast its cores ran (window_ms) while it ran, not just before.

    The probe before each trial is a snapshot: on the VM this was built on, the host's slow spells
    came and went within a trial (2026-12-06: FastAPI's cpu trial needed 8,287 µs of server CPU per
    request against 5,535-5,837 in the other four, at 100% CPU, no foreign CPU, its probe before it
    fast). Each reading is the thread's own CPU time (time.thread_time), so waiting for the busy
    server's core does not count; what the host does to each instruction does."""

    def __init__(self, cpus_by_role: dict[str, list[int]], interval_s: float = WATCH_INTERVAL_S,
                 loops: int = WATCH_LOOPS) -> None:
        self.cpus_by_role = cpus_by_role
        self.interval_s, self.loops = interval_s, loops
        self.readings: dict[int, list[tuple[float, float]]] = {}  # cpu -> (time.time(), ms)
        self._stop = threading.Event()
        cpus = sorted({cpu for cpus in cpus_by_role.values() for cpu in cpus})
        self._threads = [threading.Thread(target=self._watch, args=(cpu,), name=f"speed-watch-{cpu}", daemon=True)
                         for cpu in cpus]

    def __enter__(self) -> SpeedWatch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _watch(self, cpu: int) -> None:
        with _pinned(cpu) as pinned:
            readings = self.readings.setdefault(cpu, []) if pinned else []
            while pinned and not self._stop.wait(self.interval_s):
                start_ns = time.thread_time_ns()
                _work(self.loops)
                readings.append((time.time(), (time.thread_time_ns() - start_ns) / 1e6))

    def window_ms(self, start_s: float, end_s: float) -> dict[str, float]:
        """Per role: the median reading in [start_s, end_s) of its slowest CPU (time.time() seconds); a role
        with a CPU of fewer than WATCH_MIN_READINGS readings there gets none."""
        found = {}
        for role, cpus in self.cpus_by_role.items():
            medians = [_median_in(self.readings.get(cpu, []), start_s, end_s) for cpu in cpus]
            if cpus and all(m is not None for m in medians):
                found[role] = max(m for m in medians if m is not None)
        return found


def _median_in(readings: list[tuple[float, float]], start_s: float, end_s: float) -> float | None:
    inside = [ms for t_s, ms in readings if start_s <= t_s < end_s]
    return statistics.median(inside) if len(inside) >= WATCH_MIN_READINGS else None


def slowdown_pct(window_ms: dict[str, float], reference_ms: dict[str, float]) -> dict[str, float]:
    """Per role with both: how much longer the watch's work took in the window than its reference, in %
    (negative: faster)."""
    return {role: 100.0 * (ms / reference_ms[role] - 1) for role, ms in window_ms.items()
            if reference_ms.get(role, 0) > 0}


def speed_spread(values_ms: list[float]) -> float | None:
    """How much slower the slowest probe was than the fastest, in % of the fastest; None under two."""
    if len(values_ms) < 2 or min(values_ms) <= 0:
        return None
    return 100.0 * (max(values_ms) - min(values_ms)) / min(values_ms)


def wakeup_round_trip_us(near_cpu: int, far_cpu: int, round_trips: int = WAKEUP_ROUND_TRIPS,
                         pause_s: float = WAKEUP_PAUSE_S) -> float | None:
    """The median time, in µs, for one byte to go from this thread on `near_cpu` to a thread on `far_cpu`
    and back; None where a thread may not run on its CPU. This thread's CPU set is restored."""
    near, far = socket.socketpair()
    ready = threading.Event()
    failed: list[bool] = []

    def echo() -> None:
        with _pinned(far_cpu) as pinned:
            if not pinned:
                failed.append(True)
            ready.set()
            while (byte := far.recv(1)) and byte != b"q":
                far.send(byte)

    thread = threading.Thread(target=echo, name="wakeup-probe", daemon=True)
    thread.start()
    ready.wait()
    times_ns: list[int] = []
    try:
        with _pinned(near_cpu) as pinned:
            for _ in range(round_trips if pinned and not failed else 0):
                start_ns = time.perf_counter_ns()
                near.send(b"x")
                near.recv(1)
                times_ns.append(time.perf_counter_ns() - start_ns)
                time.sleep(pause_s)
    except OSError:
        times_ns = []
    finally:
        near.send(b"q")
        thread.join()
        near.close()
        far.close()
    return statistics.median(times_ns) / 1e3 if times_ns else None


def role_wakeup_us(cpus_by_role: dict[str, list[int]]) -> float | None:
    """The load generator's first CPU to the server's first and back, where both are this machine's."""
    if not cpus_by_role.get("server") or not cpus_by_role.get("loadgen"):
        return None
    return wakeup_round_trip_us(cpus_by_role["loadgen"][0], cpus_by_role["server"][0])
