"""The run's idle-state hold (harness.machine.idle_hold): the PM QoS request, its end, and the deep-idle count."""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

import pytest

from harness.machine import idle_hold


def _fake_cpu(sysfs: Path, cpu: int, usages: dict[str, int]) -> None:
    """cpuN/cpuidle/stateK/{name,usage}, laid out as the kernel's cpuidle sysfs."""
    (sysfs / "cpuidle").mkdir(parents=True, exist_ok=True)
    (sysfs / "cpuidle" / "current_driver").write_text("haltpoll\n")
    for index, (name, usage) in enumerate(usages.items()):
        state = sysfs / f"cpu{cpu}" / "cpuidle" / f"state{index}"
        state.mkdir(parents=True, exist_ok=True)
        (state / "name").write_text(name + "\n")
        (state / "usage").write_text(f"{usage}\n")


def test_a_hold_writes_a_zero_latency_request_and_counts_deep_idle_entries_meanwhile(tmp_path: Path) -> None:
    device, sysfs = tmp_path / "cpu_dma_latency", tmp_path / "sys"
    device.write_bytes(b"")
    _fake_cpu(sysfs, 0, {"POLL": 5, "haltpoll idle": 10})
    _fake_cpu(sysfs, 1, {"POLL": 7, "haltpoll idle": 20})
    with idle_hold.held(cpus=[0, 1], path=device, sysfs=sysfs) as hold:
        assert hold.held and hold.status.startswith("held:") and "haltpoll" in hold.status
        assert device.read_bytes() == struct.pack("=i", 0)
        (sysfs / "cpu0" / "cpuidle" / "state1" / "usage").write_text("13\n")  # three halts
        (sysfs / "cpu1" / "cpuidle" / "state0" / "usage").write_text("99\n")  # polling is not a halt
    assert hold.deep_idle_entries == 3
    assert hold.record() == {"status": hold.status, "held": True, "deep_idle_entries": 3}


def test_without_the_device_the_run_goes_on_with_idle_states_allowed_and_says_why(tmp_path: Path) -> None:
    with idle_hold.held(cpus=[0], path=tmp_path / "missing", sysfs=tmp_path / "sys") as hold:
        pass
    assert not hold.held
    assert hold.status.startswith("allowed: cannot open") and "needs root" in hold.status
    assert hold.deep_idle_entries is None  # no cpuidle in this sysfs: unknown, not 0


def test_allow_idle_states_makes_no_request(tmp_path: Path) -> None:
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    with idle_hold.held(enabled=False, cpus=[0], path=device, sysfs=tmp_path / "sys") as hold:
        pass
    assert not hold.held and hold.status.startswith("allowed (--allow-idle-states")
    assert device.read_bytes() == b""


def test_the_terminal_header_says_whether_cores_were_held(tmp_path: Path) -> None:
    from harness.results import RunResults
    from harness.terminal import run_header

    idle = {"status": "held: cores poll when idle", "held": True, "deep_idle_entries": 0}
    header = run_header(RunResults(run_id="r", created_at="now", environment={"cpu_idle": idle}))
    assert "\ncpu idle: held: cores poll when idle; deep idle entries during the run: 0" in header
    assert "\ncpu idle: not recorded" in run_header(RunResults(run_id="r", created_at="now"))


ROOT_WITH_PM_QOS = os.geteuid() == 0 and idle_hold.PM_QOS_PATH.exists()


@pytest.mark.skipif(not ROOT_WITH_PM_QOS, reason="the PM QoS device is root's")
def test_the_real_device_keeps_the_cores_from_halting_while_held() -> None:
    """The kernel honours the request at once: no deep idle entry while it is held, though the cores idle."""
    with idle_hold.held() as hold:
        time.sleep(0.5)  # both cores idle meanwhile, unless something else runs
    assert hold.held
    if hold.deep_idle_entries is not None:  # a machine without cpuidle cannot halt-count
        assert hold.deep_idle_entries == 0


@pytest.mark.e2e
def test_a_run_records_its_idle_hold(tmp_path: Path) -> None:
    from harness.config import RunConfig
    from harness.run import run_benchmark

    root = Path(__file__).resolve().parent.parent
    config = RunConfig(profile="test", targets=["express"], scenarios=["cpu"], results_dir=tmp_path,
                       targets_dir=root / "targets", scenarios_dir=root / "scenarios", run_name="idle-e2e")
    results = json.loads((run_benchmark(config) / "results.json").read_text())
    idle = results["environment"]["cpu_idle"]
    assert idle["held"] is ROOT_WITH_PM_QOS
    assert idle["deep_idle_entries"] is None or isinstance(idle["deep_idle_entries"], int)
    if ROOT_WITH_PM_QOS and idle["deep_idle_entries"] is not None:
        assert idle["deep_idle_entries"] == 0
    # each trial also timed the crossing between the two cores' (harness.machine.speed_probe)
    wakeups = [m for m in results["metrics"] if m["metric"] == "wakeup_round_trip_us"]
    assert len(wakeups) == len(results["trials"]) and all(m["value"] > 0 and m["unit"] == "us" for m in wakeups)


def _aggregate_request_us() -> int:
    """The kernel's current wake-up latency limit: reading the device gives every holder's minimum."""
    with idle_hold.PM_QOS_PATH.open("rb") as device:
        return struct.unpack("=i", device.read(4))[0]


@pytest.mark.skipif(not ROOT_WITH_PM_QOS, reason="the PM QoS device is root's")
def test_a_killed_harness_leaves_no_request_behind() -> None:
    """kill -9 closes the file, and the kernel drops the request with it: nothing outlives the run."""
    import signal
    import subprocess
    import sys

    if _aggregate_request_us() == 0:
        pytest.skip("another process holds the cores at 0 µs already")
    holder = subprocess.Popen([sys.executable, "-c", "import time\nfrom harness.machine import idle_hold\n"
                               "with idle_hold.held():\n    print('held', flush=True)\n    time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert _aggregate_request_us() == 0
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert _aggregate_request_us() > 0
