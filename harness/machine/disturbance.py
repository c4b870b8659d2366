"""Detect: how much of a role's CPUs went to something that is not the benchmark, per window.

foreign CPU = busy time of the role's CPUs (from /proc/stat) − CPU time of the benchmark's own
processes that run there (from /proc/<pid>/stat), as a percentage of those CPUs' capacity over
the window. Busy is user+nice+system+irq+softirq+steal: everything but idle and iowait. Steal
counts as foreign: it is time another virtual machine took from ours. Both figures come from
the kernel's tick accounting; without CONFIG_IRQ_TIME_ACCOUNTING a tick spent in softirq is
charged to the process it interrupted as well as to /proc/stat's softirq, so the benchmark's
own network processing is not counted as foreign. (With that option, part of it would be.)

A window is `disturbed` when others used over DISTURBED_PCT of a role's CPUs. A neighbour that
only fills the idle time of a server core takes no CPU time the server wanted, but it still moves
the figures: it slows the cross-core wake-up (a polling core notices a wake-up by itself, a busy
one needs a rescheduling interrupt, which on a virtual machine goes through the hypervisor), and
the figures of servers that are not saturated move with it while saturated ones barely do. The
server's run-queue wait does not show such a neighbour, so the wait is no part of the rule: a rule
that also required a wait let a run beside a busy loop go almost unflagged. The threshold sits
above what quiet runs read; the measurements behind this are in docs/measurements.md ("Neighbours").

The wait stays a figure of each window, for the reader: the run-queue wait of the role's
event-loop threads (the second field of /proc/<pid>/task/<pid>/schedstat, nanoseconds spent
runnable but not running; kernel Documentation/scheduler/sched-stats.rst; the main thread of each
process, not its helper threads: see read_wait_ns), summed over the processes, as a share of the
window (`<role>_cpu_wait_pct`). Part of that wait is the benchmark's own: Node's helper threads, the
database on the server's core, or the role's other processes run while the event loop is runnable
(a sizeable share of a quiet window for Express's loop, more beside PostgreSQL: docs/measurements.md).
For each main thread that part is at most the CPU time the benchmark's processes on
the role's CPUs spent outside that thread (its own run time is schedstat's first field), so
`<role>_unexplained_wait_pct`, each main thread's wait less that time (at least 0) summed, is the
wait only others can have caused.

A trial with a disturbed window is re-run up to MAX_RERUNS times, the discarded attempts kept
with why. Pure functions over parsed snapshots, plus thin readers of /proc/stat and schedstat.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from harness.results import Metric

DISTURBED_PCT = 10.0  # above this share of a role's CPUs taken by others, a window is disturbed
MAX_RERUNS = 2  # a disturbed trial is run at most this many more times
# /proc/stat columns (proc(5)): user nice system idle iowait irq softirq steal guest guest_nice.
# guest and guest_nice are already inside user and nice, so they are not added again.
BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)
TOTAL_COLUMNS = (0, 1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True, slots=True)  # one per CPU, role and tick: kept small
class CpuTicks:
    """Cumulative ticks (USER_HZ) of one CPU since boot."""

    busy: int
    total: int


def parse_proc_stat(text: str) -> dict[int, CpuTicks]:
    """Per-CPU busy and total ticks from /proc/stat's `cpuN` lines (the `cpu` sum line is skipped)."""
    cpus: dict[int, CpuTicks] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        values = [int(v) for v in rest.split()]
        values += [0] * (len(TOTAL_COLUMNS) - len(values))  # old kernels print fewer columns
        cpus[int(name[3:])] = CpuTicks(busy=sum(values[i] for i in BUSY_COLUMNS),
                                       total=sum(values[i] for i in TOTAL_COLUMNS))
    return cpus


def read_proc_stat(path: Path = Path("/proc/stat")) -> dict[int, CpuTicks]:
    return parse_proc_stat(path.read_text())


TICKS_PER_S = os.sysconf("SC_CLK_TCK")  # /proc/stat's unit, USER_HZ


@dataclass(frozen=True, slots=True)  # one per CPU, role and tick: kept small
class ProcessGroup:
    """The benchmark's processes of one kind, where they may run, and their cumulative CPU seconds."""

    cpus: frozenset[int]
    cpu_s: dict[int, float]  # pid -> utime+stime so far


@dataclass(frozen=True, slots=True)  # one per CPU, role and tick: kept small
class Snapshot:
    t_s: float
    cpus: dict[int, CpuTicks]
    groups: dict[str, ProcessGroup]  # e.g. "server", "loadgen", "harness"
    wait_ns: dict[str, dict[int, int]] = field(default_factory=dict)  # role -> thread id -> run-queue wait
    run_ns: dict[str, dict[int, int]] = field(default_factory=dict)  # role -> thread id -> time on a CPU


def window_wait_pct(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Per role whose threads were read at both ends: their run-queue wait as a percent of the window."""
    figures = {role: cpu_wait_pct(before.wait_ns[role], waits, after.t_s - before.t_s)
               for role, waits in after.wait_ns.items() if role in before.wait_ns}
    return {role: pct for role, pct in figures.items() if pct is not None}


def unexplained_wait_pct(before: Snapshot, after: Snapshot, cpus_by_role: dict[str, list[int]]) -> dict[str, float]:
    """Per role whose main threads' wait and run time were read at both ends: the wait the benchmark's own
    processes cannot explain, in percent of the window (see the module docstring).

    Per main thread: its wait less the CPU time every benchmark process on the role's CPUs spent outside
    that thread (the role's other processes too: Uvicorn workers or Locust processes queue for each
    other), at least 0; summed over the role's main threads, as the wait is."""
    found = {}
    for role, cpus in cpus_by_role.items():
        if not all(role in snap.run_ns and role in snap.wait_ns for snap in (before, after)):
            continue
        window_s = after.t_s - before.t_s
        if window_s <= 0:
            continue
        own_s = benchmark_cpu_s(before, after, cpus)
        unexplained_s = 0.0
        for tid, wait_ns in after.wait_ns[role].items():
            wait_s = max(0, wait_ns - before.wait_ns[role].get(tid, 0)) / 1e9
            run_s = max(0, after.run_ns[role].get(tid, 0) - before.run_ns[role].get(tid, 0)) / 1e9
            unexplained_s += max(0.0, wait_s - max(0.0, own_s - run_s))
        found[role] = 100.0 * unexplained_s / window_s
    return found


def benchmark_cpu_s(before: Snapshot, after: Snapshot, cpus: list[int]) -> float:
    """CPU seconds every benchmark process group allowed on any of `cpus` used between the snapshots."""
    return sum(own_cpu_s(before.groups[name].cpu_s, group.cpu_s) for name, group in after.groups.items()
               if name in before.groups and group.cpus & set(cpus))


def own_cpu_s(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes used between two snapshots.

    A process first seen in `after` started within the window: all its time counts. One gone
    from `after` exited: its last stretch is lost (and shows as foreign), a rare and small error.
    """
    return sum(max(0.0, cpu_s - before.get(pid, 0.0)) for pid, cpu_s in after.items())


def foreign_cpu_pct(before: Snapshot, after: Snapshot, cpus: list[int], ticks_per_s: float = TICKS_PER_S
                    ) -> float | None:
    """Percent of `cpus`' capacity over the window used by anything but the benchmark.

    Every benchmark process group allowed on any of these CPUs is subtracted in full: with the
    harness's pinning the groups' CPU sets are disjoint or equal, so that is exact. Clamped at 0:
    tick sampling can make the busy time a tick or two lower than the processes' own time.
    None when the window has no ticks (two snapshots within one tick).
    """
    total_ticks = sum(after.cpus[c].total - before.cpus[c].total for c in cpus)
    if total_ticks <= 0:
        return None
    busy_s = sum(after.cpus[c].busy - before.cpus[c].busy for c in cpus) / ticks_per_s
    own_s = benchmark_cpu_s(before, after, cpus)
    # to the µs, far below a tick: tick counts turned into seconds and subtracted leave float residue
    # (0.03 - 0.01 - 0.02 = 3.5e-18 s), a "foreign" reading that a ratio of two readings divides by
    foreign_s = round(busy_s - own_s, 6)
    return max(0.0, 100.0 * foreign_s / (total_ticks / ticks_per_s))


def window_snapshots(snapshots: list[Snapshot], start_s: float, end_s: float) -> tuple[Snapshot, Snapshot] | None:
    """The first and last snapshot inside [start_s, end_s): the stretch the figure covers."""
    inside = [s for s in snapshots if start_s <= s.t_s < end_s]
    return (inside[0], inside[-1]) if len(inside) >= 2 else None


def is_disturbed(foreign_pct: float | None, threshold_pct: float = DISTURBED_PCT) -> bool:
    """Others took over threshold_pct of the role's CPUs (see the module docstring for why the wait is
    not part of the rule)."""
    return foreign_pct is not None and foreign_pct > threshold_pct


def parse_schedstat(text: str) -> int:
    """The run-queue wait in nanoseconds: the second of /proc/<pid>/schedstat's three fields
    (time on the CPU, time waiting on a run queue, timeslices run; sched-stats.rst)."""
    return parse_schedstat_times(text)[1]


def parse_schedstat_times(text: str) -> tuple[int, int]:
    """(time on a CPU, time waiting on a run queue), in nanoseconds, of a schedstat line."""
    fields = text.split()
    if len(fields) < 3 or not all(f.isdigit() for f in fields[:3]):
        raise ValueError(f"not a schedstat line: {text!r}")
    return int(fields[0]), int(fields[1])


def read_wait_ns(pids: Iterable[int], proc: Path = Path("/proc")) -> dict[int, int]:
    """Thread id -> run-queue wait so far (ns) of each process's main thread (read_schedstat)."""
    return {tid: wait for tid, (_, wait) in read_schedstat(pids, proc).items()}


def read_schedstat(pids: Iterable[int], proc: Path = Path("/proc")) -> dict[int, tuple[int, int]]:
    """Thread id -> (time on a CPU, run-queue wait) so far (ns) of each process's main thread (tid == pid);
    a process gone meanwhile is skipped (its last stretch is lost, as in own_cpu_s).

    Only the main thread: it is the one that serves requests in every server here (Node's event loop,
    each Uvicorn worker's asyncio loop, a Locust process's gevent hub). Node also runs libuv's thread
    pool and V8's compiler and GC threads; summed with them, Express's wait grew with helper threads
    that serve no request, and a neighbour looked more harmful to Express than to FastAPI. With
    several workers, each worker process's main thread counts.
    """
    times: dict[int, tuple[int, int]] = {}
    for pid in pids:
        try:
            times[pid] = parse_schedstat_times((proc / str(pid) / "task" / str(pid) / "schedstat").read_text())
        except (OSError, ValueError):
            continue
    return times


def cpu_wait_pct(before: dict[int, int], after: dict[int, int], window_s: float) -> float | None:
    """The threads' run-queue wait between two readings, summed, as a percent of the window.

    A thread first seen in `after` started within the window: all its wait counts; one gone from
    `after` counts nothing. Summed over threads (one a process, read_wait_ns), so two worker
    processes waiting the whole window give 200%.
    None for an empty window.
    """
    if window_s <= 0:
        return None
    wait_ns = sum(max(0, ns - before.get(tid, 0)) for tid, ns in after.items())
    return 100.0 * wait_ns / 1e9 / window_s


@dataclass(frozen=True)
class DiscardedAttempt:
    """A trial attempt thrown away because a window was disturbed; kept in the results with why."""

    attempt: int  # 1-based
    reason: str  # e.g. "foreign CPU above 10%: server users=64 43.1%"
    foreign_cpu_pct: dict[str, float] = field(default_factory=dict)  # the disturbed windows, "role step" -> %


def should_rerun(disturbed: bool, attempt: int, max_reruns: int = MAX_RERUNS) -> bool:
    """Re-run a disturbed attempt while re-runs are left (attempt is 1-based)."""
    return disturbed and attempt <= max_reruns


@dataclass
class RerunBudget:
    """How many re-runs the next round gets: MAX_RERUNS, or none while a disturbance persists.

    A neighbour that runs for the whole run (a build, a second benchmark) disturbs every round alike,
    so re-running them would triple the run and measure the same neighbour again. Once a round is
    still disturbed after all its re-runs, later rounds are flagged but not re-run, until one runs
    undisturbed (the neighbour has gone): then re-runs resume.
    """

    max_reruns: int = MAX_RERUNS
    suspended: bool = False

    def reruns(self) -> int:
        return 0 if self.suspended else self.max_reruns

    def settle(self, kept_disturbed: bool, reruns_used: int) -> bool:
        """Update after a round; True when this round suspended the re-runs."""
        if not kept_disturbed:
            self.suspended = False
            return False
        newly = not self.suspended and self.max_reruns > 0 and reruns_used >= self.max_reruns
        self.suspended = self.suspended or newly
        return newly


def disturbance_reason(windows: dict[str, float], threshold_pct: float = DISTURBED_PCT) -> str:
    return f"foreign CPU above {threshold_pct:g}%: " + ", ".join(f"{w} {p:.1f}%" for w, p in windows.items())


FOREIGN_SUFFIX = "_foreign_cpu_pct"  # metric names: "<role>_foreign_cpu_pct", one per role and step
WAIT_SUFFIX = "_cpu_wait_pct"  # "<role>_cpu_wait_pct": the role's threads' run-queue wait, per step
UNEXPLAINED_SUFFIX = "_unexplained_wait_pct"  # "<role>_unexplained_wait_pct": the part others caused


def disturbed_windows(metrics: Iterable[Metric], threshold_pct: float = DISTURBED_PCT) -> dict[str, float]:
    """An outcome's disturbed windows, "<role> <step>" -> foreign CPU percent (for the re-run rule)."""
    return {f"{m.metric.removesuffix(FOREIGN_SUFFIX)} {m.step}": m.value for m in metrics
            if m.metric.endswith(FOREIGN_SUFFIX) and is_disturbed(m.value, threshold_pct)}


T = TypeVar("T")


def run_until_undisturbed(attempt: Callable[[int], T], disturbed_windows: Callable[[T], dict[str, float]],
                          max_reruns: int = MAX_RERUNS) -> tuple[T, list[DiscardedAttempt]]:
    """Run `attempt(n)` until one has no disturbed window or the re-runs are spent.

    `disturbed_windows` names an outcome's disturbed windows with their foreign CPU. The last
    attempt is kept even if disturbed (its windows stay flagged, so a reader sees it); each
    earlier one comes back as a DiscardedAttempt saying why.
    """
    discarded: list[DiscardedAttempt] = []
    number = 1
    while True:
        outcome = attempt(number)
        windows = disturbed_windows(outcome)
        if not should_rerun(bool(windows), number, max_reruns):
            return outcome, discarded
        discarded.append(DiscardedAttempt(attempt=number, reason=disturbance_reason(windows),
                                          foreign_cpu_pct=dict(windows)))
        number += 1
