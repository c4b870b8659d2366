"""The measured window of one Locust worker: HDR histograms and counts, free of gevent.

Kept apart from the plugin so the harness and its tests can use it without importing Locust.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from typing import Any

from hdrh.histogram import HdrHistogram

# 1 µs to 100 s at 3 significant digits: 0.1% value precision, a few hundred kB per histogram.
LOWEST_US, HIGHEST_US, DIGITS = 1, 100_000_000, 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


class WindowRecorder:
    """Per-worker state of one step: histograms and counts of requests completed inside its window.

    `offset_s` is when the step begins, counted from the start of the Locust run.
    """

    def __init__(self, warmup_s: float, duration_s: float, offset_s: float = 0.0) -> None:
        self.offset_s = offset_s
        self.warmup_s = warmup_s
        self.duration_s = duration_s
        self.window_start = float("inf")
        self.window_end = float("inf")
        self.histograms: dict[str, HdrHistogram] = {}
        self.ok: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def start(self, now: float) -> None:
        self.window_start = now + self.offset_s + self.warmup_s
        self.window_end = self.window_start + self.duration_s

    def record(self, name: str, response_time_ms: float, exception: BaseException | None, now: float) -> None:
        if not self.window_start <= now < self.window_end:
            return
        if exception is not None:
            # Failed requests are counted, not timed: a refused connection answers fast and
            # would make latency look better than it is.
            self.failed[name] += 1
            self.errors[f"{name}: {type(exception).__name__}: {str(exception)[:120]}"] += 1
            return
        self.ok[name] += 1
        hist = self.histograms.get(name)
        if hist is None:
            hist = self.histograms[name] = new_histogram()
        hist.record_value(min(HIGHEST_US, max(LOWEST_US, round(response_time_ms * 1000))))

    def payload(self) -> dict[str, Any]:
        names = sorted(set(self.ok) | set(self.failed))
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "window": [self.window_start, self.window_end],
            "requests": {
                name: {
                    "ok": self.ok[name],
                    "failed": self.failed[name],
                    "histogram": self.histograms[name].encode().decode() if name in self.histograms else None,
                }
                for name in names
            },
            "errors": dict(self.errors.most_common(20)),
        }


class StepSchedule:
    """The steps of one Locust run, back to back: each holds its users for warm-up + duration.

    One Locust run serves every step of a sweep (a LoadTestShape changes the user count), so
    a step costs its own time only, not a Locust start-up each.
    """

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.steps = steps
        self.recorders: list[WindowRecorder] = []
        offset = 0.0
        for step in steps:
            self.recorders.append(WindowRecorder(float(step["warmup_s"]), float(step["duration_s"]), offset))
            offset += float(step["warmup_s"]) + float(step["duration_s"])
        self.total_s = offset

    def start(self, now: float) -> None:
        for recorder in self.recorders:
            recorder.start(now)

    def record(self, name: str, response_time_ms: float, exception: BaseException | None, now: float) -> None:
        for recorder in self.recorders:  # windows are disjoint: at most one records it
            recorder.record(name, response_time_ms, exception, now)

    def users_at(self, elapsed_s: float, tail_s: float) -> tuple[int, float] | None:
        """(users, spawn rate) of the step running `elapsed_s` into the run; None when done.

        The last step's users keep running for `tail_s` after its window, so the workers'
        reports reach the master before the run ends (and the window's end sees no ramp-down).
        """
        for recorder, step in zip(self.recorders, self.steps, strict=True):
            if elapsed_s < recorder.offset_s + recorder.warmup_s + recorder.duration_s:
                return int(step["users"]), float(step["spawn_rate"])
        if self.steps and elapsed_s < self.total_s + tail_s:
            return int(self.steps[-1]["users"]), float(self.steps[-1]["spawn_rate"])
        return None

    def payload(self) -> dict[str, Any]:
        return {"steps": [recorder.payload() for recorder in self.recorders]}
