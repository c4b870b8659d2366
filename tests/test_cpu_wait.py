"""The time the server's threads waited for a CPU (run-queue wait from /proc/<pid>/task/<tid>/schedstat),
from constructed readings and on this machine, and the disturbed rule that no longer depends on it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from harness.machine.disturbance import (
    DISTURBED_PCT,
    cpu_wait_pct,
    disturbed_windows,
    parse_schedstat,
    read_wait_ns,
)
from harness.results import Metric


def test_the_second_field_of_schedstat_is_the_run_queue_wait() -> None:
    assert parse_schedstat("978599 45733 2\n") == 45733


@pytest.mark.parametrize("text", ["", "12", "a b c"])
def test_a_malformed_schedstat_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedstat(text)


def test_wait_is_the_threads_summed_wait_over_the_window() -> None:
    before = {10: 1_000_000_000, 11: 0}
    after = {10: 1_300_000_000, 11: 100_000_000, 12: 100_000_000}  # thread 12 started in the window
    # 0.3 + 0.1 + 0.1 s of waiting over a 2 s window
    assert cpu_wait_pct(before, after, 2.0) == pytest.approx(25.0)


def test_a_thread_gone_by_the_end_counts_nothing_and_wait_never_goes_negative() -> None:
    assert cpu_wait_pct({10: 5, 11: 9}, {10: 5}, 1.0) == 0.0


def test_no_window_no_figure() -> None:
    assert cpu_wait_pct({}, {}, 0.0) is None


def metrics(foreign: float, wait: float | None) -> list[Metric]:
    common = dict(target="fastapi", scenario="throughput", trial=1, step="users=64")
    found = [Metric(metric="server_foreign_cpu_pct", value=foreign, unit="%", **common)]
    if wait is not None:
        found.append(Metric(metric="server_cpu_wait_pct", value=wait, unit="%", **common))
    return found


def test_a_neighbour_filling_idle_time_is_a_disturbance_though_the_server_never_waited() -> None:
    # beside a busy loop on the server's core, unsaturated servers lost 20-29% with no wait to show for it
    assert disturbed_windows(metrics(foreign=40.0, wait=1.0)) == {"server users=64": 40.0}


def test_a_neighbour_the_server_waited_for_is_a_disturbance() -> None:
    assert disturbed_windows(metrics(foreign=40.0, wait=60.0)) == {"server users=64": 40.0}


def test_wait_without_foreign_cpu_is_the_servers_own_contention_not_a_disturbance() -> None:
    assert disturbed_windows(metrics(foreign=DISTURBED_PCT / 2, wait=60.0)) == {}
    assert disturbed_windows(metrics(foreign=DISTURBED_PCT, wait=None)) == {}  # at the threshold: not over


def test_a_run_without_the_wait_figure_is_judged_alike() -> None:
    assert disturbed_windows(metrics(foreign=40.0, wait=None)) == {"server users=64": 40.0}


def test_the_reader_sees_a_process_made_to_wait_by_a_busy_neighbour_on_its_cpu() -> None:
    cpu = min(os.sched_getaffinity(0))
    burn = [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"]
    first, second = subprocess.Popen(burn), subprocess.Popen(burn)
    try:
        time.sleep(0.3)
        before, t0 = read_wait_ns([first.pid]), time.monotonic()
        time.sleep(1.0)
        after, t1 = read_wait_ns([first.pid]), time.monotonic()
    finally:
        for p in (first, second):
            p.kill()
            p.wait()
    assert set(before) >= {first.pid}
    # two busy loops on one CPU: each waits about half the time (less if other CPUs steal one away)
    assert cpu_wait_pct(before, after, t1 - t0) > 10.0


def test_the_reader_skips_processes_that_are_gone() -> None:
    assert read_wait_ns([2**22 + 12345]) == {}


def test_a_windows_wait_comes_from_the_snapshots_at_its_ends() -> None:
    from harness.machine.disturbance import Snapshot, window_wait_pct

    before = Snapshot(t_s=10.0, cpus={}, groups={}, wait_ns={"server": {1: 0, 2: 0}, "loadgen": {3: 0}})
    after = Snapshot(t_s=12.0, cpus={}, groups={}, wait_ns={"server": {1: 400_000_000, 2: 100_000_000}})
    assert window_wait_pct(before, after) == {"server": pytest.approx(25.0)}  # 0.5 s over 2 s; loadgen unread


def test_the_sampler_records_the_wait_of_a_server_sharing_its_cpu_with_a_busy_loop() -> None:
    from harness.sampler import Sampler

    cpu = min(os.sched_getaffinity(0))
    burn = ["taskset", "--cpu-list", str(cpu), "sh", "-c", "while :; do :; done"]
    server, neighbour = subprocess.Popen(burn), subprocess.Popen(burn)
    try:
        with Sampler({"server": lambda: [server.pid]}, rate_hz=20, cpus={"server": [cpu]}) as sampler:
            start = time.time()
            time.sleep(1.5)
            end = time.time()
    finally:
        for p in (server, neighbour):
            p.kill()
            p.wait()
    assert sampler.cpu_wait_pct(start, end)["server"] > 10.0


def _schedstat_tree(root, threads: dict[int, dict[int, int]]):
    """A constructed /proc: pid -> {tid: run-queue wait ns}, as /proc/<pid>/task/<tid>/schedstat."""
    for pid, waits in threads.items():
        for tid, wait_ns in waits.items():
            task = root / str(pid) / "task" / str(tid)
            task.mkdir(parents=True)
            (task / "schedstat").write_text(f"1000 {wait_ns} 5\n")
    return root


def test_the_wait_is_read_from_each_processs_main_thread_only(tmp_path) -> None:
    # Node: the event loop (tid == pid) and libuv/V8 helper threads that wait a lot but serve nothing;
    # two worker processes: each one's main thread counts
    proc = _schedstat_tree(tmp_path, {100: {100: 5_000, 101: 900_000, 102: 800_000},
                                      200: {200: 7_000, 201: 600_000}})
    assert read_wait_ns([100, 200], proc) == {100: 5_000, 200: 7_000}


def test_a_process_whose_main_thread_is_unreadable_gives_nothing(tmp_path) -> None:
    proc = _schedstat_tree(tmp_path, {300: {301: 1_000}})  # its main thread gone (exited) meanwhile
    assert read_wait_ns([300], proc) == {}


def _snap(t_s: float, server_cpu_s: dict[int, float], database_cpu_s: dict[int, float], wait_ns: int, run_ns: int):
    from harness.machine.disturbance import ProcessGroup, Snapshot

    groups = {"server": ProcessGroup(frozenset({0}), server_cpu_s),
              "database": ProcessGroup(frozenset({0}), database_cpu_s),
              "loadgen": ProcessGroup(frozenset({1}), {9: 50.0 * t_s})}  # on another CPU: never explains
    return Snapshot(t_s=t_s, cpus={}, groups=groups, wait_ns={"server": {100: wait_ns}},
                    run_ns={"server": {100: run_ns}})


def test_wait_the_benchmarks_own_threads_explain_is_not_unexplained() -> None:
    from harness.machine.disturbance import benchmark_cpu_s, unexplained_wait_pct

    # 2 s window: the event loop ran 1.0 s and waited 0.3 s (15%); the server's process used 1.3 s in
    # all (0.3 s in helper threads) and the database beside it 0.2 s: 0.5 s (25%) of others' own time
    before = _snap(10.0, {100: 5.0}, {7: 1.0}, wait_ns=0, run_ns=0)
    after = _snap(12.0, {100: 6.3}, {7: 1.2}, wait_ns=300_000_000, run_ns=1_000_000_000)
    assert benchmark_cpu_s(before, after, [0]) == pytest.approx(1.5)  # the load generator's CPU 1 not counted
    assert unexplained_wait_pct(before, after, {"server": [0]}) == {"server": 0.0}
    # the same, but the loop waited 1.0 s (50%): 25 points of it only others can have caused
    harmed = _snap(12.0, {100: 6.3}, {7: 1.2}, wait_ns=1_000_000_000, run_ns=1_000_000_000)
    assert unexplained_wait_pct(before, harmed, {"server": [0]}) == {"server": pytest.approx(25.0)}


def test_processes_of_one_role_that_queue_for_each_other_explain_each_others_wait() -> None:
    from harness.machine.disturbance import ProcessGroup, Snapshot, unexplained_wait_pct

    # two worker processes on one CPU, each running 1 s and waiting 1 s of a 2 s window: their own doing
    def snap(t_s: float, cpu_s: float, ns: int) -> Snapshot:
        return Snapshot(t_s=t_s, cpus={}, groups={"server": ProcessGroup(frozenset({0}), {1: cpu_s, 2: cpu_s})},
                        wait_ns={"server": {1: ns, 2: ns}}, run_ns={"server": {1: ns, 2: ns}})

    assert unexplained_wait_pct(snap(0.0, 0.0, 0), snap(2.0, 1.0, 10**9), {"server": [0]}) == {"server": 0.0}


def test_the_disturbed_rule_ignores_the_unexplained_wait_too() -> None:
    from harness.machine.disturbance import disturbed_windows

    common = {"target": "express", "scenario": "throughput", "trial": 1, "step": "users=64", "unit": "%"}

    def window(foreign: float, wait: float, unexplained: float) -> list[Metric]:
        return [Metric(metric="server_foreign_cpu_pct", value=foreign, **common),
                Metric(metric="server_cpu_wait_pct", value=wait, **common),
                Metric(metric="server_unexplained_wait_pct", value=unexplained, **common)]

    assert disturbed_windows(window(40.0, 12.0, 1.0)) == {"server users=64": 40.0}
    assert disturbed_windows(window(40.0, 45.0, 33.0)) == {"server users=64": 40.0}
    assert disturbed_windows(window(4.0, 45.0, 33.0)) == {}


def test_the_sampler_tells_an_unprotected_neighbour_from_the_servers_own_threads() -> None:
    from harness.sampler import Sampler

    cpu = min(os.sched_getaffinity(0))
    # the "server": a busy main thread and a busy child in its own tree, on one CPU: its main thread
    # waits about half the time, all of it for its own child
    server = subprocess.Popen(["taskset", "--cpu-list", str(cpu), "sh", "-c",
                               "(while :; do :; done) & while :; do :; done"])

    def tree() -> list[int]:
        return [server.pid, *(c.pid for c in psutil.Process(server.pid).children())]

    def measure() -> tuple[float, float]:
        with Sampler({"server": tree}, rate_hz=20, cpus={"server": [cpu]}) as sampler:
            start = time.time()
            time.sleep(1.5)
            end = time.time()
        return sampler.cpu_wait_pct(start, end)["server"], sampler.unexplained_wait_pct(start, end)["server"]

    try:
        time.sleep(0.2)  # the child forked
        wait_alone, unexplained_alone = measure()
        neighbour = subprocess.Popen(["taskset", "--cpu-list", str(cpu), "sh", "-c", "while :; do :; done"])
        try:
            _, unexplained_beside = measure()
        finally:
            neighbour.kill()
            neighbour.wait()
    finally:
        for child in psutil.Process(server.pid).children(recursive=True):
            child.kill()
        server.kill()
        server.wait()
    # Relative assertions, so that other load on this CPU (a busy CI machine) does not decide them:
    # most of the wait alone is the server's own child's doing, and a neighbour adds unexplained wait.
    assert wait_alone - unexplained_alone > 20.0
    assert unexplained_beside > unexplained_alone + 5.0
