"""Foreign CPU from constructed /proc/stat samples, the disturbed threshold, and the re-run rule."""

from __future__ import annotations

import pytest

from harness.machine.disturbance import (
    DISTURBED_PCT,
    MAX_RERUNS,
    CpuTicks,
    DiscardedAttempt,
    ProcessGroup,
    Snapshot,
    foreign_cpu_pct,
    is_disturbed,
    own_cpu_s,
    parse_proc_stat,
    read_proc_stat,
    run_until_undisturbed,
    should_rerun,
    window_snapshots,
)

HZ = 100


def proc_stat(cpu0: str, cpu1: str = "0 0 0 0 0 0 0 0 0 0") -> str:
    """/proc/stat text; per CPU: user nice system idle iowait irq softirq steal guest guest_nice."""
    return f"cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 {cpu0}\ncpu1 {cpu1}\nintr 401509 0 0\nctxt 1\nbtime 1700000000\n"


def test_busy_is_everything_but_idle_and_iowait_and_guest_is_not_counted_twice() -> None:
    cpus = parse_proc_stat(proc_stat("100 10 20 1000 50 3 4 5 60 6", "1 0 0 2 0 0 0 0"))
    assert sorted(cpus) == [0, 1]  # the `cpu` sum line is skipped
    assert cpus[0] == CpuTicks(busy=100 + 10 + 20 + 3 + 4 + 5, total=100 + 10 + 20 + 1000 + 50 + 3 + 4 + 5)
    assert cpus[1] == CpuTicks(busy=1, total=3)


def test_an_old_kernels_shorter_lines_are_read() -> None:
    assert parse_proc_stat("cpu0 5 0 5 90\n")[0] == CpuTicks(busy=10, total=100)


def test_the_reader_reads_this_machine() -> None:
    cpus = read_proc_stat()
    assert cpus and all(t.total >= t.busy >= 0 for t in cpus.values())


def snapshot(t_s: float, cpu0: str, cpu1: str = "0 0 0 0 0 0 0 0", **groups: ProcessGroup) -> Snapshot:
    return Snapshot(t_s=t_s, cpus=parse_proc_stat(proc_stat(cpu0, cpu1)), groups=groups)


def server(**cpu_s: float) -> ProcessGroup:
    return ProcessGroup(cpus=frozenset({0}), cpu_s={int(pid[1:]): s for pid, s in cpu_s.items()})


def loadgen(**cpu_s: float) -> ProcessGroup:
    return ProcessGroup(cpus=frozenset({1}), cpu_s={int(pid[1:]): s for pid, s in cpu_s.items()})


def test_a_neighbour_taking_half_the_servers_core_is_50_percent_foreign() -> None:
    # 5 s at 100 ticks/s on cpu0: 500 ticks, all busy; the server used 2.5 s of them.
    before = snapshot(0.0, "1000 0 0 1000 0 0 0 0", server=server(p10=7.0, p11=1.0))
    after = snapshot(5.0, "1450 0 40 1000 0 0 10 0", server=server(p10=8.5, p11=2.0))
    assert foreign_cpu_pct(before, after, [0], HZ) == pytest.approx(50.0)


def test_a_quiet_core_busy_only_with_the_benchmark_is_zero_and_idle_iowait_do_not_count() -> None:
    before = snapshot(0.0, "0 0 0 0 0 0 0 0", server=server(p10=0.0))
    after = snapshot(5.0, "200 0 50 200 50 0 0 0", server=server(p10=2.5))
    assert foreign_cpu_pct(before, after, [0], HZ) == pytest.approx(0.0)


def test_tick_rounding_below_the_processes_own_time_is_clamped_at_zero() -> None:
    before = snapshot(0.0, "0 0 0 0 0 0 0 0", server=server(p10=0.0))
    after = snapshot(5.0, "248 0 0 252 0 0 0 0", server=server(p10=2.5))
    assert foreign_cpu_pct(before, after, [0], HZ) == 0.0


def test_a_core_busy_only_with_the_benchmark_reads_exactly_zero_not_a_float_residue() -> None:
    # 0.03 - 0.01 is 0.019999999999999997 in floats, 2 ticks are 0.02 s: a 3.5e-18 s "foreign" residue,
    # which a ratio of two such readings once turned into 90,071,992,547,413x in the terminal.
    before = snapshot(0.0, "0 0 0 0 0 0 0 0", server=server(p10=0.01))
    after = snapshot(1.0, "2 0 0 98 0 0 0 0", server=server(p10=0.03))
    assert foreign_cpu_pct(before, after, [0], HZ) == 0.0


def test_steal_is_foreign_time() -> None:
    before = snapshot(0.0, "0 0 0 0 0 0 0 0", server=server(p10=0.0))
    after = snapshot(5.0, "250 0 0 150 0 0 0 100", server=server(p10=2.5))
    assert foreign_cpu_pct(before, after, [0], HZ) == pytest.approx(20.0)


def test_only_the_groups_on_the_roles_cpus_are_subtracted() -> None:
    # The load generator's 4 s ran on cpu1: subtracting it from cpu0 would hide the neighbour.
    before = snapshot(0.0, "0 0 0 0 0 0 0 0", "0 0 0 0 0 0 0 0", server=server(p10=0.0), loadgen=loadgen(p20=0.0))
    after = snapshot(5.0, "500 0 0 0 0 0 0 0", "400 0 0 100 0 0 0 0", server=server(p10=2.5), loadgen=loadgen(p20=4.0))
    assert foreign_cpu_pct(before, after, [0], HZ) == pytest.approx(50.0)
    assert foreign_cpu_pct(before, after, [1], HZ) == pytest.approx(0.0)
    assert foreign_cpu_pct(before, after, [0, 1], HZ) == pytest.approx(25.0)


def test_on_one_core_every_group_sharing_it_is_subtracted() -> None:
    shared = ProcessGroup(cpus=frozenset({0}), cpu_s={20: 0.0})
    before = snapshot(0.0, "0 0 0 0 0 0 0 0", server=server(p10=0.0), loadgen=shared)
    after = snapshot(5.0, "500 0 0 0 0 0 0 0", server=server(p10=2.0),
                     loadgen=ProcessGroup(cpus=frozenset({0}), cpu_s={20: 2.0}))
    assert foreign_cpu_pct(before, after, [0], HZ) == pytest.approx(20.0)


def test_a_process_started_in_the_window_counts_whole_and_one_that_exited_is_lost() -> None:
    assert own_cpu_s({10: 1.0, 11: 3.0}, {10: 2.0, 12: 0.5}) == pytest.approx(1.5)


def test_a_window_without_ticks_has_no_figure() -> None:
    same = snapshot(0.0, "5 0 0 5 0 0 0 0", server=server(p10=0.0))
    assert foreign_cpu_pct(same, same, [0], HZ) is None


def test_the_window_is_spanned_by_its_first_and_last_snapshot_inside() -> None:
    snaps = [snapshot(t, "0 0 0 0 0 0 0 0") for t in (0.9, 1.0, 1.5, 2.0, 3.0)]
    assert window_snapshots(snaps, 1.0, 3.0) == (snaps[1], snaps[3])
    assert window_snapshots(snaps, 1.2, 1.9) is None  # one snapshot is no interval


def test_the_threshold_is_strict() -> None:
    assert not is_disturbed(DISTURBED_PCT)
    assert is_disturbed(DISTURBED_PCT + 0.1)
    assert not is_disturbed(None)


def test_a_disturbed_attempt_is_rerun_while_reruns_are_left() -> None:
    assert should_rerun(True, 1) and should_rerun(True, MAX_RERUNS)
    assert not should_rerun(True, MAX_RERUNS + 1)
    assert not should_rerun(False, 1)


def attempts(*foreign: dict[str, float]):
    ran: list[int] = []

    def attempt(number: int) -> dict[str, float]:
        ran.append(number)
        return foreign[number - 1]

    return attempt, ran


def test_a_quiet_first_attempt_is_kept_with_nothing_discarded() -> None:
    attempt, ran = attempts({})
    assert run_until_undisturbed(attempt, lambda windows: windows) == ({}, [])
    assert ran == [1]


def test_disturbed_attempts_are_discarded_with_why_until_a_quiet_one() -> None:
    attempt, ran = attempts({"server users=64": 43.14}, {"loadgen users=64": 12.0}, {})
    kept, discarded = run_until_undisturbed(attempt, lambda windows: windows)
    assert kept == {} and ran == [1, 2, 3]
    assert discarded == [
        DiscardedAttempt(1, "foreign CPU above 10%: server users=64 43.1%", {"server users=64": 43.14}),
        DiscardedAttempt(2, "foreign CPU above 10%: loadgen users=64 12.0%", {"loadgen users=64": 12.0}),
    ]


def test_reruns_are_bounded_and_the_last_attempt_is_kept_flagged() -> None:
    always = {"server users=1": 60.0}
    attempt, ran = attempts(*[always] * 10)
    kept, discarded = run_until_undisturbed(attempt, lambda windows: windows)
    assert ran == list(range(1, MAX_RERUNS + 2))
    assert kept == always and len(discarded) == MAX_RERUNS
    attempt, ran = attempts(always)
    assert run_until_undisturbed(attempt, lambda windows: windows, max_reruns=0) == (always, [])


def test_the_sampler_counts_a_busy_process_as_foreign_unless_it_is_the_benchmarks(tmp_path) -> None:
    """Two samplers over the same seconds see the same other load; they differ by the busy loop.

    One counts the loop as its server, the other does not know it: the difference in foreign
    CPU must be the loop's own share of the core, whatever else this machine runs meanwhile.
    """
    import os
    import subprocess
    import time

    from harness.sampler import Sampler

    cpu = min(os.sched_getaffinity(0))
    loop = subprocess.Popen(["taskset", "--cpu-list", str(cpu), "sh", "-c", "while :; do :; done"])
    idle = subprocess.Popen(["sleep", "30"])
    try:
        with Sampler({"server": lambda: [loop.pid]}, rate_hz=20, cpus={"server": [cpu]}) as knows, \
             Sampler({"server": lambda: [idle.pid]}, rate_hz=20, cpus={"server": [cpu]}) as stranger:
            start = time.time()
            time.sleep(2.0)
            end = time.time()
        loop_cpu_s = knows.readings["server"][-1].per_process_cpu_s[loop.pid]  # CPU seconds so far
        seen_by_knows = knows.foreign_cpu_pct(start, end)["server"]
        seen_by_stranger = stranger.foreign_cpu_pct(start, end)["server"]
    finally:
        for process in (loop, idle):
            process.kill()
            process.wait()
    loop_share_pct = 100 * loop_cpu_s / (end - start)  # its share of the core, however busy the machine
    assert loop_share_pct > 5, "the loop should have had a share of its core"
    # the stranger counts the loop as foreign, the other does not: they differ by about its share
    assert seen_by_stranger - seen_by_knows > 0.5 * loop_share_pct, (seen_by_stranger, seen_by_knows, loop_share_pct)
    assert knows.snapshots and all(s.groups["harness"].cpu_s for s in knows.snapshots)


def test_the_terminal_shows_foreign_cpu_and_marks_disturbed_steps() -> None:
    from rich.console import Console

    from harness.flags import legend
    from harness.present.tables import summary_table
    from harness.results import Metric, RunResults, TrialRecord
    from harness.summarize import summarize

    results = RunResults(run_id="r", created_at="now")
    for target, flags in (("fastapi", []), ("express", ["disturbed:users=64"])):
        results.trials.append(TrialRecord(target=target, scenario="throughput", trial=1, order=1, started_at="now",
                                          wall_s=1, flags=flags))
        results.metrics.append(Metric(target=target, scenario="throughput", trial=1, step="users=64",
                                      metric="server_foreign_cpu_pct", value=42.0 if flags else 1.5, unit="%"))
    summarize(results)
    console = Console(record=True, width=200)
    console.print(summary_table(results))
    text = console.export_text()
    assert "server_foreign_cpu_pct" in text and "42 †D" in text and "1.5 †" in text
    assert "D disturbed" in legend()


def test_an_outcomes_disturbed_windows_are_read_from_its_foreign_cpu_metrics() -> None:
    from harness.machine.disturbance import disturbed_windows
    from harness.results import Metric

    def metric(name: str, value: float, step: str = "users=64") -> Metric:
        return Metric(target="express", scenario="throughput", trial=1, step=step, metric=name, value=value, unit="%")

    metrics = [metric("server_foreign_cpu_pct", 31.9), metric("loadgen_foreign_cpu_pct", 4.0),
               metric("server_cpu_pct", 99.0), metric("server_foreign_cpu_pct", 10.0, step="users=128")]
    assert disturbed_windows(metrics) == {"server users=64": 31.9}
    assert disturbed_windows(metrics, threshold_pct=3.0) == {"server users=64": 31.9, "loadgen users=64": 4.0,
                                                              "server users=128": 10.0}


def test_re_runs_are_suspended_while_a_disturbance_outlasts_them_and_resume_once_a_round_is_quiet() -> None:
    from harness.machine.disturbance import RerunBudget

    budget = RerunBudget(max_reruns=2)
    assert budget.reruns() == 2
    assert not budget.settle(kept_disturbed=True, reruns_used=1)  # re-runs left: a passing spike, not persistent
    assert budget.reruns() == 2
    assert budget.settle(kept_disturbed=True, reruns_used=2)  # still disturbed after every re-run: suspended
    assert budget.reruns() == 0
    assert not budget.settle(kept_disturbed=True, reruns_used=0)  # still suspended, said once
    assert budget.reruns() == 0
    assert not budget.settle(kept_disturbed=False, reruns_used=0)  # a quiet round: the neighbour has gone
    assert budget.reruns() == 2


def test_a_budget_of_no_re_runs_is_never_suspended() -> None:
    from harness.machine.disturbance import RerunBudget

    budget = RerunBudget(max_reruns=0)  # bench ab: its paired ratios carry the drift
    assert not budget.settle(kept_disturbed=True, reruns_used=0)
    assert budget.reruns() == 0 and not budget.suspended
