"""Keep the machine's cores out of deep idle states for the run: a PM QoS request on /dev/cpu_dma_latency.

Why: on a virtual machine an idle core halts, and waking it goes through the hypervisor. A
cross-core round trip (one byte to a process on the other core and back) then costs several times
what it costs with the cores polling, and drifts from one second to the next. Every request of a
load test crosses the cores twice (Locust on one, the server on the other), so that wake-up sits
inside every latency and its drift inside every rate. A busy neighbour, which keeps a core from
halting, changes it too, so a quiet run and a disturbed one would differ for that reason alone.
The figures are in docs/measurements.md ("Idle states and the cross-core wake-up").

How: the kernel's PM QoS interface (Documentation/power/pm_qos_interface.rst) takes a process's
largest acceptable wake-up latency as a 32-bit integer written to /dev/cpu_dma_latency, and keeps
the request while that file stays open; closing it, or the process dying (kill -9 included), ends
it, so nothing outlives the run. At 0 µs cpuidle only picks the polling state: an idle core spins
instead of halting, for the run's length. tuned's latency-performance profile makes the same
request (force_latency). The run records whether the hold was in place and how often the cores
entered a deep idle state anyway (0 when it worked). Without permission (the file is root's) or
without the file, the run goes on with idle states allowed and says so; `--allow-idle-states`
chooses that on purpose.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PM_QOS_PATH = Path("/dev/cpu_dma_latency")
CPU_SYSFS = Path("/sys/devices/system/cpu")
MAX_WAKEUP_LATENCY_US = 0  # only the polling state qualifies
SETTLE_S = 0.01  # for halts in progress when the request is made to end (see `held`)
POLL_STATE = "POLL"  # cpuidle's name for its polling state (drivers/cpuidle/poll_state.c)


@dataclass
class IdleHold:
    """What the run says about its cores' idle states: `status` at the start, `deep_idle_entries` at the end."""

    status: str
    held: bool
    deep_idle_entries: int | None = None  # entries into non-polling idle states during the run; None: unknown

    def record(self) -> dict[str, object]:
        return {"status": self.status, "held": self.held, "deep_idle_entries": self.deep_idle_entries}


def describe_hold(record: dict[str, Any] | None) -> str:
    """A run's hold as the terminal and the report say it: its status and, once the run ended, whether the
    cores halted anyway."""
    if not record:
        return "not recorded"
    entries = record.get("deep_idle_entries")
    return record["status"] + ("" if entries is None else f"; deep idle entries during the run: {entries:,}")


def deep_idle_entries(cpus: list[int], sysfs: Path = CPU_SYSFS) -> int | None:
    """How many times these CPUs have entered an idle state other than polling (cpuidle's `usage`
    counters); None without cpuidle in sysfs."""
    total, found = 0, False
    for cpu in cpus:
        for state in sorted((sysfs / f"cpu{cpu}" / "cpuidle").glob("state*")):
            try:
                name = (state / "name").read_text().strip()
                usage = int((state / "usage").read_text())
            except (OSError, ValueError):
                continue
            found = True
            if name != POLL_STATE:
                total += usage
    return total if found else None


def cpuidle_driver(sysfs: Path = CPU_SYSFS) -> str:
    try:
        return (sysfs / "cpuidle" / "current_driver").read_text().strip()
    except OSError:
        return "none"


@contextmanager
def held(enabled: bool = True, cpus: list[int] | None = None, path: Path = PM_QOS_PATH,
         sysfs: Path = CPU_SYSFS) -> Iterator[IdleHold]:
    """Hold `cpus` (default: every CPU this process may use) out of deep idle states until the block ends."""
    cpus = sorted(os.sched_getaffinity(0)) if cpus is None else cpus
    hold, fd = _request(enabled, path, sysfs)
    if fd is not None:
        # The request wakes every idle CPU, but cpuidle counts a halt when it ends: let those in progress end
        # before the count starts, so that it holds only halts begun under the request.
        time.sleep(SETTLE_S)
    before = deep_idle_entries(cpus, sysfs)
    try:
        yield hold
    finally:
        after = deep_idle_entries(cpus, sysfs)
        if fd is not None:
            os.close(fd)  # ends the request
        hold.deep_idle_entries = None if before is None or after is None else after - before


def _request(enabled: bool, path: Path, sysfs: Path) -> tuple[IdleHold, int | None]:
    driver = cpuidle_driver(sysfs)
    if not enabled:
        return IdleHold(f"allowed (--allow-idle-states; cpuidle driver {driver})", held=False), None
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        return IdleHold(f"allowed: cannot open {path} ({exc.strerror}; needs root); cpuidle driver {driver}",
                        held=False), None
    try:
        os.write(fd, struct.pack("=i", MAX_WAKEUP_LATENCY_US))
    except OSError as exc:
        os.close(fd)
        return IdleHold(f"allowed: {path} refused the request ({exc.strerror}); cpuidle driver {driver}",
                        held=False), None
    return IdleHold(f"held: cores poll when idle, no deep idle state ({path} at {MAX_WAKEUP_LATENCY_US} µs "
                    f"for the run; cpuidle driver {driver})", held=True), fd
