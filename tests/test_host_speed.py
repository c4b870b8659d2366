"""harness.machine.speed_probe.steadiness (what scripts/host-speed.py reports), on constructed readings, and
the script itself: its bad input and one short real watch."""

import subprocess
import sys
from pathlib import Path

import pytest

from harness.machine.speed_probe import steadiness

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "host-speed.py"


def readings(per_second_ms: list[float], per_second: int = 4) -> list[tuple[float, float]]:
    return [(second + i / per_second, ms) for second, ms in enumerate(per_second_ms) for i in range(per_second)]


def test_a_steady_core_has_no_slow_second():
    s = steadiness(readings([10.0, 10.2, 10.1, 10.4]))
    assert (s.fastest_ms, s.slowest_ms, s.slow_share, s.longest_slow_s) == (10.0, 10.4, 0.0, 0.0)


def test_slow_seconds_are_counted_and_the_longest_spell_is_measured_in_seconds():
    s = steadiness(readings([10, 16, 16, 10, 16, 16, 16, 10]))
    assert s.slow_share == pytest.approx(5 / 8) and s.longest_slow_s == 3.0
    assert (s.fastest_ms, s.median_ms, s.slowest_ms) == (10, 16, 16)


def test_one_slow_reading_inside_a_second_does_not_make_it_slow():
    data = readings([10.0, 10.0, 10.0])
    data[5] = (data[5][0], 30.0)  # a timer tick or an interrupt in one reading of second 1
    assert steadiness(data).slow_share == 0.0


def test_the_threshold_is_relative_to_the_fastest_second():
    assert steadiness(readings([10, 11.9])).slow_share == 0.0
    assert steadiness(readings([10, 12.1])).slow_share == 0.5
    assert steadiness(readings([10, 11.9]), slow_pct=10).slow_share == 0.5


def test_no_readings_is_an_error():
    with pytest.raises(ValueError):
        steadiness([])


@pytest.mark.parametrize("args, message", [
    (["--seconds", "0"], "--seconds must be 1-3600"),
    (["--cpus", "x"], "bad CPU list 'x'"),
    (["--cpus", "4095"], "may not run on CPU 4095"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_a_short_watch_reports_every_cpu_and_a_verdict():
    done = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "2", "--cpus", "0"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "  CPU 0: each second's median: fastest" in done.stdout
    assert "steady:" in done.stdout or "this machine changes speed (CPU 0)" in done.stdout
