"""The cores' own speed, timed before each trial: the probe itself, and what the run says of it."""

from __future__ import annotations

import os

import pytest

from harness.machine.speed_probe import (
    PROBE_LOOPS,
    WAKEUP_METRIC,
    probe_ms,
    role_probes,
    role_wakeup_us,
    speed_spread,
    wakeup_round_trip_us,
)
from harness.results import Metric, RunResults
from harness.summarize import speed_notes
from harness.terminal import speed_lines


def test_the_probe_times_the_work_on_the_cpu_and_gives_the_thread_its_cpus_back():
    before = os.sched_getaffinity(0)
    cpu = min(before)
    ms = probe_ms(cpu)
    assert ms is not None and ms > 0
    assert os.sched_getaffinity(0) == before
    # twice the work takes longer: it measures the work, not a constant
    assert probe_ms(cpu, loops=20 * PROBE_LOOPS, repeats=1) > ms


def test_a_cpu_the_thread_may_not_use_gives_no_reading():
    before = os.sched_getaffinity(0)
    assert probe_ms(4095) is None  # no such CPU here
    assert os.sched_getaffinity(0) == before
    assert role_probes({"server": [4095], "loadgen": [min(before)]}).keys() == {"loadgen"}


@pytest.mark.parametrize(("values", "spread"), [([4.0, 5.0, 4.5], 25.0), ([4.0], None), ([], None)])
def test_the_spread_is_the_slowest_over_the_fastest(values, spread):
    assert speed_spread(values) == spread


def results_with_probes(server_ms: list[float], loadgen_ms: list[float] | None = None) -> RunResults:
    results = RunResults(run_id="r", created_at="now")
    for role, values in (("server", server_ms), ("loadgen", loadgen_ms or [4.0] * len(server_ms))):
        for trial, value in enumerate(values, start=1):
            results.metrics.append(Metric(target="express", scenario="cpu", trial=trial, step="",
                                          metric=f"{role}_speed_probe_ms", value=value, unit="ms"))
    return results


def test_a_machine_that_slowed_during_the_run_is_a_warning_naming_the_role():
    (note,) = speed_notes(results_with_probes([3.5, 3.6, 4.9]))
    assert "on the server's cores" in note and "3.50-4.90 ms (40% longer at its slowest)" in note
    (note,) = speed_notes(results_with_probes([3.5, 3.6, 3.7], loadgen_ms=[4.0, 5.0]))
    assert "on the load generator's cores" in note
    assert speed_notes(results_with_probes([3.5, 3.6, 3.7])) == []


def test_the_terminal_gives_each_roles_range():
    (line,) = speed_lines(results_with_probes([3.5, 3.6, 4.9]))
    assert line.startswith("machine speed: a fixed CPU task took 3.50-4.90 ms on the server's cores, 40% longer")
    assert "4.00-4.00 ms on the load generator's cores, 0% longer" in line
    assert speed_lines(RunResults(run_id="r", created_at="now")) == []


def test_the_wakeup_probe_times_a_round_trip_between_two_cpus_and_gives_the_thread_its_cpus_back():
    before = os.sched_getaffinity(0)
    near, far = min(before), max(before)
    us = wakeup_round_trip_us(near, far, round_trips=20)
    assert us is not None and us > 0
    assert os.sched_getaffinity(0) == before
    # without a pause too (the far core has no time to go idle)
    assert wakeup_round_trip_us(near, far, round_trips=5, pause_s=0) is not None


def test_the_wakeup_probe_needs_both_roles_and_cpus_it_may_use():
    before = os.sched_getaffinity(0)
    assert wakeup_round_trip_us(min(before), 4095, round_trips=3) is None  # the far thread cannot go there
    assert wakeup_round_trip_us(4095, min(before), round_trips=3) is None
    assert os.sched_getaffinity(0) == before
    assert role_wakeup_us({"server": [min(before)]}) is None  # Locust on other hosts: nothing to time here
    assert role_wakeup_us({"server": [min(before)], "loadgen": [max(before)]}) is not None


def test_the_terminal_gives_the_wakeup_range():
    results = results_with_probes([3.5, 3.6])
    for trial, value in enumerate([17.2, 95.0], start=1):
        results.metrics.append(Metric(target="express", scenario="cpu", trial=trial, step="", metric=WAKEUP_METRIC,
                                      value=value, unit="us"))
    _, line = speed_lines(results)
    assert line == ("cross-core wake-up: one byte from the load generator's core to the server's and back took "
                    "17-95 µs (median of 100, before each trial)")
