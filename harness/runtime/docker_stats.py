"""A container's CPU and memory from the engine's stats API, for an engine on another host.

Against a local engine the harness reads a container's processes as host PIDs (psutil), as it
reads a native server, ten times a second. A remote engine's PIDs are another host's, so the
container's figures come from the engine instead (`GET /containers/{id}/stats`, streamed):
about one reading a second, each the CPU used since the engine's previous one, so a short
window holds few readings. Memory is the cgroup's usage less its inactive file cache (what
`docker stats` shows), not a process RSS: the trial's record names the source
(`resources_from`: "host_pids" or "engine_stats").
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from datetime import datetime
from typing import Any

import docker.errors

from harness.sampler import MB, Reading


def _when_s(stamp: str) -> float | None:
    """The engine's RFC 3339 time (nanoseconds) in seconds; None for the zero time of a first reading."""
    if not stamp or stamp.startswith("0001-"):
        return None
    head, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(head + "+00:00").timestamp()
    return seconds + float(f"0.{fraction or '0'}"[:11])


def reading_from_stats(stats: dict[str, Any], received_s: float) -> Reading | None:
    """One stats message as a Reading stamped `received_s` (this host's clock: the engine's may differ);
    None without a previous reading to take the CPU difference from."""
    read_s, preread_s = _when_s(stats.get("read", "")), _when_s(stats.get("preread", ""))
    if read_s is None or preread_s is None or read_s <= preread_s:
        return None
    used_ns = (stats["cpu_stats"]["cpu_usage"]["total_usage"]
               - stats["precpu_stats"]["cpu_usage"]["total_usage"])  # fmt: skip
    memory = stats.get("memory_stats") or {}
    cache = (memory.get("stats") or {}).get("inactive_file", 0)
    return Reading(t_s=received_s, cpu_pct=100.0 * used_ns / 1e9 / (read_s - preread_s),
                   rss_mb=max(0, int(memory.get("usage", 0)) - int(cache)) / MB)


class EngineStats:
    """Streams a container's stats in a daemon thread until stopped (or the container is gone)."""

    def __init__(self, container: Any) -> None:
        self.container = container
        self.readings: list[Reading] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        with suppress(docker.errors.DockerException, OSError, ValueError, KeyError):
            for stats in self.container.stats(stream=True, decode=True):
                if self._stop.is_set():
                    return
                reading = reading_from_stats(stats, time.time())
                if reading is not None:
                    self.readings.append(reading)

    def stop(self) -> None:
        self._stop.set()
