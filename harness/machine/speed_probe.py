"""How fast the benchmark's cores are right now: a fixed piece of CPU work, timed on each core.

A virtual machine's host can slow its guest with no sign inside it: the same work takes more CPU
time for minutes at a stretch, with no other process running and steal time at 0 in /proc/stat.
A run's absolute figures move with it, while ratios within a round do not (docs/measurements.md,
"The cores' own speed"). Foreign-CPU and run-queue-wait readings (harness.machine.disturbance) cannot see
this, since nothing on the machine takes the CPU: the work itself runs slower.

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
core halted: several times longer with idle cores halting than with them held polling
(harness.machine.idle_hold; docs/measurements.md).
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# A millisecond or two of interpreter work, the fastest of 9: short enough to time every CPU before every trial,
# long enough that back-to-back probes on a quiet machine agree within a few percent (docs/measurements.md).
PROBE_LOOPS = 50_000
PROBE_REPEATS = 9
METRIC_SUFFIX = "_speed_probe_ms"
WAKEUP_METRIC = "wakeup_round_trip_us"
WAKEUP_ROUND_TRIPS = 100  # with the pauses, tens of ms a trial
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


def role_probes(cpus_by_role: dict[str, list[int]]) -> dict[str, float]:
    """Per role with CPUs: the slowest of its CPUs' probes (a role is as slow as its slowest core)."""
    probes: dict[str, float] = {}
    for role, cpus in cpus_by_role.items():
        readings = [ms for ms in (probe_ms(cpu) for cpu in cpus) if ms is not None]
        if readings:
            probes[role] = max(readings)
    return probes


def speed_spread(values_ms: list[float]) -> float | None:
    """How much slower the slowest probe was than the fastest, in % of the fastest; None under two."""
    if len(values_ms) < 2 or min(values_ms) <= 0:
        return None
    return 100.0 * (max(values_ms) - min(values_ms)) / min(values_ms)


SLOW_PCT = 20.0  # a second this far above a core's fastest second is slow: 4x the probe's quiet spread
STEADY_WINDOW_S = 1.0  # readings are judged by the second: one reading can be hit by a tick or an interrupt


@dataclass(frozen=True)
class Steadiness:
    """One core's speed over a watch (scripts/host-speed.py), judged on the median probe of each second."""

    fastest_ms: float  # the fastest second's median
    median_ms: float
    slowest_ms: float  # the slowest second's median
    slow_share: float  # the share of seconds over SLOW_PCT above the fastest
    longest_slow_s: float  # the longest run of consecutive slow seconds


def steadiness(readings: list[tuple[float, float]], slow_pct: float = SLOW_PCT,
               window_s: float = STEADY_WINDOW_S) -> Steadiness:
    """`readings`: (time s, probe ms) in time order, at least one, grouped into windows of `window_s`."""
    if not readings:
        raise ValueError("steadiness needs at least one reading")
    windows: dict[int, list[float]] = {}
    for t_s, ms in readings:
        windows.setdefault(int(t_s // window_s), []).append(ms)
    medians = [statistics.median(windows[k]) for k in sorted(windows)]
    limit = min(medians) * (1 + slow_pct / 100)
    longest = run = 0
    for ms in medians:
        run = run + 1 if ms > limit else 0
        longest = max(longest, run)
    slow = sum(ms > limit for ms in medians)
    return Steadiness(min(medians), statistics.median(medians), max(medians), slow / len(medians),
                      longest * window_s)


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
