"""The sampler's memory is bounded by its configuration, not by a trial's length (harness.sampler)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from harness.machine.disturbance import window_snapshots
from harness.sampler import MAX_READINGS, MAX_SNAPSHOTS, Reading, ReadingLog, Sampler, ThinnedList


def reading(i: int) -> Reading:
    return Reading(t_s=1000.0 + i / 10, cpu_pct=float(i % 7), rss_mb=50.0 + i, uss_mb=40.0 + i if i % 3 == 0 else None,
                   pss_mb=45.0 + i if i % 3 == 0 else None, per_process_cpu_pct={11: 1.5 * i, 12 + i % 2: 2.0},
                   per_process_cpu_s={11: 0.25 * i})


def test_a_reading_log_gives_back_what_it_was_given():
    log = ReadingLog(cap=1000)
    readings = [reading(i) for i in range(300)]
    for r in readings:
        log.append(r)
    assert len(log) == 300 and list(log) == readings and log[-1] == readings[-1] and log[5:8] == readings[5:8]
    assert log.window(1000.0 + 10.0, 1000.0 + 20.0) == [r for r in readings if 1010.0 <= r.t_s < 1020.0]


def test_a_full_log_keeps_an_evenly_spaced_series_of_bounded_length():
    log, plain = ReadingLog(cap=8), ThinnedList(8)
    for i in range(100):
        log.append(reading(i))
        plain.append(i)
    assert len(log) <= 8 and len(plain) <= 8
    assert plain == list(range(0, 100, plain.stride)) and plain.stride == 16  # 0, 16, ... 96: the whole length
    assert list(log) == [reading(i) for i in plain]
    whole = ThinnedList(8)
    for i in range(8):
        whole.append(i)
    assert whole == list(range(8)) and whole.stride == 1  # up to the cap, nothing is dropped


def test_an_hour_of_ticks_keeps_the_sampler_bounded():
    """36,000 ticks (an hour at 10 Hz) into a sampler's series: both stay within their caps, and the
    snapshots still frame a window at its edges, to a step."""
    sampler = Sampler({"server": list}, cpus={"server": [0]})
    for i in range(36_000):
        sampler.readings["server"].append(reading(i))  # type: ignore[attr-defined]
        sampler.snapshots.append(i)  # type: ignore[arg-type]
    assert len(sampler.readings["server"]) <= MAX_READINGS and len(sampler.snapshots) <= MAX_SNAPSHOTS
    stride = sampler.snapshots.stride
    assert stride == 64 and sampler.snapshots[-1] >= 36_000 - stride  # still the whole hour, every 6.4 s


def test_a_snapshot_holds_the_roles_cpus_only():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with Sampler({"server": lambda: [child.pid], "me": lambda: [os.getpid()]}, rate_hz=50,
                     cpus={"server": [0]}) as sampler:
            deadline = time.monotonic() + 30
            while len(sampler.snapshots) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert len(sampler.snapshots) >= 3 and all(set(s.cpus) == {0} for s in sampler.snapshots)
        assert window_snapshots(sampler.snapshots, 0, float("inf")) is not None
        assert set(sampler.foreign_cpu_pct(0, float("inf"))) == {"server"}
        assert isinstance(sampler.readings["me"], ReadingLog) and sampler.window("me", 0, float("inf"))
    finally:
        child.kill()
        child.wait()
